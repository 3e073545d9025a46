// The root CA is created once under <state>/ca with a private key file, and reused byte for byte after restart.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmod, mkdtemp, readFile, readdir, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadOrCreateRootCa } from '../../../src/controlplane/ca/root-ca.js';
import { L4meshError } from '../../../src/errors/index.js';
import { x509 } from '../../../src/identity/x509.js';

async function withStateDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'l4mesh-root-'));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('first start writes root-cert.pem and a 0600 root-key.pem; a reload returns the same certificate bytes', () =>
  withStateDir(async (dir) => {
    const first = await loadOrCreateRootCa(dir);
    assert.deepEqual((await readdir(join(dir, 'ca'))).sort(), ['root-cert.pem', 'root-key.pem']);
    assert.equal((await stat(join(dir, 'ca', 'root-key.pem'))).mode & 0o777, 0o600);
    const onDisk = await readFile(join(dir, 'ca', 'root-cert.pem'), 'utf8');
    assert.equal(first.certPem, onDisk);

    const second = await loadOrCreateRootCa(dir);
    assert.equal(second.certPem, onDisk);
    assert.equal(await readFile(join(dir, 'ca', 'root-cert.pem'), 'utf8'), onDisk);
  }));

test('the root is a P-256 CA for 10 years named O=cluster.local, CN=l4mesh root, for cert and CRL signing only', () =>
  withStateDir(async (dir) => {
    const root = (await loadOrCreateRootCa(dir)).certificate;
    assert.equal(root.subject, 'O=cluster.local, CN=l4mesh root');
    assert.equal(root.issuer, root.subject);
    assert.deepEqual(root.publicKey.algorithm, { name: 'ECDSA', namedCurve: 'P-256' });
    const basic = root.getExtension(x509.BasicConstraintsExtension)!;
    assert.equal(basic.ca, true);
    assert.equal(basic.critical, true);
    assert.equal(root.getExtension(x509.KeyUsagesExtension)!.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    assert.equal(root.notAfter.getTime() - root.notBefore.getTime(), (10 * 365 * 24 * 3600 + 60) * 1000);
    assert.equal(await root.verify({ signatureOnly: true }), true);
    assert.equal(new X509Certificate(root.toString('pem')).ca, true);
  }));

test('a certificate without its key refuses to start with L4MESH_ERR_CERTIFICATE naming both files', () =>
  withStateDir(async (dir) => {
    await loadOrCreateRootCa(dir);
    await unlink(join(dir, 'ca', 'root-key.pem'));
    await assert.rejects(loadOrCreateRootCa(dir), (error: unknown) => {
      assert.ok(error instanceof L4meshError);
      assert.equal(error.code, 'L4MESH_ERR_CERTIFICATE');
      assert.match(error.message, /root-cert\.pem exists but .*root-key\.pem does not/);
      return true;
    });
  }));

test('a key that does not match the certificate, or is readable by others, is refused', () =>
  withStateDir(async (dir) => {
    await loadOrCreateRootCa(dir);
    const other = await mkdtemp(join(tmpdir(), 'l4mesh-root-other-'));
    try {
      await loadOrCreateRootCa(other);
      await writeFile(join(dir, 'ca', 'root-key.pem'), await readFile(join(other, 'ca', 'root-key.pem')), { mode: 0o600 });
    } finally {
      await rm(other, { recursive: true, force: true });
    }
    await assert.rejects(loadOrCreateRootCa(dir), /root-key\.pem is not the key of .*root-cert\.pem/);
  }));

test('a world-readable root key is refused with a chmod hint', () =>
  withStateDir(async (dir) => {
    await loadOrCreateRootCa(dir);
    await chmod(join(dir, 'ca', 'root-key.pem'), 0o644);
    await assert.rejects(loadOrCreateRootCa(dir), /readable by others \(mode 644\); run chmod 600/);
  }));
