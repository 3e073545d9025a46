// Each mesh port is written once in src/, in src/config/mesh-constants.ts: a port literal anywhere else in
// src/ (code, help text or comment) is listed here as file:line, so a second copy cannot drift from the first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { packageRoot } from '../../../src/config/paths.js';
import * as constants from '../../../src/config/mesh-constants.js';

/** docs/design.md's ports: the proxies', the control plane's and netns mode's capture ports. */
const PORT_LITERALS = [15000, 15001, 15006, 15008, 15012, 15014, 15020, 15021, 15053];
const CONSTANTS_MODULE = join('src', 'config', 'mesh-constants.ts');

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}

/** `file:line: text` of every line of `text` holding one of the ports as a whole number. */
function portLiteralLines(file: string, text: string): string[] {
  const literal = new RegExp(`(?<![0-9])(${PORT_LITERALS.join('|')})(?![0-9])`);
  const out: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (literal.test(line)) out.push(`${file}:${i + 1}: ${line.trim()}`);
  });
  return out;
}

test('the scanner finds a port literal in code, a template and a comment, and not inside a longer number', () => {
  const text = ['const a = 15008;', 'const b = 150080;', '`${ip}:15021/healthz/ready`', '// admin on :15000', 'const c = 115006;'].join('\n');
  assert.deepEqual(portLiteralLines('x.ts', text), [
    'x.ts:1: const a = 15008;',
    'x.ts:3: `${ip}:15021/healthz/ready`',
    'x.ts:4: // admin on :15000',
  ]);
});

test('no port literal in src/ outside src/config/mesh-constants.ts', () => {
  const root = packageRoot();
  const offending = filesUnder(join(root, 'src'))
    .map((path) => relative(root, path))
    .filter((file) => file !== CONSTANTS_MODULE)
    .flatMap((file) => portLiteralLines(file, readFileSync(join(root, file), 'utf8')));
  assert.deepEqual(offending, []);
});

test('mesh-constants.ts writes each port once, and its named constants carry DESIGN §1–2\'s numbers', () => {
  const text = readFileSync(join(packageRoot(), CONSTANTS_MODULE), 'utf8');
  for (const port of PORT_LITERALS) {
    assert.equal(text.match(new RegExp(`(?<![0-9])${port}(?![0-9])`, 'g'))?.length, 1, `${port} in ${CONSTANTS_MODULE}`);
  }
  assert.deepEqual(
    [
      constants.PROXY_ADMIN_PORT,
      constants.OUTBOUND_CAPTURE_PORT,
      constants.INBOUND_PORT,
      constants.HBONE_PORT,
      constants.CONTROL_PLANE_GRPC_PORT,
      constants.CONTROL_PLANE_HTTP_PORT,
      constants.PROXY_METRICS_PORT,
      constants.PROXY_READINESS_PORT,
      constants.DNS_CAPTURE_PORT,
    ],
    PORT_LITERALS,
  );
});
