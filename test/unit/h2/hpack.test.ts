// HPACK: the RFC 7541 Appendix C request examples decode (with and without Huffman, dynamic table kept
// across blocks), the Huffman code round-trips every byte, and malformed or oversized blocks are refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HpackDecoder, hpackEncode } from '../../../src/dataplane/hbone/h2/hpack.js';
import { huffmanCode, huffmanDecode, huffmanEncode } from '../../../src/dataplane/hbone/h2/huffman.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const REQUESTS = [
  [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']],
  [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com'], ['cache-control', 'no-cache']],
  [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']],
];

test('RFC 7541 C.3: requests without Huffman, sharing one dynamic table', () => {
  const decoder = new HpackDecoder();
  const blocks = ['828684410f7777772e6578616d706c652e636f6d', '828684be58086e6f2d6361636865', '828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565'];
  blocks.forEach((b, i) => assert.deepEqual(decoder.decode(hex(b), 16_384), REQUESTS[i]));
});

test('RFC 7541 C.4: the same requests with Huffman-coded strings', () => {
  const decoder = new HpackDecoder();
  const blocks = ['828684418cf1e3c2e5f23a6ba0ab90f4ff', '828684be5886a8eb10649cbf', '828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf'];
  blocks.forEach((b, i) => assert.deepEqual(decoder.decode(hex(b), 16_384), REQUESTS[i]));
});

test('the canonical Huffman code matches RFC 7541 Appendix B at its ends', () => {
  assert.deepEqual(huffmanCode(0), { code: 0x1ff8, bits: 13 });
  assert.deepEqual(huffmanCode(48), { code: 0x0, bits: 5 });
  assert.deepEqual(huffmanCode(92), { code: 0x7fff0, bits: 19 });
  assert.deepEqual(huffmanCode(255), { code: 0x3ffffee, bits: 26 });
  assert.deepEqual(huffmanCode(256), { code: 0x3fffffff, bits: 30 });
});

test('every byte value round-trips through the Huffman code', () => {
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('latin1');
  assert.equal(huffmanDecode(huffmanEncode(all)), all);
  assert.equal(huffmanEncode('www.example.com').toString('hex'), 'f1e3c2e5f23a6ba0ab90f4ff');
});

test('bad Huffman padding and EOS are L4MESH_ERR_HPACK', () => {
  assert.throws(() => huffmanDecode(hex('f1e3c2e5f23a6ba0ab90f400')), { code: 'L4MESH_ERR_HPACK' });
  assert.throws(() => huffmanDecode(hex('ffffffff')), { code: 'L4MESH_ERR_HPACK' });
});

test('our encoder output decodes back to the same fields', () => {
  const fields: Array<[string, string]> = [[':method', 'CONNECT'], [':authority', '10.0.0.5:9080'], [':status', '200'], ['baggage', 'k8s.namespace.name=default'], ['traceparent', '00-aa-bb-01']];
  assert.deepEqual(new HpackDecoder().decode(hpackEncode(fields), 16_384), fields);
  assert.equal(hpackEncode([[':status', '200']]).toString('hex'), '88');
});

test('our encoder writes RFC 7541 literals without indexing, byte for byte, prefix integers included', () => {
  const ascii = (t: string): string => Buffer.from(t, 'latin1').toString('hex');
  const block = hpackEncode([[':status', '200'], [':authority', '10.0.0.5:9080'], ['x-a', 'v'.repeat(200)], ['user-agent', 'l4']]);
  assert.equal(block.toString('hex'),
    '88' + // :status 200, static entry 8
    '01' + '0d' + ascii('10.0.0.5:9080') + // name: static 1, value of 13 bytes
    '00' + '03' + ascii('x-a') + '7f49' + ascii('v'.repeat(200)) + // new name; 200 = 127 + 73
    '0f2b' + '02' + ascii('l4')); // name: static 58 = 15 + 43
  assert.equal(hpackEncode([]).length, 0);
  // Static entries with values, the longest of them included, are one byte each.
  assert.equal(hpackEncode([['accept-encoding', 'gzip, deflate'], [':path', '/index.html'], [':method', 'GET']]).toString('hex'), '908582');
});

test('malformed blocks are refused: index out of range, truncated string, oversized table update', () => {
  assert.throws(() => new HpackDecoder().decode(hex('be'), 16_384), { code: 'L4MESH_ERR_HPACK' });
  assert.throws(() => new HpackDecoder().decode(hex('400a6375'), 16_384), { code: 'L4MESH_ERR_HPACK' });
  assert.throws(() => new HpackDecoder().decode(hex('3fe21f'), 16_384), { code: 'L4MESH_ERR_HPACK' });
  assert.throws(() => new HpackDecoder().decode(hex('80'), 16_384), { code: 'L4MESH_ERR_HPACK' });
});

test('a small block that references a large table entry many times stops at the list cap', () => {
  const value = 'v'.repeat(3000);
  const insert = Buffer.concat([hex('40'), Buffer.from([1]), Buffer.from('k'), hex('7f' + 'b916'), Buffer.from(value)]);
  const block = Buffer.concat([insert, Buffer.alloc(100, 0xbe)]);
  assert.throws(() => new HpackDecoder().decode(block, 16_384), (e: Error & { tooLarge?: boolean }) => e.tooLarge === true);
});
