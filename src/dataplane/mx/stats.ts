// Counters of the istio-peer-exchange handshake, exposed under Envoy's metadata_exchange stat names.
import { Counter, type Registry } from 'prom-client';

/**
 * Plain numbers, bumped on the connection path without touching prom-client; a scrape reads them.
 * The meanings follow Istio's metadata_exchange filter:
 * - alpnProtocolFound / alpnProtocolNotFound: the TLS connection did / did not negotiate istio-peer-exchange;
 * - metadataAdded: we wrote our own metadata frame (Envoy counts the write, not the peer's frame);
 * - initialHeaderNotFound: the peer's stream did not start with the magic (plain app bytes);
 * - headerNotFound: magic present but no usable payload (unparsable, truncated, or over the size cap).
 * A peer's metadata was received when alpnProtocolFound - initialHeaderNotFound - headerNotFound > 0.
 */
export interface MxStats {
  alpnProtocolFound: number;
  alpnProtocolNotFound: number;
  initialHeaderNotFound: number;
  headerNotFound: number;
  metadataAdded: number;
}

export function createMxStats(): MxStats {
  return { alpnProtocolFound: 0, alpnProtocolNotFound: 0, initialHeaderNotFound: 0, headerNotFound: 0, metadataAdded: 0 };
}

/** Envoy's `metadata_exchange.<stat>` counters as Prometheus sees them from Envoy: `envoy_metadata_exchange_<stat>`. */
const METRICS: ReadonlyArray<{ name: string; field: keyof MxStats; help: string }> = [
  {
    name: 'envoy_metadata_exchange_alpn_protocol_found',
    field: 'alpnProtocolFound',
    help: 'TLS connections that negotiated ALPN istio-peer-exchange.',
  },
  {
    name: 'envoy_metadata_exchange_alpn_protocol_not_found',
    field: 'alpnProtocolNotFound',
    help: 'TLS connections that did not negotiate ALPN istio-peer-exchange (no metadata exchanged).',
  },
  {
    name: 'envoy_metadata_exchange_initial_header_not_found',
    field: 'initialHeaderNotFound',
    help: 'Connections whose peer did not start with the metadata exchange magic; its bytes were passed through.',
  },
  {
    name: 'envoy_metadata_exchange_header_not_found',
    field: 'headerNotFound',
    help: 'Connections whose peer sent the magic but no usable metadata payload.',
  },
  {
    name: 'envoy_metadata_exchange_metadata_added',
    field: 'metadataAdded',
    help: 'Metadata exchange frames written to peers.',
  },
];

/**
 * Registers the five counters in `registry`, each reading its number from `stats` at scrape time.
 * Registering twice in one registry (a restarted listener in the same process) keeps the first binding.
 */
export function registerMxMetrics(registry: Registry, stats: MxStats): void {
  for (const { name, field, help } of METRICS) {
    if (registry.getSingleMetric(name)) continue;
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        // The counter mirrors a number that only grows; reset + inc sets it without keeping a delta.
        this.reset();
        this.inc(stats[field]);
      },
    });
  }
}
