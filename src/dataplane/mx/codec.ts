// istio-peer-exchange framing: the 8-byte header (magic, length) and a streaming reader that decides,
// chunk by chunk, whether a TLS stream starts with the peer's metadata or with application bytes.
import { L4meshError } from '../../errors/index.js';
import { decodeStructAny, encodeStructAny, exchangeStruct, readExchangeStruct, type PeerMetadata } from './struct.js';

export {
  decodeMetadataStruct,
  decodeStructAny,
  encodeStructAny,
  PEER_METADATA_ID_KEY,
  PEER_METADATA_KEY,
  STRUCT_TYPE_URL,
  type JsonStruct,
  type JsonValue,
  type PeerMetadata,
} from './struct.js';

/** Istio's magic number (decimal 1025705063), written big-endian as the first 4 bytes. */
export const MX_MAGIC = 0x3d230467;
/** magic uint32 BE + payload length uint32 BE. */
export const MX_HEADER_BYTES = 8;
/**
 * Largest payload we accept or send. Envoy trusts the 32-bit length and buffers up to 4 GiB; real node
 * metadata is well under 4 KiB (a dozen strings plus labels), so 64 KiB leaves room for large label sets
 * while a peer cannot make us hold more than this per connection.
 */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

const MAGIC_BYTES = Buffer.from([0x3d, 0x23, 0x04, 0x67]);

/** Header plus Any(Struct) payload: what each side writes first on an `istio-peer-exchange` connection. */
export function encodeExchange(meta: PeerMetadata, nodeId: string): Buffer {
  const payload = encodeStructAny(exchangeStruct(meta, nodeId));
  if (payload.length > MAX_PAYLOAD_BYTES) {
    throw new L4meshError(
      'L4MESH_ERR_PROTOCOL',
      `our peer metadata encodes to ${payload.length} bytes, over the ${MAX_PAYLOAD_BYTES}-byte limit peers accept; ` +
        'check the workload for unusually many or large labels',
    );
  }
  const frame = Buffer.allocUnsafe(MX_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(MX_MAGIC, 0);
  frame.writeUInt32BE(payload.length, 4);
  payload.copy(frame, MX_HEADER_BYTES);
  return frame;
}

/** The reader's verdict. Every kind but 'need-more' is final. */
export type ExchangeDecision =
  | { kind: 'need-more' }
  /** The peer's frame; `rest` is what followed it in the stream and belongs to the application. */
  | { kind: 'metadata'; metadata: PeerMetadata | undefined; nodeId: string | undefined; rest: Buffer }
  /** The stream does not start with the magic: every byte read so far, to be passed on untouched. */
  | { kind: 'no-header'; bytes: Buffer }
  /** Magic matched but the payload is not an Any(Struct), or the stream ended inside it: pass on untouched. */
  | { kind: 'bad-payload'; bytes: Buffer }
  /** The announced length is over MAX_PAYLOAD_BYTES: a protocol error, nothing is buffered for it. */
  | { kind: 'too-large'; length: number };

const NEED_MORE: ExchangeDecision = Object.freeze({ kind: 'need-more' });
const NO_BYTES = Buffer.alloc(0);

type ParsedExchange = ReturnType<typeof readExchangeStruct>;
/** A peer sends the same frame on every connection: payloads up to this size are decoded once. */
const REMEMBERED_PAYLOAD_MAX_BYTES = 4096;
const REMEMBERED_PAYLOADS = 256;
/** Decoded payloads by their bytes (latin1), oldest first; at most 1 MiB of keys. */
const decodedPayloads = new Map<string, ParsedExchange>();

/**
 * The payload's metadata and node id, frozen: connections from the same peer share one object (and the
 * workload derived from it), instead of each idle connection holding a copy.
 */
function decodeExchangePayload(payload: Buffer): ParsedExchange {
  if (payload.length > REMEMBERED_PAYLOAD_MAX_BYTES) return readExchangeStruct(decodeStructAny(payload));
  const key = payload.toString('latin1');
  let parsed = decodedPayloads.get(key);
  if (!parsed) {
    parsed = readExchangeStruct(decodeStructAny(payload));
    if (parsed.metadata) Object.freeze(Object.freeze(parsed.metadata).labels);
    Object.freeze(parsed);
    if (decodedPayloads.size >= REMEMBERED_PAYLOADS) decodedPayloads.delete(decodedPayloads.keys().next().value!);
    decodedPayloads.set(key, parsed);
  }
  return parsed;
}

/**
 * Feed it the stream's chunks with push() until it returns a final decision. It keeps the chunks as
 * given (no copies until the frame is complete), so it never holds more than header + MAX_PAYLOAD_BYTES
 * plus the last chunk, whatever length the peer announces.
 */
export class ExchangeReader {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private readonly header = Buffer.alloc(MX_HEADER_BYTES);
  private headerFilled = 0;
  private payloadLength: number | undefined;
  private decision: ExchangeDecision | undefined;

  /** Bytes held while undecided; always below MX_HEADER_BYTES + MAX_PAYLOAD_BYTES before a decision. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  get decided(): boolean {
    return this.decision !== undefined;
  }

  /**
   * The peer has started a frame (the whole magic is in) but not finished it. A shorter prefix of the
   * magic may still be application bytes, so it does not count.
   */
  get inFrame(): boolean {
    return this.decision === undefined && this.headerFilled >= MAGIC_BYTES.length;
  }

  /** The payload length the peer announced; undefined until the 8-byte header is in. */
  get announcedLength(): number | undefined {
    return this.payloadLength;
  }

  push(chunk: Buffer): ExchangeDecision {
    this.assertUndecided();
    if (chunk.length === 0) return NEED_MORE;
    this.chunks.push(chunk);
    this.buffered += chunk.length;

    if (this.payloadLength === undefined) {
      let i = 0;
      while (this.headerFilled < MX_HEADER_BYTES && i < chunk.length) {
        const byte = chunk[i++]!;
        // Decide on the first byte that differs from the magic: plain traffic is not held back.
        if (this.headerFilled < MAGIC_BYTES.length && byte !== MAGIC_BYTES[this.headerFilled]) {
          return this.decide({ kind: 'no-header', bytes: this.everything() });
        }
        this.header[this.headerFilled++] = byte;
      }
      if (this.headerFilled < MX_HEADER_BYTES) return NEED_MORE;
      const length = this.header.readUInt32BE(4);
      if (length > MAX_PAYLOAD_BYTES) {
        this.chunks.length = 0;
        this.buffered = 0;
        return this.decide({ kind: 'too-large', length });
      }
      this.payloadLength = length;
    }

    const frameEnd = MX_HEADER_BYTES + this.payloadLength;
    if (this.buffered < frameEnd) return NEED_MORE;
    const all = this.everything();
    let parsed: ParsedExchange;
    try {
      parsed = decodeExchangePayload(all.subarray(MX_HEADER_BYTES, frameEnd));
    } catch {
      return this.decide({ kind: 'bad-payload', bytes: all });
    }
    // An empty view of the read would keep all of it alive for as long as the caller holds on to `rest`.
    const rest = frameEnd === all.length ? NO_BYTES : all.subarray(frameEnd);
    return this.decide({ kind: 'metadata', metadata: parsed.metadata, nodeId: parsed.nodeId, rest });
  }

  /**
   * The stream ended (or the caller gave up waiting) before a decision: inside the header that is
   * 'no-header', inside the payload 'bad-payload'; either way the bytes read so far are handed back.
   */
  end(): ExchangeDecision {
    this.assertUndecided();
    const bytes = this.everything();
    return this.decide(this.payloadLength === undefined ? { kind: 'no-header', bytes } : { kind: 'bad-payload', bytes });
  }

  private everything(): Buffer {
    if (this.chunks.length === 1) return this.chunks[0]!;
    return Buffer.concat(this.chunks, this.buffered);
  }

  private decide(decision: ExchangeDecision): ExchangeDecision {
    this.decision = decision;
    this.chunks.length = 0;
    this.buffered = 0;
    return decision;
  }

  private assertUndecided(): void {
    if (this.decision) {
      throw new L4meshError(
        'L4MESH_ERR_PROTOCOL',
        `ExchangeReader already decided '${this.decision.kind}'; later bytes belong to the application, not the reader`,
      );
    }
  }
}
