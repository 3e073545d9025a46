// A port-forward for the browser: a host listener (default 127.0.0.1:9080) whose connections are piped to
// productpage from a pod's place in the mesh, so they enter the mesh as that pod (the `curl` workload) —
// much like `kubectl port-forward` to an ingress gateway. Local mode dials the pod's outbound listener;
// netns mode dials the service VIP from inside the pod's network namespace, where the pod's own capture
// rules hand it to its node proxy (the host has no route into the pods' network, and gets none).
import { createServer, connect, type Server, type Socket } from 'node:net';
import { connectFromNetns } from '../../../src/dataplane/capture/netns/native.js';

/** How the forwarder reaches productpage for each browser connection. */
export type Dial = () => Promise<Socket>;

/** A plain TCP connection from the host (local mode: to the pod's outbound listener on loopback). */
export function dialHost(host: string, port: number): Dial {
  return () =>
    new Promise((resolve, reject) => {
      const s = connect(port, host);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
}

/** A page view takes a connect; a pod that is gone should fail the view, not hang it. */
const POD_DIAL_TIMEOUT_MS = 10_000;

/** A connection made inside pod namespace `netns` from the pod's IP, unmarked, so the pod's rules capture it. */
export function dialFromPod(netns: string, podIp: string, host: string, port: number): Dial {
  return () => connectFromNetns(netns, { localIp: podIp, host, port, timeoutMs: POD_DIAL_TIMEOUT_MS });
}

export interface Forwarder {
  /** The address the browser uses. */
  url: string;
  close(): Promise<void>;
}

export async function startForwarder(listenHost: string, listenPort: number, dial: Dial): Promise<Forwarder> {
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };
  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    track(client);
    client.once('error', () => client.destroy());
    dial().then(
      (upstream) => {
        track(upstream);
        if (client.destroyed) return upstream.destroy();
        // Either side failing ends both: a half-dead pair would hold the browser's connection open.
        for (const s of [client, upstream]) {
          s.once('error', () => {
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      },
      () => client.destroy(),
    );
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, listenHost, () => {
        server.off('error', reject);
        resolve();
      });
    });
  try {
    await listen(listenPort);
  } catch (err) {
    // Another program (or a second demo) holds the port: any free port still gives a working URL.
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || listenPort === 0) throw err;
    await listen(0);
  }
  const addr = server.address() as { address: string; port: number };
  return {
    url: `http://${addr.address}:${addr.port}`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
