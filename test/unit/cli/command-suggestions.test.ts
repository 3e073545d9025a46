// A mistyped command or ztunnel-config type gets one line naming the nearest word (exit 2), not the help.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cliCommand } from '../../support/processes.js';
import { didYouMean, editDistance, suggestions } from '../../../src/cli/suggest.js';
import { configType } from '../../../src/cli/ztunnel-config.js';

function cli(args: string[]) {
  const { command, args: full } = cliCommand(args);
  const r = spawnSync(command, full, { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('edit distance counts a swap of neighbours as one edit', () => {
  assert.deepEqual([editDistance('gte', 'get'), editDistance('stauts', 'status'), editDistance('lgos', 'logs'), editDistance('apply', 'apply'), editDistance('x', 'down')], [1, 1, 1, 0, 4]);
});

test('suggestions: nearest first, prefixes count, far words none', () => {
  const commands = ['up', 'down', 'status', 'apply', 'get', 'delete', 'exec', 'logs', 'describe'];
  assert.deepEqual(suggestions('gte', commands), ['get']);
  assert.deepEqual(suggestions('desc', commands), ['describe']);
  assert.deepEqual(suggestions('statsu', commands), ['status']);
  assert.deepEqual(suggestions('frobnicate', commands), []);
  assert.equal(didYouMean('lgos', commands), ', did you mean logs?');
  assert.equal(didYouMean('zzzzzz', commands), '');
});

test('l4mesh gte: one line naming get, exit 2, no help text', () => {
  const r = cli(['gte']);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'error: unknown command "gte", did you mean get?\nRun "l4mesh --help" for the commands.\n');
});

test('an unknown command with nothing near says so without a suggestion', () => {
  const r = cli(['frobnicate']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'error: unknown command "frobnicate"\nRun "l4mesh --help" for the commands.\n');
});

test("ztunnel-config accepts istioctl's singular, plural and short type names", () => {
  assert.deepEqual(
    ['workload', 'workloads', 'w', 'service', 'svc', 'policy', 'certificate', 'certs', 'secret', 'connection', 'all', 'log', 'WORKLOAD'].map(configType),
    ['workloads', 'workloads', 'workloads', 'services', 'services', 'policies', 'certificates', 'certificates', 'certificates', 'connections', 'all', 'log', 'workloads'],
  );
  assert.throws(() => configType('workloda'), { code: 'L4MESH_ERR_CONFIG', message: 'unknown type "workloda", did you mean workload or workloads?' });
  assert.throws(() => configType('zzzzzzzz'), { code: 'L4MESH_ERR_CONFIG', message: 'unknown type "zzzzzzzz"; give one of workloads, services, policies, certificates, connections, all, log' });
});
