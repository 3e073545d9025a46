// Builds a two-node, two-pod netns topology under the prefix in argv[2], prints "ready", and waits to be
// killed: the crash half of the topology cleanup test.
import { NetnsTopology } from '../../src/dataplane/capture/netns/topology.js';

/** The parent kills this child long before; the bound only keeps an orphan from living forever. */
const ORPHAN_DEADLINE_MS = 120_000;

const topology = new NetnsTopology(process.argv[2]);
await topology.createFabric();
const n1 = await topology.addNode('n1', 1);
await topology.addNode('n2', 2, [n1]);
await topology.addPod({ node: 'n1', nodeIndex: 1, namespace: 'default', pod: 'a', host: 2 });
await topology.addPod({ node: 'n2', nodeIndex: 2, namespace: 'default', pod: 'b', host: 2 });
process.stdout.write('ready\n');
setTimeout(() => process.exit(1), ORPHAN_DEADLINE_MS);
