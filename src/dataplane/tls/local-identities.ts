// The identities a node proxy serves on its HBONE port, looked up by the SNI a client sends.
import type { SecureContext } from 'node:tls';
import { hboneServerName } from './server-name.js';
import { createHboneSecureContext, type TlsMaterial } from './secure-context.js';

interface Entry {
  spiffeId: string;
  material: TlsMaterial;
  context: SecureContext;
}

/**
 * Maps `hboneServerName(id)` → that identity's SecureContext. Contexts are built when a certificate is
 * set (at issue or rotation), never during a handshake.
 */
export class LocalIdentityTable {
  private readonly byServerName = new Map<string, Entry>();

  /** Adds or replaces (on rotation) the certificate of one identity. */
  set(spiffeId: string, material: TlsMaterial): void {
    const existing = this.byServerName.get(hboneServerName(spiffeId));
    if (existing && existing.material === material) return;
    this.byServerName.set(hboneServerName(spiffeId), {
      spiffeId,
      material,
      context: createHboneSecureContext(material),
    });
  }

  delete(spiffeId: string): void {
    this.byServerName.delete(hboneServerName(spiffeId));
  }

  secureContextFor(serverName: string): SecureContext | undefined {
    return this.byServerName.get(serverName.toLowerCase())?.context;
  }

  identityFor(serverName: string): string | undefined {
    return this.byServerName.get(serverName.toLowerCase())?.spiffeId;
  }

  identities(): string[] {
    return [...this.byServerName.values()].map((e) => e.spiffeId);
  }
}
