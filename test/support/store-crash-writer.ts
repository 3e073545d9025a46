// Child process of the store crash test: applies ever-changing big resources until it is SIGKILLed.
import { ResourceStore } from '../../src/controlplane/store/index.js';
import { CRASH_NAMES, crashResource } from './store-crash-payload.js';

/** Bounds in case the parent never kills us: stop after this many applies or this long. */
const MAX_APPLIES = 5000;
const MAX_RUN_MS = 30_000;

async function main(stateDir: string, round: number): Promise<void> {
  const store = await ResourceStore.open(stateDir);
  const started = Date.now();
  for (let seq = 1; seq <= MAX_APPLIES && Date.now() - started < MAX_RUN_MS; seq++) {
    await store.apply(CRASH_NAMES.map((name, i) => crashResource(name, round, seq * 10 + i)));
    if (seq === 1) process.send!({ ready: true, resourceVersion: store.resourceVersion });
  }
}

const [stateDir, round] = process.argv.slice(2);
// `node --test dist/test/` also runs every file under test/ on its own: without a parent there is nothing to do.
if (stateDir && round && process.send) {
  main(stateDir, Number(round)).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
