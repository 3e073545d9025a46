// The proxies' --help shows the defaults the code uses: each default in the text is formatted from the
// named constant, so changing a constant changes its help line (the values below are today's defaults).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from '../../../src/api/derive.js';
import { PROXY_OPTIONS_HELP } from '../../../src/dataplane/proxy/proxy-options.js';

test('formatDuration writes the largest whole unit, and parseDuration reads it back', () => {
  const cases: Array<[number, string]> = [[15_000, '15s'], [300_000, '5m'], [5_000, '5s'], [1_000, '1s'], [250, '250ms'], [90_000, '90s'], [7_200_000, '2h'], [0, '0']];
  assert.deepEqual(cases.map(([ms]) => formatDuration(ms)), cases.map(([, text]) => text));
  assert.deepEqual(cases.map(([, text]) => parseDuration(text)), cases.map(([ms]) => ms));
});

test('the shared proxy help states each default once, from its constant', () => {
  const defaults = PROXY_OPTIONS_HELP.split('\n').flatMap((line) => [...line.matchAll(/default ([^)]+)\)/g)].map((m) => m[1]));
  assert.deepEqual(defaults, [
    '127.0.0.1:15012',
    '<state-dir>/tokens/<node>.token',
    '<state-dir>/ca/root-cert.pem',
    '${XDG_STATE_HOME:-~/.local/state}/l4mesh',
    'text',
    'info',
    '15s',
    '5m',
    '5s',
    'Kubernetes',
    '5m',
    'l4mesh',
  ]);
});
