// Reading a guide: which blocks run, with which check, and how a test mesh's addresses map to the
// default layout the guides are written for (both ways).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGuide, rewriteAddresses, toDefaultLayout } from '../../integration/docs/guide-blocks.js';

const GUIDE = [
  '# Title',
  '',
  '```sh',
  'l4mesh get pods',
  '```',
  '```text',
  'NAME READY',
  '```',
  '',
  '<!-- test: unordered retry=15s -->',
  '```sh',
  'l4mesh logs ztunnel',
  '```',
  '',
  '```text',
  'a',
  'b',
  '```',
  '',
  '```sh',
  'l4mesh up',
  '```',
  'Prose resets a marker.',
  '<!-- test: skip -->',
  'More prose.',
  '```sh',
  'npm ci',
  '```',
].join('\n');

test('a block with output is checked masked by default; one without, by exit status; markers set mode and retry', () => {
  assert.deepEqual(parseGuide(GUIDE), [
    { line: 3, script: 'l4mesh get pods', expected: 'NAME READY', mode: 'masked', retryMs: 0 },
    { line: 11, script: 'l4mesh logs ztunnel', expected: 'a\nb', mode: 'unordered', retryMs: 15_000 },
    { line: 20, script: 'l4mesh up', expected: undefined, mode: 'exit', retryMs: 0 },
    { line: 26, script: 'npm ci', expected: undefined, mode: 'exit', retryMs: 0 },
  ]);
});

test('an unknown mode, and output shown for an exit-only block, are errors', () => {
  assert.throws(() => parseGuide('<!-- test: shape -->\n```sh\nls\n```\n'), /line 1: unknown test mode "shape"/);
  assert.throws(() => parseGuide('<!-- test: exit -->\n```sh\nls\n```\n```text\nx\n```\n'), /line 2: the block shows output but is marked "exit"/);
});

test('commands move to the test block; output moves back to the default layout', () => {
  assert.equal(rewriteAddresses('curl http://127.0.10.2:15020 http://127.0.0.1:15014/x http://127.0.0.1:9090', 66), 'curl http://127.66.0.2:15020 http://127.66.0.254:15014/x http://127.66.0.254:9090');
  const out = [
    'control plane   xDS + CA 127.66.0.254:15012',
    'node-2          127.66.0.2: HBONE :15008',
    'pods            127.66.1.1-127.66.2.254; service VIPs 127.66.3.0/24',
    'default curl-x 127.66.1.10 node-1',
    'default reviews 127.66.3.5 None 3/3',
    '"captureRange": "127.66.32.0/19",',
    'src.addr=127.0.0.1:44610 dst.addr=127.66.0.1:15008',
  ].join('\n');
  assert.equal(
    toDefaultLayout(out, 66),
    [
      'control plane   xDS + CA 127.0.0.1:15012',
      'node-2          127.0.10.2: HBONE :15008',
      'pods            127.1.0.1-127.1.255.254; service VIPs 127.2.0.0/16',
      'default curl-x 127.1.0.10 node-1',
      'default reviews 127.2.0.5 None 3/3',
      '"captureRange": "127.65.0.0/16",',
      'src.addr=127.0.0.1:44610 dst.addr=127.0.10.1:15008',
    ].join('\n'),
  );
  assert.equal(toDefaultLayout('127.166.0.1 127.6.0.1', 66), '127.166.0.1 127.6.0.1', 'other blocks are left alone');
});
