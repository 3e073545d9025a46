// Forwards one HTTP/1.1 request, parsed by node:http, to an upstream byte stream (an HBONE tunnel) and
// its response back; and passes `Upgrade` requests through as a raw tunnel after the 101.
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { splice } from '../splice.js';
import { newConnectionStats } from '../connection-stats.js';

/** Headers that describe one hop's connection, never forwarded (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);

export interface ForwardOutcome {
  /** The status sent downstream (the upstream's, or 503 when the upstream failed before answering). */
  status: number;
  /** Request head (approximate: request line + header lines) plus body bytes, as Envoy's request_bytes. */
  requestBytes: number;
  responseBytes: number;
  /** Set when the upstream failed; `beforeResponse` says whether the client got a synthetic 503. */
  error?: Error;
  beforeResponse?: boolean;
}

/** Copies the end-to-end headers: hop-by-hop ones go, as do those the `Connection` header names. */
export function endToEndHeaders(headers: IncomingHttpHeaders, keepUpgrade = false): OutgoingHttpHeaders {
  const named = new Set(
    String(headers['connection'] ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (keepUpgrade && (name === 'connection' || name === 'upgrade')) {
      out[name] = value;
      continue;
    }
    if (HOP_BY_HOP.has(name) || named.has(name)) continue;
    out[name] = value;
  }
  return out;
}

function headSize(firstLine: string, rawHeaders: string[]): number {
  let n = firstLine.length + 2 + 2;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) n += rawHeaders[i]!.length + 2 + rawHeaders[i + 1]!.length + 2;
  return n;
}

/** Envoy's body for a 503 it generates itself when the upstream breaks before the response headers. */
export const UPSTREAM_RESET_BODY = 'upstream connect error or disconnect/reset before headers';

/** Sends a small plain-text response (503 "no healthy upstream", ...) and reports its size. */
export function sendLocalResponse(res: ServerResponse, status: number, body: string): number {
  const bytes = Buffer.byteLength(body);
  if (!res.headersSent) res.writeHead(status, { 'content-type': 'text/plain', 'content-length': bytes });
  res.end(body);
  return bytes;
}

/**
 * Sends `req` on `upstream` (one request per upstream stream: `Connection: close` is sent and the stream
 * ends with the response) and streams the response to `res`. Never rejects.
 */
export function forwardRequest(req: IncomingMessage, res: ServerResponse, upstream: Duplex): Promise<ForwardOutcome> {
  return new Promise((resolve) => {
    let requestBytes = headSize(`${req.method} ${req.url} HTTP/1.1`, req.rawHeaders);
    let responseBytes = 0;
    let settled = false;
    let responded = false;
    const finish = (outcome: Omit<ForwardOutcome, 'requestBytes' | 'responseBytes'>): void => {
      if (settled) return;
      settled = true;
      resolve({ ...outcome, requestBytes, responseBytes });
    };
    const upReq = httpRequest({
      method: req.method,
      path: req.url,
      headers: endToEndHeaders(req.headers),
      createConnection: () => upstream as never,
    });
    upReq.on('error', (err) => {
      if (!responded) {
        responseBytes = sendLocalResponse(res, 503, UPSTREAM_RESET_BODY);
        finish({ status: 503, error: err, beforeResponse: true });
      } else {
        res.destroy(err);
        finish({ status: res.statusCode, error: err, beforeResponse: false });
      }
    });
    upReq.on('response', (upRes) => {
      responded = true;
      const status = upRes.statusCode ?? 502;
      responseBytes = headSize(`HTTP/1.1 ${status} ${upRes.statusMessage ?? ''}`, upRes.rawHeaders);
      res.writeHead(status, upRes.statusMessage, endToEndHeaders(upRes.headers));
      upRes.on('data', (chunk: Buffer) => {
        responseBytes += chunk.length;
        if (!res.write(chunk)) upRes.pause();
      });
      res.on('drain', () => upRes.resume());
      upRes.on('end', () => {
        res.end();
        finish({ status });
      });
      upRes.on('error', (err) => {
        res.destroy(err);
        finish({ status, error: err, beforeResponse: false });
      });
    });
    // The client went away mid-request: stop the upstream too.
    res.on('close', () => {
      if (!res.writableFinished) {
        upReq.destroy();
        finish({ status: responded ? res.statusCode : 0, error: new Error('downstream closed before the response completed'), beforeResponse: !responded });
      }
    });
    req.on('data', (chunk: Buffer) => {
      requestBytes += chunk.length;
      if (!upReq.write(chunk)) req.pause();
    });
    upReq.on('drain', () => req.resume());
    req.on('end', () => upReq.end());
  });
}

/**
 * An `Upgrade` request: forwards its head, and when the upstream answers 101 writes that head back and
 * splices the two sides as raw bytes (WebSocket, h2c, ...). Any other answer is relayed and the
 * connection closed. Resolves with the status once the tunnel (or the response) is over.
 */
export function forwardUpgrade(req: IncomingMessage, downstream: Duplex, head: Buffer, upstream: Duplex): Promise<ForwardOutcome> {
  return new Promise((resolve) => {
    const requestBytes = headSize(`${req.method} ${req.url} HTTP/1.1`, req.rawHeaders) + head.length;
    const upReq = httpRequest({
      method: req.method,
      path: req.url,
      headers: endToEndHeaders(req.headers, true),
      createConnection: () => upstream as never,
    });
    const rawHead = (res: IncomingMessage): string => {
      let text = `HTTP/1.1 ${res.statusCode} ${res.statusMessage ?? ''}\r\n`;
      for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) text += `${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}\r\n`;
      return text + '\r\n';
    };
    upReq.on('upgrade', (upRes, upSocket, upHead) => {
      const headText = rawHead(upRes);
      downstream.write(headText);
      if (upHead.length > 0) downstream.write(upHead);
      if (head.length > 0) upSocket.write(head);
      const stats = newConnectionStats();
      void splice(downstream, upSocket, stats).then((outcome) => {
        resolve({ status: 101, requestBytes: requestBytes + stats.received, responseBytes: headText.length + upHead.length + stats.sent, error: outcome.error });
      });
    });
    upReq.on('response', (upRes) => {
      // Not upgraded: relay the answer as it came and close, since the client expected a raw tunnel.
      const headText = rawHead(upRes);
      let bytes = headText.length;
      downstream.write(headText);
      upRes.on('data', (c: Buffer) => {
        bytes += c.length;
        downstream.write(c);
      });
      upRes.on('end', () => {
        downstream.end();
        resolve({ status: upRes.statusCode ?? 502, requestBytes, responseBytes: bytes });
      });
    });
    upReq.on('error', (err) => {
      const body = UPSTREAM_RESET_BODY;
      downstream.end(`HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
      resolve({ status: 503, requestBytes, responseBytes: body.length, error: err, beforeResponse: true });
    });
    upReq.end();
  });
}
