// HBONE (HTTP/2 CONNECT over mutual TLS): the inbound server, the outbound connection pool, headers.
export {
  HboneServer,
  DEFAULT_HBONE_CLOSE_GRACE_MS,
  type HboneIdentities,
  type HboneInboundRequest,
  type HboneInboundDecision,
  type HboneServerOptions,
  type HboneServerEvents,
} from './server.js';
export {
  HboneClientPool,
  DEFAULT_HBONE_CONNECT_TIMEOUT_MS,
  DEFAULT_HBONE_IDLE_TIMEOUT_MS,
  DEFAULT_HBONE_MAX_STREAMS_PER_CONNECTION,
  DEFAULT_HBONE_SPREAD_CONNECTIONS,
  HBONE_SPREAD_STREAMS,
  type HboneClientPoolOptions,
  type HboneConnectRequest,
  type HboneKeyStats,
} from './client-pool.js';
export {
  BAGGAGE_HEADER,
  FORWARDED_HEADER,
  TRACEPARENT_HEADER,
  type PeerBaggage,
  formatBaggage,
  parseBaggage,
  formatForwarded,
  parseForwardedFor,
  newTraceparent,
  hboneRequestHeaders,
} from './headers.js';
export { parseHboneAuthority, formatHboneAuthority, type HboneTarget } from './authority.js';
export * from './settings.js';
export { PingWatch, DEFAULT_PING_TIMING, type PingTiming } from './liveness.js';
