// HPACK's Huffman code (RFC 7541 Appendix B): decoding of peers' header strings, and encoding for tests.
import { L4meshError } from '../../../errors/index.js';

/**
 * Code length in bits of each symbol 0..255 and EOS (256), as listed in RFC 7541 Appendix B. The code is
 * canonical (codes of one length are consecutive, in symbol order), so the lengths determine the codes.
 */
const CODE_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];
export const EOS = 256;

/** codes[sym] for the canonical code built from CODE_LENGTHS. */
const CODES: number[] = new Array(257).fill(0);
/** Decoding tree as flat arrays: node → child for bit 0/1; a leaf holds -(sym + 1). */
const TREE_ZERO: number[] = [0];
const TREE_ONE: number[] = [0];

(function build(): void {
  const order = CODE_LENGTHS.map((len, sym) => ({ len, sym })).sort((a, b) => a.len - b.len || a.sym - b.sym);
  let code = 0;
  let prevLen = order[0].len;
  for (const { len, sym } of order) {
    code <<= len - prevLen;
    prevLen = len;
    CODES[sym] = code;
    let node = 0;
    for (let bit = len - 1; bit >= 0; bit--) {
      const branch = (code >>> bit) & 1 ? TREE_ONE : TREE_ZERO;
      if (bit === 0) {
        branch[node] = -(sym + 1);
      } else {
        if (branch[node] === 0 || branch[node] === undefined) {
          branch[node] = TREE_ZERO.length;
          TREE_ZERO.push(0);
          TREE_ONE.push(0);
        }
        node = branch[node];
      }
    }
    code++;
  }
})();

export function huffmanCode(sym: number): { code: number; bits: number } {
  return { code: CODES[sym], bits: CODE_LENGTHS[sym] };
}

/** Throws L4MESH_ERR_HPACK on EOS inside the string, padding longer than 7 bits or padding not all ones. */
export function huffmanDecode(input: Buffer): string {
  const out = Buffer.allocUnsafe(Math.ceil((input.length * 8) / 5));
  let n = 0;
  let node = 0;
  let depth = 0;
  let allOnes = true;
  for (let i = 0; i < input.length; i++) {
    const byte = input[i];
    for (let bit = 7; bit >= 0; bit--) {
      const one = (byte >>> bit) & 1;
      const next = one ? TREE_ONE[node] : TREE_ZERO[node];
      depth++;
      allOnes &&= one === 1;
      if (next < 0) {
        const sym = -next - 1;
        if (sym === EOS) throw new L4meshError('L4MESH_ERR_HPACK', 'Huffman-coded string contains EOS');
        out[n++] = sym;
        node = 0;
        depth = 0;
        allOnes = true;
      } else {
        node = next;
      }
    }
  }
  if (depth > 7 || !allOnes) throw new L4meshError('L4MESH_ERR_HPACK', 'Huffman-coded string has invalid padding');
  return out.toString('latin1', 0, n);
}

export function huffmanEncode(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  let bits = 0;
  for (const b of bytes) bits += CODE_LENGTHS[b];
  const out = Buffer.alloc(Math.ceil(bits / 8));
  let acc = 0;
  let accBits = 0;
  let n = 0;
  for (const b of bytes) {
    const len = CODE_LENGTHS[b];
    const code = CODES[b];
    for (let bit = len - 1; bit >= 0; bit--) {
      acc = (acc << 1) | ((code >>> bit) & 1);
      if (++accBits === 8) {
        out[n++] = acc;
        acc = 0;
        accBits = 0;
      }
    }
  }
  if (accBits > 0) out[n] = (acc << (8 - accBits)) | ((1 << (8 - accBits)) - 1);
  return out;
}
