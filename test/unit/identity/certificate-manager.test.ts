// CertificateManager against a scripted CA: half-life renewal, backoff on failure, forgetting, close().
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CertificateSource } from '../../../src/identity/ca-client.js';
import { CertificateManager, renewalDelayMs } from '../../../src/identity/certificate-manager.js';
import type { WorkloadCertificate } from '../../../src/identity/workload-certificate.js';

const A = 'spiffe://cluster.local/ns/default/sa/a';
const B = 'spiffe://cluster.local/ns/default/sa/b';

/** Answers each request with `script(n)`: a lifetime in ms for a certificate, or an Error. */
class ScriptedCa implements CertificateSource {
  readonly calls: Array<{ identity: string; at: number }> = [];
  constructor(private readonly script: (call: number, identity: string) => number | Error) {}
  async requestCertificate(identity: string): Promise<WorkloadCertificate> {
    const call = this.calls.push({ identity, at: Date.now() });
    const outcome = this.script(call, identity);
    if (outcome instanceof Error) throw outcome;
    const now = Date.now();
    return {
      identity,
      keyPem: 'key',
      chainPem: ['leaf'],
      rootPem: 'root',
      serialNumber: call.toString(16).padStart(32, '0'),
      // Backdated like the real CA, to prove renewal counts from receipt, not from notBefore.
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + outcome),
    };
  }
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(5);
  }
}

test('renewal happens at half the remaining lifetime, with a new certificate each time', async () => {
  const ca = new ScriptedCa(() => 400);
  const manager = new CertificateManager({ client: ca, backoff: { initialMs: 10, maxMs: 15000 } });
  const updates: string[] = [];
  manager.on('updated', (identity: string) => updates.push(`${identity}#${manager.get(identity)?.serialNumber.slice(-1)}`));
  try {
    manager.ensure([A]);
    await until(() => ca.calls.length >= 3, 2000);
    const gaps = [ca.calls[1]!.at - ca.calls[0]!.at, ca.calls[2]!.at - ca.calls[1]!.at];
    for (const gap of gaps) assert.ok(gap >= 195 && gap < 350, `renewal gap ${gap} ms, expected ~200 ms`);
    assert.deepEqual(updates.slice(0, 2), [`${A}#1`, `${A}#2`]);
  } finally {
    manager.close();
  }
});

test('failures retry at 10, 20, 40, 80 ms, state Unavailable until the CA answers, then Available', async () => {
  const ca = new ScriptedCa((call) => (call <= 4 ? new Error('UNAVAILABLE: connection refused') : 60_000));
  const manager = new CertificateManager({ client: ca, backoff: { initialMs: 10, maxMs: 15000 } });
  const failures: string[] = [];
  manager.on('failed', (identity: string, error: Error) => failures.push(`${identity}: ${error.message}`));
  try {
    manager.ensure([A]);
    assert.equal(manager.state(A), 'Initializing');
    assert.equal(manager.ready(), false);
    await until(() => ca.calls.length >= 2, 1000);
    assert.equal(manager.state(A), 'Unavailable');
    assert.equal(manager.get(A), undefined);
    await until(() => manager.state(A) === 'Available', 2000);
    assert.equal(ca.calls.length, 5);
    const gaps = ca.calls.slice(1).map((call, i) => call.at - ca.calls[i]!.at);
    [10, 20, 40, 80].forEach((expected, i) => assert.ok(gaps[i]! >= expected - 1 && gaps[i]! < expected + 100, `retry ${i + 1} after ${gaps[i]} ms, expected ${expected}`));
    assert.equal(failures.length, 4);
    assert.equal(failures[0], `${A}: UNAVAILABLE: connection refused`);
    assert.equal(manager.ready(), true);
    assert.equal(manager.get(A)?.serialNumber, '5'.padStart(32, '0'));
  } finally {
    manager.close();
  }
});

test('ensure fetches new identities, forgets removed ones, and drops a removed identity\'s late answer', async () => {
  let release: (() => void) | undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let answeredB: Promise<unknown> | undefined;
  const ca: CertificateSource & { calls: string[] } = {
    calls: [],
    requestCertificate(identity: string) {
      this.calls.push(identity);
      const answer = (async () => {
        if (identity === B) await gate;
        const now = Date.now();
        return { identity, keyPem: 'k', chainPem: ['l'], rootPem: 'r', serialNumber: '01', notBefore: new Date(now), notAfter: new Date(now + 60_000) };
      })();
      if (identity === B) answeredB = answer;
      return answer;
    },
  };
  const manager = new CertificateManager({ client: ca });
  try {
    manager.ensure([A, B]);
    await until(() => manager.state(A) === 'Available', 1000);
    assert.equal(manager.state(B), 'Initializing');
    assert.equal(manager.ready(), false);
    manager.ensure([A]);
    release!();
    // The late answer for B is delivered; the manager handles it in promise callbacks, which have all
    // run by the next turn of the event loop.
    await answeredB;
    await new Promise((r) => setImmediate(r));
    assert.equal(manager.get(B), undefined);
    assert.equal(manager.ready(), true);
    assert.deepEqual(manager.list().map(({ identity, state }) => ({ identity, state })), [{ identity: A, state: 'Available' }]);
    manager.ensure([A]);
    assert.deepEqual(ca.calls, [A, B]);
  } finally {
    manager.close();
  }
});

test('waitFor resolves with the certificate once issued, or undefined after its timeout', async () => {
  const ca = new ScriptedCa((_call, identity) => (identity === A ? 60_000 : new Error('denied')));
  const manager = new CertificateManager({ client: ca, backoff: { initialMs: 1000, maxMs: 1000 } });
  try {
    manager.ensure([A, B]);
    assert.equal((await manager.waitFor(A, 1000))?.identity, A);
    assert.equal(await manager.waitFor(B, 50), undefined);
    assert.equal(await manager.waitFor('spiffe://cluster.local/ns/x/sa/unknown', 1000), undefined);
  } finally {
    manager.close();
  }
});

test('close() stops every renewal and retry', async () => {
  const ca = new ScriptedCa((call) => (call % 2 ? new Error('flaky') : 100));
  const manager = new CertificateManager({ client: ca, backoff: { initialMs: 10, maxMs: 10 } });
  manager.ensure([A, B]);
  await until(() => ca.calls.length >= 2, 1000);
  manager.close();
  const callsAtClose = ca.calls.length;
  await sleep(150);
  assert.ok(ca.calls.length <= callsAtClose + 2, 'at most the requests already in flight complete');
  assert.equal(manager.state(A), 'Unavailable');
  assert.equal(manager.ready(), true);
});

test('renewalDelayMs counts half of what is left after receipt, ignoring the backdated notBefore', () => {
  const received = Date.parse('2025-01-01T00:00:00Z');
  const certificate = { notBefore: new Date(received - 60_000), notAfter: new Date(received + 24 * 3600_000) } as WorkloadCertificate;
  assert.equal(renewalDelayMs(certificate, received), 12 * 3600_000);
  const future = { notBefore: new Date(received + 10_000), notAfter: new Date(received + 110_000) } as WorkloadCertificate;
  assert.equal(renewalDelayMs(future, received), 60_000);
  const expired = { notBefore: new Date(received - 20_000), notAfter: new Date(received - 10_000) } as WorkloadCertificate;
  assert.equal(renewalDelayMs(expired, received), 0);
});
