// The control plane's connection to etcd: client options with bounded waits, the key layout, and
// turning the client's failures into L4MESH_ERR_STORE_UNAVAILABLE for the operator.
import { Etcd3, GRPCDeadlineExceededError, GRPCUnavailableError, type IOptions } from 'etcd3';
import { circuitBreaker, ConsecutiveBreaker, handleWhen, noop } from 'cockatiel';
import { L4meshError } from '../../errors/index.js';

/** Every key l4mesh writes starts with this, so an etcd shared with other software stays tidy. */
export const ETCD_PREFIX = '/l4mesh/';
export const RESOURCES_PREFIX = `${ETCD_PREFIX}resources/`;
/**
 * A unary etcd call (read, transaction) that has not answered in this long fails the API request with
 * 503 instead of hanging it; a healthy loopback or LAN etcd answers in milliseconds.
 */
export const ETCD_CALL_TIMEOUT_MS = 5_000;
/**
 * etcd's own default for `--max-txn-ops`: the most compares, and the most puts or deletes, one
 * transaction may hold. A write (an apply of N resources) is one transaction of N compares and N puts.
 */
export const ETCD_DEFAULT_MAX_TXN_OPS = 128;
/** How long connecting to a member may take before the next member is tried. */
export const ETCD_DIAL_TIMEOUT_MS = 3_000;
/**
 * A member that failed a call at the connection level is skipped for this long (then tried again), so
 * with one member of three down calls go to the two that answer instead of failing a third of the time.
 */
export const ETCD_MEMBER_COOLDOWN_MS = 2_000;

export function resourceKey(kind: string, namespace: string, name: string): string {
  return `${RESOURCES_PREFIX}${kind}/${namespace}/${name}`;
}

/** Splits `http://127.0.0.1:2379,http://...` into hosts; each must be an http(s) URL. */
export function parseEndpoints(value: string, what = '--etcd-endpoints'): string[] {
  const hosts = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (hosts.length === 0) throw new L4meshError('L4MESH_ERR_CONFIG', `${what}: give at least one etcd client URL, e.g. http://127.0.0.1:2379`);
  for (const h of hosts) {
    let url: URL | undefined;
    try {
      url = new URL(h);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !url.port) {
      throw new L4meshError('L4MESH_ERR_CONFIG', `${what}: "${h}" is not an etcd client URL such as http://127.0.0.1:2379`);
    }
  }
  return hosts;
}

/**
 * A client whose unary calls carry a deadline and are not retried by the client itself: the store
 * decides (a compare-and-swap must be recomputed, not resent), and an unreachable etcd must fail fast.
 * A member that fails at the connection level is left out for a while (a circuit breaker per member).
 */
export function connectEtcd(endpoints: string[]): Etcd3 {
  const options: IOptions = {
    hosts: endpoints,
    dialTimeout: ETCD_DIAL_TIMEOUT_MS,
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + ETCD_CALL_TIMEOUT_MS }),
    faultHandling: {
      host: () =>
        circuitBreaker(
          handleWhen((err) => err instanceof GRPCUnavailableError || err instanceof GRPCDeadlineExceededError),
          { halfOpenAfter: ETCD_MEMBER_COOLDOWN_MS, breaker: new ConsecutiveBreaker(1) },
        ),
      global: noop,
    },
  };
  return new Etcd3(options);
}

/** Whether a call failed because its member could not be reached (so another member may be asked at once). */
export function memberUnreachable(err: unknown): boolean {
  return err instanceof GRPCUnavailableError;
}

/** Whether etcd refused a transaction for its size (`--max-txn-ops`, `--max-request-bytes`), not for being down. */
export function txnTooLargeForEtcd(err: unknown): boolean {
  const message = (err as Error)?.message ?? '';
  return message.includes('too many operations in txn request') || message.includes('request is too large');
}

/** The API's answer to a write larger than one etcd transaction may be: 413, nothing written, what to do. */
export function txnTooLarge(doing: string, resources: number, limit: string): L4meshError {
  return new L4meshError(
    'L4MESH_ERR_TOO_MANY_DOCUMENTS',
    `cannot ${doing}: the ${resources} resources are written as one etcd transaction (all or nothing), and ${limit}. Nothing was written: apply the manifests in parts, or raise etcd's --max-txn-ops (and --max-request-bytes) together with the control plane's --etcd-max-txn-ops`,
  );
}

/** The API's answer when etcd cannot be reached: 503, naming the endpoints to check. */
export function unavailable(endpoints: string[], doing: string, err: unknown): L4meshError {
  return new L4meshError(
    'L4MESH_ERR_STORE_UNAVAILABLE',
    `cannot ${doing}: etcd at ${endpoints.join(',')} did not answer (${(err as Error)?.message ?? String(err)}); check that the etcd members are running and reachable. A write is one etcd transaction, so it was applied entirely or not at all: list to see which before retrying`,
    { cause: err },
  );
}
