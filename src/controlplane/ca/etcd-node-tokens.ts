// Node tokens shared by every replica through etcd: one key per token hash, so a token created through
// any replica (or the CLI) admits its node proxy at every replica. Only SHA-256 hashes are stored.
import type { Etcd3 } from 'etcd3';
import { ETCD_PREFIX, unavailable } from '../store/etcd-connection.js';
import type { EtcdEntry } from '../store/etcd-store.js';
import { mintNodeToken, sha256Hex, type NodeTokens } from './node-tokens.js';

/** `<prefix><hex sha-256 of the token>` → `{"node":…,"createdAt":…}`. */
export const NODE_TOKENS_PREFIX = `${ETCD_PREFIX}node-tokens/`;

interface TokenRecord {
  node: string;
  createdAt: string;
}

/** Creates a token in etcd directly (for `l4mesh control-plane token create --store etcd`, no replica needed). */
export async function createEtcdNodeToken(client: Etcd3, endpoints: string[], node: string): Promise<string> {
  const { token, sha256 } = mintNodeToken(node);
  const record: TokenRecord = { node, createdAt: new Date().toISOString() };
  try {
    await client.put(NODE_TOKENS_PREFIX + sha256).value(JSON.stringify(record));
  } catch (err) {
    throw unavailable(endpoints, 'store the node token', err);
  }
  return token;
}

/** The replica's view: reads come from the store's watched copy of NODE_TOKENS_PREFIX, writes go to etcd. */
export class EtcdNodeTokens implements NodeTokens {
  constructor(
    private readonly store: { etcd: Etcd3; endpoints: string[]; entries(prefix: string): Map<string, EtcdEntry> },
  ) {}

  create(node: string): Promise<string> {
    return createEtcdNodeToken(this.store.etcd, this.store.endpoints, node);
  }

  async revokeNode(node: string): Promise<number> {
    const keys = [...this.records()].filter(([, r]) => r.node === node).map(([k]) => k);
    if (keys.length === 0) return 0;
    try {
      await this.store.etcd.if(keys[0]!, 'Create', '>', 0).then(...keys.map((k) => this.store.etcd.delete().key(k))).commit();
    } catch (err) {
      throw unavailable(this.store.endpoints, 'revoke the node tokens', err);
    }
    return keys.length;
  }

  /**
   * A lookup by the token's hash: what the time taken could reveal is where a hash of the presented
   * token sits among stored hashes, which helps nobody find a token.
   */
  verify(token: string): string | undefined {
    const e = this.store.entries(NODE_TOKENS_PREFIX).get(NODE_TOKENS_PREFIX + sha256Hex(token));
    return e ? parseRecord(e.value)?.node : undefined;
  }

  nodes(): string[] {
    return [...new Set([...this.records()].map(([, r]) => r.node))].sort();
  }

  private *records(): Iterable<[string, TokenRecord]> {
    for (const [k, e] of this.store.entries(NODE_TOKENS_PREFIX)) {
      const r = parseRecord(e.value);
      if (r) yield [k, r];
    }
  }
}

/** A record written by something other than l4mesh admits nobody. */
function parseRecord(value: string): TokenRecord | undefined {
  try {
    const r = JSON.parse(value) as TokenRecord;
    return typeof r?.node === 'string' ? r : undefined;
  } catch {
    return undefined;
  }
}
