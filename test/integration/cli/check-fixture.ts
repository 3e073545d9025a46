// What the `l4mesh check` tests share: the JSON report's shape, running check until the proxies have the
// configuration a case needs, analyze's findings as `CODE Kind ns/name`, and applying a manifest.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually } from '../../support/mesh.js';
import type { CliMesh } from './cli-fixture.js';

/**
 * A client outside the mesh (opted out on the pod): local mode reaches a pod through its node proxy's
 * INBOUND_PORT with a plaintext CONNECT, netns mode connects to the pod IP as any such client does.
 */
export const PLAIN_CLIENT = `apiVersion: apps/v1
kind: Deployment
metadata: {name: legacy}
spec:
  selector: {matchLabels: {app: legacy}}
  template:
    metadata: {labels: {app: legacy, istio.io/dataplane-mode: none}}
    spec:
      containers: [{name: legacy, image: local/legacy, command: [sleep, "3600"]}]
`;

export interface Hop {
  step: string;
  verdict: string;
  detail: string;
  cause?: string;
  next?: string;
  evidence?: string[];
}
export interface Report {
  ok: boolean;
  hops: Hop[];
  sourceInMesh?: boolean;
  endpoint?: { workload: string; address: string; port: number; node: string; tunnel: string };
  findings?: Array<{ code: string; resource: { kind: string; namespace: string; name: string } }>;
  trace?: { id: string; decisions: Array<{ proxy: string; direction: string; step: string; verdict: string; facts?: Record<string, unknown> }> };
}

export const steps = (r: Report) => r.hops.map((h) => `${h.step}:${h.verdict}`);
export const hop = (r: Report, step: string) => r.hops.find((h) => h.step === step)!;

export async function check(mesh: CliMesh, from: string, to: string, extra: readonly string[] = []): Promise<{ code: number | null; report: Report }> {
  const r = await mesh.run(['check', 'connectivity', from, to, ...extra, '-o', 'json'], 60_000);
  assert.equal(r.stderr, '');
  return { code: r.code, report: JSON.parse(r.stdout) as Report };
}

/** Runs check until `accept` takes its report (configuration reaches both node proxies at its own pace). */
export function checkUntil(mesh: CliMesh, from: string, to: string, accept: (r: Report, code: number | null) => boolean, what: string, extra: readonly string[] = []) {
  let last = '';
  return eventually(async () => {
    const r = await check(mesh, from, to, extra);
    last = JSON.stringify(r.report, null, 2);
    return accept(r.report, r.code) ? r : undefined;
  }, 60_000, what).catch((err: Error) => {
    throw new Error(`${err.message}\nlast report: ${last}`);
  });
}

export async function analyze(mesh: CliMesh): Promise<{ code: number | null; found: string[] }> {
  const r = await mesh.run(['analyze', '-o', 'json']);
  return { code: r.code, found: (JSON.parse(r.stdout) as Array<{ code: string; resource: { kind: string; namespace: string; name: string } }>).map((f) => `${f.code} ${f.resource.kind} ${f.resource.namespace}/${f.resource.name}`) };
}

export async function apply(mesh: CliMesh, name: string, yaml: string, verb: 'apply' | 'delete' = 'apply'): Promise<void> {
  const file = join(mesh.manifestDir, name);
  await writeFile(file, yaml);
  const r = await mesh.run([verb, '-f', file]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
}
