// HTTP/2 tuning shared by the HBONE client and server (DESIGN §5, §8).
import type { Settings } from 'node:http2';

const MiB = 1024 * 1024;

/**
 * Per-stream receive window. Node's default (64 KiB) caps one tunnel at 64 KiB per round trip; 1 MiB is
 * 8 Gbit/s at a 1 ms round trip. More only lets a sender park data in a paused stream's readable buffer
 * on the receiving proxy, where it can outlive young-generation GCs and be promoted.
 */
export const HBONE_STREAM_WINDOW_BYTES = 1 * MiB;
/** Connection-level window: room for several busy streams on one pooled connection at once. */
export const HBONE_SESSION_WINDOW_BYTES = 16 * MiB;
/** Largest DATA frame we accept: fewer frames (and fewer callbacks) per byte than the 16 KiB default. */
export const HBONE_MAX_FRAME_BYTES = 1 * MiB;
/**
 * Node's per-session buffer cap in MB (default 10). The windows above allow more than 10 MB in flight
 * per session, and hitting the cap makes Node refuse new streams with ENHANCE_YOUR_CALM.
 */
export const HBONE_MAX_SESSION_MEMORY_MB = 64;

export const HBONE_HTTP2_SETTINGS: Settings = {
  initialWindowSize: HBONE_STREAM_WINDOW_BYTES,
  maxFrameSize: HBONE_MAX_FRAME_BYTES,
  enablePush: false,
};
