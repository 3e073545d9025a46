// Readiness of a local container: its readinessProbe (tcpSocket / httpGet against the pod IP), or, without
// one, a connect to its first declared containerPort so "Ready" means "accepting connections".
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { EnvVar } from './pod-env.js';

export interface ContainerSpec {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: EnvVar[];
  ports?: Array<{ name?: string; containerPort: number }>;
  readinessProbe?: {
    tcpSocket?: { port: number | string; host?: string };
    httpGet?: { port: number | string; path?: string; host?: string; scheme?: string };
    initialDelaySeconds?: number;
    periodSeconds?: number;
  };
}

/** Without a probe, how long to wait for the declared port before calling the container ready anyway. */
export const IMPLICIT_PORT_WAIT_MS = 5_000;
/** Kubernetes probes every 10 s; locally a pod should turn Ready within a second of listening. */
const PROBE_INTERVAL_MS = 250;

export function rfc3339Now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function resolvePort(spec: ContainerSpec, port: number | string): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return spec.ports?.find((p) => p.name === port)?.containerPort;
}

/** Makes a probe's connection; netns mode makes it inside the pod's namespace, where the pod IP is. */
export type ProbeConnect = (host: string, port: number) => Socket;

const connectHere: ProbeConnect = (host, port) => connect({ host, port });

function tcpOk(host: string, port: number, dial: ProbeConnect): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dial(host, port);
    s.setTimeout(1_000, () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(false));
    s.once('connect', () => {
      resolve(true);
      // Close with a FIN and read what the app may have sent (a greeting): closing a socket with unread
      // data sends a reset, which crashes an app that has no error handler on its connections.
      s.setTimeout(1_000, () => s.destroy());
      s.resume();
      s.end();
    });
  });
}

async function httpOk(host: string, port: number, path: string, dial?: ProbeConnect): Promise<boolean> {
  if (dial) return httpOkVia(host, port, path, dial);
  try {
    const res = await fetch(`http://${host}:${port}${path.startsWith('/') ? path : `/${path}`}`, { signal: AbortSignal.timeout(1_000) });
    await res.arrayBuffer();
    return res.status >= 200 && res.status < 400;
  } catch {
    return false;
  }
}

/** An HTTP GET over a connection `dial` makes (fetch cannot be handed one). */
function httpOkVia(host: string, port: number, path: string, dial: ProbeConnect): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest({ host, port, path: path.startsWith('/') ? path : `/${path}`, createConnection: () => dial(host, port), timeout: 1_000 }, (res) => {
      res.resume();
      res.once('end', () => resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400));
      res.once('error', () => resolve(false));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}

/**
 * Resolves true once the container is ready, false if `cancelled()` turns true first. With a
 * readinessProbe it waits as long as it takes; without one, at most IMPLICIT_PORT_WAIT_MS.
 */
export async function probeContainer(spec: ContainerSpec, podIp: string, cancelled: () => boolean, onFailure?: (what: string) => void, dial?: ProbeConnect): Promise<boolean> {
  const tcpDial = dial ?? connectHere;
  const probe = spec.readinessProbe;
  let check: (() => Promise<boolean>) | undefined;
  let bounded = false;
  /** What a failed check tried, for the Unhealthy event. */
  let what = '';
  if (probe?.tcpSocket) {
    const port = resolvePort(spec, probe.tcpSocket.port);
    if (port !== undefined) check = () => tcpOk(probe.tcpSocket!.host ?? podIp, port, tcpDial);
    what = `dial tcp ${probe.tcpSocket.host ?? podIp}:${port ?? probe.tcpSocket.port}: no connection`;
  } else if (probe?.httpGet) {
    const port = resolvePort(spec, probe.httpGet.port);
    if (port !== undefined) check = () => httpOk(probe.httpGet!.host ?? podIp, port, probe.httpGet!.path ?? '/', dial);
    what = `HTTP GET http://${probe.httpGet.host ?? podIp}:${port ?? probe.httpGet.port}${probe.httpGet.path ?? '/'}: no 2xx/3xx answer`;
  } else if (spec.ports?.[0]) {
    const port = spec.ports[0].containerPort;
    check = () => tcpOk(podIp, port, tcpDial);
    bounded = true;
  }
  if (!check) return !cancelled();
  if (probe?.initialDelaySeconds) await new Promise((r) => setTimeout(r, Math.min(probe.initialDelaySeconds!, 60) * 1000));
  const deadline = Date.now() + IMPLICIT_PORT_WAIT_MS;
  for (;;) {
    if (cancelled()) return false;
    if (await check()) return !cancelled();
    if (bounded && Date.now() > deadline) return !cancelled();
    if (!bounded && !cancelled()) onFailure?.(what);
    await new Promise((r) => setTimeout(r, PROBE_INTERVAL_MS));
  }
}
