// Applies one DeltaDiscoveryResponse to a proxy's mesh snapshot, all or nothing: every resource is
// decoded and checked before anything changes, so a bad response (NACKed) leaves the old state.
import {
  ADDRESS_TYPE_URL,
  AUTHORIZATION_TYPE_URL,
  TELEMETRY_TYPE_URL,
  type MeshAuthorization,
  type MeshService,
  type MeshSnapshot,
  type MeshTelemetry,
  type MeshWorkload,
} from '../../api/mesh.js';
import { L4meshError } from '../../errors/index.js';
import { decodeAddress, decodeAuthorization, decodeTelemetry, unpackAny, type DeltaDiscoveryResponse } from '../../proto/codec.js';

export interface ChangedNames {
  workloads: string[];
  services: string[];
  authorizations: string[];
  /** Set only on Telemetry responses, so Address/Authorization updates keep their shape. */
  telemetries?: string[];
  removed: string[];
}

export interface AppliedResponse {
  snapshot: MeshSnapshot;
  changed: ChangedNames;
  /** name -> version of the resources set by this response (for initial_resource_versions later). */
  versions: Map<string, string>;
}

export function emptySnapshot(): MeshSnapshot {
  return { workloads: new Map(), services: new Map(), authorizations: new Map(), telemetries: new Map() };
}

/** Throws L4meshError (L4MESH_ERR_PROTOCOL) when any resource cannot be used; `current` is never mutated. */
export function applyDeltaResponse(current: MeshSnapshot, res: DeltaDiscoveryResponse): AppliedResponse {
  if (res.typeUrl !== ADDRESS_TYPE_URL && res.typeUrl !== AUTHORIZATION_TYPE_URL && res.typeUrl !== TELEMETRY_TYPE_URL) {
    throw new L4meshError('L4MESH_ERR_PROTOCOL', `response has type ${res.typeUrl || '<empty>'}, which this proxy did not subscribe to`);
  }
  const workloads: Array<[string, MeshWorkload]> = [];
  const services: Array<[string, MeshService]> = [];
  const authorizations: Array<[string, MeshAuthorization]> = [];
  const telemetries: Array<[string, MeshTelemetry]> = [];
  const versions = new Map<string, string>();
  for (const r of res.resources) {
    if (!r.name) throw new L4meshError('L4MESH_ERR_PROTOCOL', `a ${res.typeUrl} resource has no name`);
    const body = unpackAny(r.resource, res.typeUrl);
    try {
      if (res.typeUrl === ADDRESS_TYPE_URL) {
        const decoded = decodeAddress(body);
        if ('workload' in decoded) workloads.push([r.name, decoded.workload]);
        else services.push([r.name, decoded.service]);
      } else if (res.typeUrl === TELEMETRY_TYPE_URL) {
        telemetries.push([r.name, decodeTelemetry(body)]);
      } else {
        authorizations.push([r.name, decodeAuthorization(body)]);
      }
    } catch (err) {
      throw new L4meshError('L4MESH_ERR_PROTOCOL', `resource "${r.name}": ${(err as Error).message}`, { cause: err });
    }
    versions.set(r.name, r.version);
  }

  // Copy on write: a snapshot handed out earlier stays as it was.
  const next: MeshSnapshot = {
    workloads: new Map(current.workloads),
    services: new Map(current.services),
    authorizations: new Map(current.authorizations),
    telemetries: new Map(current.telemetries ?? []),
  };
  for (const [name, w] of workloads) {
    next.services.delete(name);
    next.workloads.set(name, w);
  }
  for (const [name, s] of services) {
    next.workloads.delete(name);
    next.services.set(name, s);
  }
  for (const [name, a] of authorizations) next.authorizations.set(name, a);
  for (const [name, t] of telemetries) next.telemetries!.set(name, t);
  const removed: string[] = [];
  for (const name of res.removedResources) {
    // Removal of an unknown name is allowed by the protocol and simply ignored.
    const had =
      res.typeUrl === ADDRESS_TYPE_URL
        ? next.workloads.delete(name) || next.services.delete(name)
        : res.typeUrl === TELEMETRY_TYPE_URL
          ? next.telemetries!.delete(name)
          : next.authorizations.delete(name);
    if (had) removed.push(name);
  }
  return {
    snapshot: next,
    changed: {
      workloads: workloads.map(([n]) => n),
      services: services.map(([n]) => n),
      authorizations: authorizations.map(([n]) => n),
      ...(res.typeUrl === TELEMETRY_TYPE_URL ? { telemetries: telemetries.map(([n]) => n) } : {}),
      removed,
    },
    versions,
  };
}
