// Retry delays: 10 ms doubling to 15 s, reset after success.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_BACKOFF, ExponentialBackoff } from '../../../src/retry/backoff.js';

test('the default backoff doubles from 10 ms and stays at 15 s', () => {
  const backoff = new ExponentialBackoff(DEFAULT_BACKOFF);
  const delays = Array.from({ length: 14 }, () => backoff.next());
  assert.deepEqual(delays, [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10240, 15000, 15000, 15000]);
  for (let i = 0; i < 200; i++) backoff.next();
  assert.equal(backoff.next(), 15000);
});

test('reset starts again from the initial delay', () => {
  const backoff = new ExponentialBackoff({ initialMs: 10, maxMs: 15000 });
  backoff.next();
  backoff.next();
  assert.equal(backoff.attempts, 2);
  backoff.reset();
  assert.equal(backoff.next(), 10);
});

test('impossible options are refused, naming them', () => {
  assert.throws(() => new ExponentialBackoff({ initialMs: 0, maxMs: 10 }), /initialMs=0 maxMs=10/);
  assert.throws(() => new ExponentialBackoff({ initialMs: 100, maxMs: 10 }), RangeError);
});
