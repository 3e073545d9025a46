// The l4mesh sidecar scenario (TLS + istio-peer-exchange on :15006). Measured only once `l4mesh sidecar`
// exists in this tree; until then the table says why it is missing.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src/config/paths.js';
import type { Scenario } from './scenarios.js';

const available = existsSync(join(packageRoot(), 'src', 'cli', 'sidecar.ts'));

export const sidecar: Scenario = {
  name: 'sidecar',
  unavailable: available ? 'not measured: the benchmark does not drive `l4mesh sidecar` yet' : 'not measured: sidecar not available yet',
  async start() {
    throw new Error(this.unavailable);
  },
};
