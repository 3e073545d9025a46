// Guide blocks per mode: `variant=local|netns` puts a block in one run only, unmarked blocks run in both,
// and netns commands get the test's namespace prefix (mapped back to `l4m` in what they print).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blocksFor, parseGuide, toDefaultPrefix, withNetnsPrefix } from '../../integration/docs/guide-blocks.js';

const GUIDE = [
  '<!-- test: masked variant=local -->',
  '```sh',
  'l4mesh up',
  '```',
  '```text',
  'The mesh is up.',
  '```',
  '',
  '**netns mode:**',
  '',
  '<!-- test: exit variant=netns -->',
  '```sh',
  'l4mesh up --mode netns',
  '```',
  '',
  '<!-- test: masked retry=30s -->',
  '```sh',
  'l4mesh get pods',
  '```',
  '```text',
  'No resources found in default namespace.',
  '```',
  '',
].join('\n');

test('variant=local and variant=netns blocks run in their mode only; unmarked blocks in both', () => {
  const blocks = parseGuide(GUIDE);
  assert.deepEqual(blocks.map((b) => [b.line, b.variant ?? 'both', b.mode, b.retryMs]), [
    [2, 'local', 'masked', 0],
    [12, 'netns', 'exit', 0],
    [17, 'both', 'masked', 30_000],
  ]);
  assert.deepEqual(blocksFor(blocks, 'local').map((b) => b.script), ['l4mesh up', 'l4mesh get pods']);
  assert.deepEqual(blocksFor(blocks, 'netns').map((b) => b.script), ['l4mesh up --mode netns', 'l4mesh get pods']);
  assert.throws(() => parseGuide('<!-- test: exit variant=vm -->\n```sh\nls\n```\n'), /line 1: unknown variant "vm" \(known: local, netns\)/);
});

test('netns commands run on the test\'s prefix and print the default one', () => {
  assert.equal(withNetnsPrefix('l4mesh down --purge\nl4mesh up --mode netns\n', 'l4m-t0a1b2c'), 'l4mesh down --purge\nl4mesh up --mode netns --netns-prefix l4m-t0a1b2c\n');
  assert.equal(withNetnsPrefix('l4mesh up', 'l4m-t0a1b2c'), 'l4mesh up');
  assert.equal(toDefaultPrefix('Building the network namespaces (l4m-t0a1b2c-fabric, 2 nodes)\n  removed the network namespaces l4m-t0a1b2c-*', 'l4m-t0a1b2c'),
    'Building the network namespaces (l4m-fabric, 2 nodes)\n  removed the network namespaces l4m-*');
});
