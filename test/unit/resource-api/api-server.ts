// A real HTTP server on 127.0.0.1:0 serving the resource API over a temp store, and a small client.
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResourceStore, ensureAdminToken } from '../../../src/controlplane/store/index.js';
import { createResourceApiHandler } from '../../../src/controlplane/api/index.js';
import type { ParseCostLimits } from '../../../src/controlplane/api/manifest-parser.js';

export interface ApiResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface ApiFixture {
  store: ResourceStore;
  token: string;
  stateDir: string;
  port: number;
  call(method: string, path: string, opts?: { body?: string | Buffer; token?: string | null; headers?: Record<string, string> }): Promise<ApiResponse>;
}

export async function startApi(t: { after(fn: () => Promise<void> | void): void }, maxBodyBytes?: number, parseLimits?: Partial<ParseCostLimits>): Promise<ApiFixture> {
  const stateDir = await mkdtemp(join(tmpdir(), 'l4mesh-api-'));
  const store = await ResourceStore.open(stateDir);
  const token = await ensureAdminToken(stateDir);
  const handle = createResourceApiHandler(store, { adminToken: token, ...(maxBodyBytes ? { maxBodyBytes } : {}), ...(parseLimits ? { parseLimits } : {}) });
  const server = createServer((req, res) => {
    if (handle(req, res)) return;
    res.writeHead(418, { 'content-type': 'text/plain' });
    res.end('not the resource api');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  t.after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(stateDir, { recursive: true, force: true });
  });
  const call: ApiFixture['call'] = (method, path, opts = {}) =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...opts.headers };
      const bearer = opts.token === undefined ? token : opts.token;
      if (bearer !== null) headers['authorization'] = `Bearer ${bearer}`;
      if (opts.body !== undefined) headers['content-length'] ??= String(Buffer.byteLength(opts.body));
      const req = httpRequest({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      });
      req.on('error', reject);
      req.end(opts.body);
    });
  return { store, token, stateDir, port, call };
}

export const BOOKINFO = `apiVersion: v1
kind: Namespace
metadata:
  name: bookinfo
---
apiVersion: v1
kind: Service
metadata:
  name: reviews
  namespace: bookinfo
  labels:
    app: reviews
    service: reviews
spec:
  selector:
    app: reviews
  ports:
  - name: http
    port: 9080
---
apiVersion: v1
kind: Service
metadata:
  name: ratings
  namespace: bookinfo
  labels:
    app: ratings
spec:
  selector:
    app: ratings
  ports:
  - name: http
    port: 9080
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata:
  name: reviews
  namespace: bookinfo
spec:
  host: reviews
  subsets:
  - name: v1
    labels:
      version: v1
`;
