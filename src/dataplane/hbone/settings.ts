// HTTP/2 tuning shared by the HBONE client and server (DESIGN §5, §8): windows, stream limits, liveness.
// The session window and memory cap below are node:http2's; our own transport (h2/) uses HBONE_L4MESH_*.
import type { Settings } from 'node:http2';

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * Connection-level receive window: the bytes in flight one way on one HBONE connection. node:http2 stops
 * reading its socket while a write to it is in progress, so when both proxies have more in flight than the
 * two TCP buffers of the connection hold, each waits for the other to read, forever (issue 13: 16 MiB →
 * 1 of 100 concurrent bulk echoes finished; 1 MiB → 100/100). Loopback and LAN sockets autotune to a few
 * MiB, so 1 MiB always fits, with room for headers, PINGs and TLS records.
 */
export const HBONE_SESSION_WINDOW_BYTES = 1 * MiB;
/**
 * Per-stream receive window: a quarter of the session window, so one paused stream (a reader that stopped
 * reading) can hold at most that much of a connection and at least three others keep a full window. Node
 * returns connection window as soon as it reads DATA, whatever the stream does; a peer that keeps the
 * connection window until the application reads (Rust h2) would otherwise let one stalled stream starve
 * the rest. 256 KiB is still 2 Gbit/s per stream at a 1 ms round trip.
 */
export const HBONE_STREAM_WINDOW_BYTES = 256 * KiB;
/**
 * Per-stream receive window of our own transport (h2/), which reads its socket while it writes: DESIGN §5's
 * 1–4 MiB, its lower end. The connection window is 100 streams × this, so one stream never waits for
 * another's bytes; what a stalled reader holds stays bounded by this window.
 */
export const HBONE_L4MESH_STREAM_WINDOW_BYTES = 1 * MiB;
/** Largest DATA frame we accept: fewer frames (and fewer callbacks) per byte than the 16 KiB default. */
export const HBONE_MAX_FRAME_BYTES = 1 * MiB;
/**
 * SETTINGS_MAX_CONCURRENT_STREAMS the HBONE server advertises: ztunnel's order of magnitude (it sends 200,
 * hyper's default) and DESIGN §5's streams per pooled connection. Without it one client opened 1,000
 * upstream sockets over one connection; beyond it nghttp2 refuses streams (REFUSED_STREAM) and our pool
 * opens another connection.
 */
export const HBONE_MAX_CONCURRENT_STREAMS = 100;
/**
 * Node's per-session buffer cap in MB (default 10). Outbound data queued on up to 100 streams counts against
 * it, and hitting the cap makes Node refuse new streams with ENHANCE_YOUR_CALM.
 */
export const HBONE_MAX_SESSION_MEMORY_MB = 64;

/**
 * A pooled connection gets a PING when none was answered for this long (and on every sweep of the pool).
 * ztunnel pings every 10 s; half that finds a dead path sooner while costing one 17-byte frame per 5 s.
 */
export const HBONE_PING_INTERVAL_MS = 5_000;
/**
 * A PING unanswered for this long marks the connection suspect: new streams go elsewhere and CONNECTs still
 * waiting there are retried on another connection. The peer answers PINGs in C++ as soon as it reads them,
 * so a live peer is far below this even on a loaded box; a suspect connection that answers later is used again.
 */
export const HBONE_PING_OVERDUE_MS = 2_000;
/**
 * A PING unanswered for this long means the connection is dead (peer stopped, path black-holed): it is
 * destroyed and its tunnels reset, instead of hanging forever. ztunnel allows 20 s; 10 s bounds how long
 * a dead connection's tunnels hang, and a live proxy whose event loop stalls that long is broken anyway.
 */
export const HBONE_PING_TIMEOUT_MS = 10_000;

/** SETTINGS both sides send. */
export const HBONE_HTTP2_SETTINGS: Settings = {
  initialWindowSize: HBONE_STREAM_WINDOW_BYTES,
  maxFrameSize: HBONE_MAX_FRAME_BYTES,
  enablePush: false,
};

/** SETTINGS of the HBONE server: the above plus the stream limit (a client's limit would apply to pushes). */
export const HBONE_SERVER_HTTP2_SETTINGS: Settings = {
  ...HBONE_HTTP2_SETTINGS,
  maxConcurrentStreams: HBONE_MAX_CONCURRENT_STREAMS,
};
