// HPACK (RFC 7541) for HBONE's few header fields: a full decoder (static and dynamic tables, Huffman)
// with a cap on the decoded list, and an encoder that never indexes, so it keeps no state.
import { L4meshError } from '../../../errors/index.js';
import { huffmanDecode } from './huffman.js';

const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''],
  ['etag', ''], ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''],
  ['if-modified-since', ''], ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''],
  ['last-modified', ''], ['link', ''], ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''],
  ['proxy-authorization', ''], ['range', ''], ['referer', ''], ['refresh', ''], ['retry-after', ''],
  ['server', ''], ['set-cookie', ''], ['strict-transport-security', ''], ['transfer-encoding', ''],
  ['user-agent', ''], ['vary', ''], ['via', ''], ['www-authenticate', ''],
];
/** RFC 7541 §4.1: each entry costs its name and value lengths plus this. */
const ENTRY_OVERHEAD = 32;
/** SETTINGS_HEADER_TABLE_SIZE default; we never advertise another, so the peer's encoder stays within it. */
export const DEFAULT_HEADER_TABLE_BYTES = 4096;

const STATIC_NAME_INDEX = new Map<string, number>();
STATIC_TABLE.forEach(([name], i) => {
  if (!STATIC_NAME_INDEX.has(name)) STATIC_NAME_INDEX.set(name, i + 1);
});
/** name → value → index of the static entry with both. By name first: no string is built per field looked up. */
const STATIC_FIELD_INDEX = new Map<string, Map<string, number>>();
STATIC_TABLE.forEach(([name, value], i) => {
  const byValue = STATIC_FIELD_INDEX.get(name) ?? new Map<string, number>();
  if (!byValue.has(value)) byValue.set(value, i + 1);
  STATIC_FIELD_INDEX.set(name, byValue);
});
/** No static value is longer ("gzip, deflate"): a longer value is not looked up, so not hashed. */
const MAX_STATIC_VALUE_LENGTH = Math.max(...STATIC_TABLE.map(([, value]) => value.length));

export type HeaderList = Array<[string, string]>;

function hpackError(message: string): L4meshError {
  return new L4meshError('L4MESH_ERR_HPACK', `header block does not decode: ${message}`);
}

export class HpackDecoder {
  private readonly dynamic: Array<[string, string]> = [];
  private dynamicBytes = 0;
  private maxTableBytes = DEFAULT_HEADER_TABLE_BYTES;
  private readonly tableLimit: number;

  constructor(tableLimit = DEFAULT_HEADER_TABLE_BYTES) {
    this.tableLimit = tableLimit;
  }

  /**
   * Decodes one header block. `maxListBytes` caps the decoded list (names + values + 32 per field, as
   * SETTINGS_MAX_HEADER_LIST_SIZE counts it): a small block that references big table entries many
   * times is stopped here rather than allocated. Throws L4MESH_ERR_HPACK with `tooLarge` set for that.
   */
  decode(block: Buffer, maxListBytes: number): HeaderList {
    const fields: HeaderList = [];
    let listBytes = 0;
    let pos = 0;
    const int = (prefixBits: number): number => {
      const max = (1 << prefixBits) - 1;
      let value = block[pos++] & max;
      if (value < max) return value;
      let shift = 0;
      for (;;) {
        if (pos >= block.length) throw hpackError('integer runs past the end of the block');
        const b = block[pos++];
        value += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if ((b & 0x80) === 0) return value;
        if (shift > 28) throw hpackError('integer longer than 4 continuation bytes');
      }
    };
    const str = (): string => {
      if (pos >= block.length) throw hpackError('string length missing');
      const huffman = (block[pos] & 0x80) !== 0;
      const length = int(7);
      if (pos + length > block.length) throw hpackError(`string of ${length} bytes runs past the end of the block`);
      const raw = block.subarray(pos, pos + length);
      pos += length;
      return huffman ? huffmanDecode(raw) : raw.toString('latin1');
    };
    let sizeUpdatesAllowed = true;
    while (pos < block.length) {
      const first = block[pos];
      let name: string;
      let value: string;
      if (first & 0x80) {
        [name, value] = this.entry(int(7));
      } else if ((first & 0xe0) === 0x20) {
        if (!sizeUpdatesAllowed) throw hpackError('dynamic table size update after the first field');
        const size = int(5);
        if (size > this.tableLimit) throw hpackError(`dynamic table size ${size} above the ${this.tableLimit} we allow`);
        this.maxTableBytes = size;
        this.evict(0);
        continue;
      } else {
        const incremental = (first & 0xc0) === 0x40;
        const index = int(incremental ? 6 : 4);
        name = index === 0 ? str() : this.entry(index)[0];
        value = str();
        if (incremental) this.insert(name, value);
      }
      sizeUpdatesAllowed = false;
      listBytes += name.length + value.length + ENTRY_OVERHEAD;
      if (listBytes > maxListBytes) {
        throw Object.assign(hpackError(`decoded header list exceeds ${maxListBytes} bytes`), { tooLarge: true });
      }
      fields.push([name, value]);
    }
    return fields;
  }

  private entry(index: number): readonly [string, string] {
    if (index === 0) throw hpackError('index 0');
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1];
    const dynamic = this.dynamic[index - STATIC_TABLE.length - 1];
    if (!dynamic) throw hpackError(`index ${index} is beyond the tables`);
    return dynamic;
  }

  private insert(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    this.evict(size);
    // An entry larger than the whole table empties it and is not added (RFC 7541 §4.4).
    if (size > this.maxTableBytes) return;
    this.dynamic.unshift([name, value]);
    this.dynamicBytes += size;
  }

  private evict(room: number): void {
    while (this.dynamic.length > 0 && this.dynamicBytes + room > this.maxTableBytes) {
      const [name, value] = this.dynamic.pop()!;
      this.dynamicBytes -= name.length + value.length + ENTRY_OVERHEAD;
    }
  }
}

/** Bytes a prefix integer (RFC 7541 §5.1) takes at most here: a first byte and four of 7 bits (2^28). */
const MAX_INT_BYTES = 5;

/** Writes `value` as a prefix integer at `at` in `out`; returns the offset after it. */
function putInt(out: Buffer, at: number, value: number, prefixBits: number, firstByteFlags: number): number {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out[at] = firstByteFlags | value;
    return at + 1;
  }
  out[at++] = firstByteFlags | max;
  value -= max;
  while (value >= 128) {
    out[at++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  out[at] = value;
  return at + 1;
}

/** Writes `text` as a raw (not Huffman-coded) string literal: its length, then its bytes. */
function putString(out: Buffer, at: number, text: string): number {
  at = putInt(out, at, text.length, 7, 0);
  return at + out.write(text, at, 'latin1');
}

/**
 * Encodes fields as static-table references or literals "without indexing" with raw strings. A CONNECT
 * carries five short fields once per tunnel; a dynamic table and Huffman would save bytes but add state
 * that must stay in step with the peer. The block is written into one buffer sized for the worst case.
 */
export function hpackEncode(fields: ReadonlyArray<readonly [string, string]>): Buffer {
  let room = 0;
  for (const [name, value] of fields) room += 3 * MAX_INT_BYTES + name.length + value.length;
  const out = Buffer.allocUnsafe(room);
  let at = 0;
  for (const [name, value] of fields) {
    const full = value.length <= MAX_STATIC_VALUE_LENGTH ? STATIC_FIELD_INDEX.get(name)?.get(value) : undefined;
    if (full !== undefined) {
      at = putInt(out, at, full, 7, 0x80);
      continue;
    }
    const nameIndex = STATIC_NAME_INDEX.get(name) ?? 0;
    at = putInt(out, at, nameIndex, 4, 0x00);
    if (nameIndex === 0) at = putString(out, at, name);
    at = putString(out, at, value);
  }
  return out.subarray(0, at);
}
