// What each proxy is sent: the mesh snapshot filtered for that proxy, encoded as xDS resources with
// content-hash versions. Encodings are cached per object: the registry replaces an object when it
// changes, so an unchanged object is never encoded twice.
import {
  ADDRESS_TYPE_URL,
  AUTHORIZATION_TYPE_URL,
  TELEMETRY_TYPE_URL,
  authorizationResourceName,
  serviceResourceName,
  telemetryResourceName,
  workloadResourceName,
  type MeshAuthorization,
  type MeshService,
  type MeshSnapshot,
  type MeshTelemetry,
  type MeshWorkload,
} from '../../api/mesh.js';
import type { ProxyInfo } from '../registry/source.js';
import { encodeAuthorization, encodeService, encodeTelemetry, encodeWorkload, resourceVersion, type AnyMessage } from '../../proto/codec.js';

// TELEMETRY_TYPE_URL is l4mesh's own type: only l4mesh proxies subscribe to it.
export const SERVED_TYPE_URLS = [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, TELEMETRY_TYPE_URL] as const;

export interface ProxyResources {
  workloads: MeshWorkload[];
  services: MeshService[];
  authorizations: MeshAuthorization[];
  /** Every proxy gets every Telemetry: which one applies depends on the proxy's local workloads. */
  telemetries: MeshTelemetry[];
}

/**
 * The one place that decides which resources a proxy receives. Today every proxy gets everything,
 * like ztunnel without on-demand discovery; narrowing (per node, per namespace) belongs here.
 */
export function selectResourcesFor(_proxy: ProxyInfo, snapshot: MeshSnapshot): ProxyResources {
  return {
    workloads: [...snapshot.workloads.values()],
    services: [...snapshot.services.values()],
    authorizations: [...snapshot.authorizations.values()],
    telemetries: [...(snapshot.telemetries?.values() ?? [])],
  };
}

export interface EncodedResource {
  name: string;
  version: string;
  body: AnyMessage;
}

export class ResourceEncoder {
  private readonly cache = new WeakMap<object, EncodedResource>();

  /** Resources of one type URL for `proxy`, by resource name. */
  resourcesOfType(typeUrl: string, proxy: ProxyInfo, snapshot: MeshSnapshot): Map<string, EncodedResource> {
    const selected = selectResourcesFor(proxy, snapshot);
    const out = new Map<string, EncodedResource>();
    if (typeUrl === ADDRESS_TYPE_URL) {
      for (const w of selected.workloads) this.add(out, w, workloadResourceName(w), typeUrl, () => encodeWorkload(w));
      for (const s of selected.services) this.add(out, s, serviceResourceName(s), typeUrl, () => encodeService(s));
    } else if (typeUrl === AUTHORIZATION_TYPE_URL) {
      for (const a of selected.authorizations) this.add(out, a, authorizationResourceName(a), typeUrl, () => encodeAuthorization(a));
    } else if (typeUrl === TELEMETRY_TYPE_URL) {
      for (const t of selected.telemetries) this.add(out, t, telemetryResourceName(t), typeUrl, () => encodeTelemetry(t));
    }
    return out;
  }

  private add(out: Map<string, EncodedResource>, obj: object, name: string, typeUrl: string, encode: () => Buffer): void {
    let encoded = this.cache.get(obj);
    if (!encoded || encoded.name !== name) {
      const value = encode();
      encoded = { name, version: resourceVersion(value), body: { typeUrl, value } };
      this.cache.set(obj, encoded);
    }
    out.set(name, encoded);
  }
}
