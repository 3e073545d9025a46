// `l4mesh dashboard`: runs the mesh console (graph, charts, workloads, node proxies) in this process until
// Ctrl-C, scraping the proxies through the control plane's service discovery, and prints its URL.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { L4meshError } from '../errors/index.js';
import { controlPlaneUrl, readLayout, resolveStateDir } from '../localrun/layout.js';
import { runCommand, UsageError } from '../cli/cli-context.js';
import { MetricsHistory } from './metrics-history.js';
import { recordedPrometheus } from './prometheus-source.js';
import { createConsoleServer, DEFAULT_CONSOLE_PORT } from './server.js';

const HELP = `usage: l4mesh dashboard [--port ${DEFAULT_CONSOLE_PORT}] [--address 127.0.0.1] [--prometheus URL] [--browser] [--state-dir DIR]
       l4mesh dashboard prometheus [--browser] [--install] [--state-dir DIR]

The mesh console: a live service graph of the mesh (workloads, services, TCP edges with bytes/s, a lock
on mutual-TLS traffic, HTTP req/s and errors through waypoints), charts per edge, workloads and their
certificates, services, policies, node proxies and recent access-log lines. Rates come from Prometheus
when one is known (--prometheus URL, or the one "l4mesh dashboard prometheus" started for this state dir),
else from the console's own scrapes of every proxy the control plane's /debug/prometheus_sd lists. It
serves the page and its JSON API (docs/dashboard.md) until Ctrl-C. --port 0 picks a free port; --browser
opens the page.

"dashboard prometheus" starts Prometheus instead (see "l4mesh dashboard prometheus --help").
`;

/** Loopback: the console shows the mesh's topology and identities and has no login. */
const DEFAULT_ADDRESS = '127.0.0.1';

export async function runConsole(args: string[]): Promise<number> {
  return runCommand('dashboard', HELP, args, async () => {
    const { values, positionals } = parseArgs({
      args,
      options: { port: { type: 'string' }, address: { type: 'string' }, prometheus: { type: 'string' }, browser: { type: 'boolean' }, 'state-dir': { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length > 0) throw new UsageError(`unknown dashboard "${positionals[0]}": run "l4mesh dashboard" for the console or "l4mesh dashboard prometheus"`);
    const port = values.port === undefined ? DEFAULT_CONSOLE_PORT : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0..65535, got "${values.port}"`);
    const address = values.address ?? DEFAULT_ADDRESS;
    const prometheus = values.prometheus;
    if (prometheus !== undefined && !/^https?:\/\/[^/\s]+\/?$/.test(prometheus)) throw new UsageError(`--prometheus must be Prometheus' base URL like http://127.0.0.1:9090, got "${prometheus}"`);
    const stateDir = resolveStateDir(values['state-dir']);
    const history = new MetricsHistory(controlPlaneUrl(readLayout(stateDir)));
    const server = createConsoleServer({ history, stateDir, prometheus });
    server.listen(port, address);
    try {
      await once(server, 'listening');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EADDRINUSE') throw new L4meshError('L4MESH_ERR_ADDRESS_IN_USE', `${address}:${port} is taken (another console?); choose one with --port`);
      throw err;
    }
    history.start();
    const bound = server.address() as AddressInfo;
    const url = `http://${address.includes(':') ? `[${address}]` : address}:${bound.port}/`;
    process.stdout.write(`l4mesh console: ${url}\n`);
    const known = prometheus ?? recordedPrometheus(stateDir);
    process.stdout.write(known ? `rates from Prometheus at ${known} (the proxies' own /metrics when it does not answer)\n` : "rates from the proxies' own /metrics (no Prometheus running for this mesh; --prometheus URL names one)\n");
    if (values.browser) spawn('xdg-open', [url], { stdio: 'ignore', detached: true }).on('error', () => process.stderr.write(`cannot open a browser; visit ${url}\n`)).unref();
    await new Promise<void>((resolve) => {
      for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve());
    });
    history.stop();
    server.closeAllConnections();
    server.close();
    return 0;
  });
}
