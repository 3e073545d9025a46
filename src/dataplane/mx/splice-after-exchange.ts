// Splices a connection whose TLS side just ran the istio-peer-exchange: the application bytes read
// during the exchange go first, a half-close seen during it is passed on, then bytes flow both ways.
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { ConnectionStats } from '../connection-stats.js';
import type { ExchangeResult } from './handshake.js';
import { splice, type SpliceOutcome } from '../splice.js';

/**
 * `client` and `server` as splice() takes them (stats.received counts client→server bytes). `tls` is
 * whichever of the two ran the exchange, `exchange` its result; the exchange left that socket paused.
 */
export function spliceAfterExchange(client: Duplex, server: Duplex, stats: ConnectionStats, tls: TLSSocket, exchange: ExchangeResult | undefined): Promise<SpliceOutcome> {
  const other = tls === client ? server : client;
  if (exchange && exchange.head.length > 0) {
    other.write(exchange.head);
    if (tls === client) stats.received += exchange.head.length;
    else stats.sent += exchange.head.length;
  }
  const done = splice(client, server, stats);
  // A FIN that arrived during the exchange was consumed by it (peerEnded), or — when it came in the same
  // read as the last bytes — emitted while nobody listened (readableEnded): splice() will not see it
  // either way, so the other side is ended here.
  if (exchange?.peerEnded || tls.readableEnded) other.end();
  tls.resume();
  return done;
}
