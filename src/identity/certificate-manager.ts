// Keeps one certificate per wanted identity: fetches it, renews it at half life, retries failures with backoff.
import { EventEmitter } from 'node:events';
import { L4meshError } from '../errors/index.js';
import { DEFAULT_BACKOFF, ExponentialBackoff, type BackoffOptions } from '../retry/backoff.js';
import type { CertificateSource } from './ca-client.js';
import type { WorkloadCertificate } from './workload-certificate.js';

export type CertificateState = 'Available' | 'Initializing' | 'Unavailable';

/** setTimeout's ceiling (~24.8 days); longer waits are taken in several hops. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface CertificateManagerOptions {
  client: CertificateSource;
  /** Lifetime to request; omitted lets the CA choose (24 h by default). */
  ttlSeconds?: number;
  backoff?: BackoffOptions;
}

export interface CertificateStatus {
  identity: string;
  state: CertificateState;
  certificate?: WorkloadCertificate;
  lastError?: Error;
}

interface Entry {
  identity: string;
  certificate?: WorkloadCertificate;
  lastError?: Error;
  backoff: ExponentialBackoff;
  timer?: NodeJS.Timeout;
  inFlight: boolean;
}

/**
 * Events: `'updated'(identity)` after every new certificate; `'failed'(identity, error)` after each failed
 * attempt (not 'error', so an unobserved failure never throws).
 */
export class CertificateManager extends EventEmitter {
  readonly #client: CertificateSource;
  readonly #ttlSeconds: number | undefined;
  readonly #backoffOptions: BackoffOptions;
  readonly #entries = new Map<string, Entry>();
  #closed = false;

  constructor(options: CertificateManagerOptions) {
    super();
    this.#client = options.client;
    this.#ttlSeconds = options.ttlSeconds;
    this.#backoffOptions = options.backoff ?? DEFAULT_BACKOFF;
    // Validate eagerly: a bad backoff should fail at construction, not at the first CA outage.
    new ExponentialBackoff(this.#backoffOptions);
  }

  /** Makes the wanted set exactly `identities`: fetches the new ones, forgets (and stops renewing) the rest. */
  ensure(identities: Iterable<string>): void {
    if (this.#closed) return;
    const wanted = new Set(identities);
    for (const [identity, entry] of this.#entries) {
      if (wanted.has(identity)) continue;
      clearTimeout(entry.timer);
      this.#entries.delete(identity);
    }
    for (const identity of wanted) {
      if (this.#entries.has(identity)) continue;
      const entry: Entry = { identity, backoff: new ExponentialBackoff(this.#backoffOptions), inFlight: false };
      this.#entries.set(identity, entry);
      this.#fetch(entry);
    }
  }

  /** The current, unexpired certificate of `identity`. */
  get(identity: string): WorkloadCertificate | undefined {
    const certificate = this.#entries.get(identity)?.certificate;
    return certificate && certificate.notAfter.getTime() > Date.now() ? certificate : undefined;
  }

  state(identity: string): CertificateState {
    const entry = this.#entries.get(identity);
    if (!entry) return 'Unavailable';
    if (this.get(identity)) return 'Available';
    return entry.lastError ? 'Unavailable' : 'Initializing';
  }

  /** True when every wanted identity has a usable certificate (proxies report ready only then). */
  ready(): boolean {
    for (const identity of this.#entries.keys()) if (!this.get(identity)) return false;
    return true;
  }

  /** Every wanted identity with its state, sorted by identity (for config_dump and `ztunnel-config certificates`). */
  list(): CertificateStatus[] {
    return [...this.#entries.values()]
      .map((entry) => ({ identity: entry.identity, state: this.state(entry.identity), certificate: entry.certificate, lastError: entry.lastError }))
      .sort((a, b) => (a.identity < b.identity ? -1 : a.identity > b.identity ? 1 : 0));
  }

  /** Resolves with the certificate once available, or undefined after `timeoutMs` / when the identity is dropped. */
  waitFor(identity: string, timeoutMs: number): Promise<WorkloadCertificate | undefined> {
    const existing = this.get(identity);
    if (existing || !this.#entries.has(identity)) return Promise.resolve(existing);
    return new Promise((resolve) => {
      const onUpdated = (updated: string): void => {
        if (updated !== identity) return;
        finish(this.get(identity));
      };
      // Not unref'd: someone awaits this, and the wait is bounded by timeoutMs.
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      const finish = (certificate: WorkloadCertificate | undefined): void => {
        clearTimeout(timer);
        this.off('updated', onUpdated);
        resolve(certificate);
      };
      this.on('updated', onUpdated);
    });
  }

  close(): void {
    this.#closed = true;
    for (const entry of this.#entries.values()) clearTimeout(entry.timer);
    this.#entries.clear();
  }

  #fetch(entry: Entry): void {
    entry.timer = undefined;
    if (entry.inFlight || !this.#isCurrent(entry)) return;
    entry.inFlight = true;
    Promise.resolve()
      .then(() => this.#client.requestCertificate(entry.identity, this.#ttlSeconds))
      .then(
        (certificate) => {
          entry.inFlight = false;
          if (!this.#isCurrent(entry)) return;
          entry.certificate = certificate;
          entry.lastError = undefined;
          entry.backoff.reset();
          this.#schedule(entry, renewalDelayMs(certificate, Date.now()));
          this.emit('updated', entry.identity);
        },
        (error: unknown) => {
          entry.inFlight = false;
          if (!this.#isCurrent(entry)) return;
          entry.lastError = error instanceof Error ? error : new L4meshError('L4MESH_ERR_CERTIFICATE', `certificate request failed: ${String(error)}`);
          this.#schedule(entry, entry.backoff.next());
          this.emit('failed', entry.identity, entry.lastError);
        },
      );
  }

  #schedule(entry: Entry, delayMs: number): void {
    clearTimeout(entry.timer);
    const dueAt = Date.now() + delayMs;
    const arm = (): void => {
      const remaining = dueAt - Date.now();
      if (remaining > MAX_TIMER_MS) {
        entry.timer = setTimeout(arm, MAX_TIMER_MS);
      } else {
        entry.timer = setTimeout(() => this.#fetch(entry), Math.max(0, remaining));
      }
      // Renewal alone must not keep a process alive; close() clears the timers anyway.
      entry.timer.unref();
    };
    arm();
  }

  #isCurrent(entry: Entry): boolean {
    return !this.#closed && this.#entries.get(entry.identity) === entry;
  }
}

/**
 * Renew halfway between now (when we received it) and expiry. Counting from receipt rather than
 * notBefore matters because the CA backdates notBefore for clock skew, which would make short-lived
 * certificates look half-spent on arrival.
 */
export function renewalDelayMs(certificate: WorkloadCertificate, receivedAtMs: number): number {
  const start = Math.max(receivedAtMs, certificate.notBefore.getTime());
  return Math.max(0, (certificate.notAfter.getTime() - start) / 2 + (start - receivedAtMs));
}
