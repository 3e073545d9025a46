// compare.js's arithmetic: medians over rounds, the best peer per figure and the ratios, with exact values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { median, ratioRow } from '../../../bench/ratios.js';

test('the median of an odd count is the middle value, of an even count the mean of the two middle ones', () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
  assert.throws(() => median([]), { message: 'median of no values' });
});

const rounds = {
  ambient: [{ cpu: 1.8, gbps: 6 }, { cpu: 2.4, gbps: 5 }, { cpu: 1.9, gbps: 6.5 }],
  haproxy: [{ cpu: 2.0, gbps: 5 }, { cpu: 2.2, gbps: 4 }, { cpu: 2.5, gbps: 4.5 }],
  stunnel: [{ cpu: 2.1, gbps: 4 }, { cpu: 2.0, gbps: 5.5 }, { cpu: 2.4, gbps: 4.8 }],
};

test('where less is better, the best peer has the lowest median, and each round is divided by that round\'s lowest peer', () => {
  const row = ratioRow(rounds, 'ambient', ['haproxy', 'stunnel'], 'cpu', true);
  assert.deepEqual(row.medians, { ambient: 1.9, haproxy: 2.2, stunnel: 2.1 });
  assert.equal(row.best, 'stunnel');
  assert.equal(row.ratio, 1.9 / 2.1);
  // Round 2's lowest peer is stunnel (2.0), not the best median's owner in every round.
  assert.deepEqual(row.perRound, [1.8 / 2.0, 2.4 / 2.0, 1.9 / 2.4]);
});

test('where more is better, the best peer has the highest median and each round uses that round\'s highest peer', () => {
  const row = ratioRow(rounds, 'ambient', ['haproxy', 'stunnel'], 'gbps', false);
  assert.deepEqual(row.medians, { ambient: 6, haproxy: 4.5, stunnel: 4.8 });
  assert.equal(row.best, 'stunnel');
  assert.equal(row.ratio, 6 / 4.8);
  assert.deepEqual(row.perRound, [6 / 5, 5 / 5.5, 6.5 / 4.8]);
});

test('a peer with a different number of rounds, a missing figure or no peer at all is refused by name', () => {
  assert.throws(() => ratioRow({ ...rounds, stunnel: rounds.stunnel.slice(1) }, 'ambient', ['haproxy', 'stunnel'], 'cpu', true), {
    message: 'stunnel: 2 rounds, ambient has 3',
  });
  assert.throws(() => ratioRow({ ...rounds, haproxy: [{ cpu: 2 }, { cpu: 2 }, { gbps: 1 }] }, 'ambient', ['haproxy'], 'cpu', true), {
    message: 'haproxy: no "cpu" in round 3',
  });
  assert.throws(() => ratioRow(rounds, 'ambient', [], 'cpu', true), { message: 'no peer to compare with' });
});
