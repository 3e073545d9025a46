// How often a node proxy reads its descriptor use: seldom when many are free (a readdir of /proc/self/fd
// stalls the event loop, 5.5 ms at 10,000 descriptors), every 250 ms when few are or while shedding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextFdCheckMs } from '../../../src/dataplane/admin/fd-pressure.js';

test('the next descriptor check waits half the time 3,000 descriptors/s would take to use the free ones, 250 ms to 5 s', () => {
  assert.equal(nextFdCheckMs(19_900, false), 3317);
  assert.equal(nextFdCheckMs(30_000, false), 5000);
  assert.equal(nextFdCheckMs(6_000, false), 1000);
  assert.equal(nextFdCheckMs(1_000, false), 250);
  assert.equal(nextFdCheckMs(0, false), 250);
});

test('while shedding, or without /proc, the check runs every 250 ms', () => {
  assert.equal(nextFdCheckMs(19_900, true), 250);
  assert.equal(nextFdCheckMs(undefined, false), 250);
});
