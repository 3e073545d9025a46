// Kubernetes-like pod names: <deployment>-<10-char template hash>-<5-char suffix>.
import { createHash, randomInt } from 'node:crypto';

/** Kubernetes' "safe" alphabet: no vowels (no accidental words) and no look-alike characters. */
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export const ANNOTATION_WORKLOAD_NAME = 'l4mesh.io/workload-name';
export const ANNOTATION_WORKLOAD_KIND = 'l4mesh.io/workload-kind';
/** Marks Pods the local runtime owns, so it never touches Pods someone else wrote. */
export const ANNOTATION_MANAGED_BY = 'l4mesh.io/managed-by';
export const MANAGED_BY_RUNTIME = 'l4mesh-runtime';
/** Set by `l4mesh apply` on Deployments: the directory of the applied file, the pods' working directory. */
export const ANNOTATION_WORKING_DIR = 'l4mesh.io/working-dir';
export const LABEL_TEMPLATE_HASH = 'pod-template-hash';

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

/** Same template (key order aside) → same hash; what a rollout compares. */
export function templateHash(template: unknown, workingDir = ''): string {
  const digest = createHash('sha256').update(stableJson(template)).update('\0' + workingDir).digest();
  let out = '';
  for (let i = 0; i < 10; i++) out += ALPHABET[digest[i]! % ALPHABET.length];
  return out;
}

export function randomSuffix(): string {
  let out = '';
  for (let i = 0; i < 5; i++) out += ALPHABET[randomInt(ALPHABET.length)];
  return out;
}

export function podName(deployment: string, hash: string): string {
  return `${deployment}-${hash}-${randomSuffix()}`;
}
