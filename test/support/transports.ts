// Runs one test body once per HBONE transport (our HTTP/2 layer and node:http2), named by transport.
import { test, type TestContext } from 'node:test';
import { HBONE_TRANSPORTS, type HboneTransport } from '../../src/dataplane/hbone/transport.js';

export type { HboneTransport };

/** `test(name [transport], options, fn)` for every transport. */
export function eachTransport(
  name: string,
  options: { timeout?: number },
  fn: (transport: HboneTransport, t: TestContext) => Promise<void>,
): void {
  for (const transport of HBONE_TRANSPORTS) test(`${name} [${transport}]`, options, (t) => fn(transport, t));
}

/** The node proxy flags that select `transport` (startMesh's extraZtunnelArgs). */
export function transportArgs(transport: HboneTransport): string[] {
  return ['--hbone-transport', transport];
}
