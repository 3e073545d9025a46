// Subcommand table. Each subcommand lives in its own file and exports `run(args): Promise<number>`.

type Runner = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Runner> }> = {
  'control-plane': {
    summary: 'run the control plane (xDS + CA on :15012, HTTP API on :15014); "token create --node N" mints a node token',
    load: async () => (await import('./control-plane.js')).run,
  },
  ztunnel: {
    summary: 'run a node proxy (HBONE :15008, metrics :15020, admin :15000) for one node',
    load: async () => (await import('./ztunnel.js')).run,
  },
};

function usage(): string {
  const lines = ['usage: l4mesh <command> [options]', '', 'commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(16)} ${c.summary}`);
  lines.push('', 'Run "l4mesh <command> --help" for the options of a command.');
  return lines.join('\n');
}

export async function runCli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`l4mesh: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  return (await command.load())(rest);
}
