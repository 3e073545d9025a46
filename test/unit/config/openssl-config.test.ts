// opensslConfigArgs: l4mesh's processes get src/config/openssl.cnf unless the user chose an OpenSSL config,
// and the file sets what it says (a Node process started with it issues one TLS 1.3 ticket per handshake).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { opensslConfigArgs, packageRoot } from '../../../src/config/paths.js';
import { createTestCa } from '../../support/test-pki.js';

const FILE = join(packageRoot(), 'src', 'config', 'openssl.cnf');

test('our config unless the user chose one: a flag, NODE_OPTIONS or OPENSSL_CONF', () => {
  assert.deepEqual(opensslConfigArgs([], {}), [`--openssl-config=${FILE}`]);
  assert.deepEqual(opensslConfigArgs(['--import', 'tsx'], { NODE_OPTIONS: '--max-old-space-size=4096' }), [`--openssl-config=${FILE}`]);
  assert.deepEqual(opensslConfigArgs(['--openssl-config=/etc/ssl/fips.cnf'], {}), []);
  assert.deepEqual(opensslConfigArgs(['--openssl-config', '/etc/ssl/fips.cnf'], {}), []);
  assert.deepEqual(opensslConfigArgs([], { NODE_OPTIONS: '--trace-warnings --openssl-config=/etc/ssl/fips.cnf' }), []);
  assert.deepEqual(opensslConfigArgs([], { OPENSSL_CONF: '/etc/ssl/fips.cnf' }), []);
  assert.ok(existsSync(FILE));
  assert.match(readFileSync(FILE, 'utf8'), /^NumTickets = 1$/m);
});

test('a Node process started with it sends one ticket per full TLS 1.3 handshake, without it two', { timeout: 30_000 }, async () => {
  // Both ends in one child: the count of 'session' events a client sees for one connection.
  const script = `
    const tls = require('node:tls');
    const { key, cert } = JSON.parse(process.argv[1]);
    const server = tls.createServer({ key, cert }, (s) => s.end('x'));
    server.listen(0, '127.0.0.1', () => {
      let tickets = 0;
      const c = tls.connect({ port: server.address().port, host: '127.0.0.1', rejectUnauthorized: false });
      c.on('session', () => tickets++);
      c.resume();
      c.on('close', () => { process.stdout.write(String(tickets)); server.close(); });
    });`;
  const id = await (await createTestCa()).issue('spiffe://cluster.local/ns/default/sa/server');
  const pki = JSON.stringify({ key: id.keyPem, cert: id.chainPem[0] });
  const run = (args: string[]) => execFileSync(process.execPath, [...args, '-e', script, pki], { env: { PATH: process.env.PATH }, encoding: 'utf8', timeout: 20_000 });
  assert.equal(run(opensslConfigArgs([], {})), '1');
  assert.equal(run([]), '2');
});
