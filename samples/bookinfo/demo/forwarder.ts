// A port-forward for the browser: a host listener (default 127.0.0.1:9080) whose connections are piped to
// a pod's outbound listener for productpage, so they enter the mesh as that pod (the `curl` workload) —
// much like `kubectl port-forward` to an ingress gateway.
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface Forwarder {
  /** The address the browser uses. */
  url: string;
  close(): Promise<void>;
}

export async function startForwarder(listenHost: string, listenPort: number, target: { host: string; port: number }): Promise<Forwarder> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      // Either side failing ends both: a half-dead pair would hold the browser's connection open.
      s.once('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
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
