// The xDS client's reconnect backoff: 10 ms doubling to a 15 s ceiling, reset after success.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, DEFAULT_BACKOFF } from '../../../src/dataplane/xds/backoff.js';

test('backoff doubles from 10 ms to the 15 s ceiling and starts over after reset', () => {
  const b = new Backoff(DEFAULT_BACKOFF);
  const delays = Array.from({ length: 14 }, () => b.next());
  assert.deepEqual(delays, [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10240, 15000, 15000, 15000]);
  b.reset();
  assert.equal(b.next(), 10);
});

test('backoff refuses a ceiling below the initial delay, naming both options', () => {
  assert.throws(() => new Backoff({ initialMs: 100, maxMs: 10 }), {
    name: 'RangeError',
    message: 'xDS backoff: need 0 < initialMs <= maxMs, got initialMs=100 maxMs=10',
  });
});
