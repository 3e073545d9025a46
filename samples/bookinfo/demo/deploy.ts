// Deploys what the demo shows into a running mesh: Bookinfo, the curl pod, the postgres database,
// ratings v2, a waypoint for `default` and the routes reviews → v3, ratings → v2 (every page's stars then
// come from the database). The demo and the Bookinfo integration tests deploy through this one function.
import { join } from 'node:path';
import { packageRoot } from '../../../src/config/paths.js';
import type { MeshCli } from './mesh-cli.js';

/** The Deployments to wait for; the waypoint's pod too, since it carries the routed requests. */
export const DEMO_DEPLOYMENTS = ['details-v1', 'ratings-v1', 'ratings-v2', 'reviews-v1', 'reviews-v2', 'reviews-v3', 'productpage-v1', 'postgres-v1', 'curl', 'waypoint'];
/** PGlite and ten Node processes starting on two busy cores take a while. */
export const PODS_READY_TIMEOUT_MS = 180_000;

function indent(text: string): string {
  return text.replace(/^/gm, '    ').trimEnd();
}

/** netns mode enrolls pods by Istio's label; the namespace gets it before any pod starts. */
export const NETNS_NAMESPACE_MANIFEST = 'bookinfo/platform/netns/namespace-ambient.yaml';

export async function deployBookinfo(cli: MeshCli, say: (line: string) => void, opts: { netns?: boolean } = {}): Promise<void> {
  const samples = join(packageRoot(), 'samples');
  if (opts.netns) say(indent(await cli.must(['apply', '-f', join(samples, NETNS_NAMESPACE_MANIFEST)])));
  // The database before ratings v2: a pod gets POSTGRES_SERVICE_HOST/_PORT only for Services that exist
  // when it starts (Kubernetes' env-var discovery; Istio's sample uses DNS instead).
  for (const file of ['bookinfo/platform/local/bookinfo.yaml', 'curl/curl.yaml', 'bookinfo/platform/local/bookinfo-db.yaml']) {
    say(indent(await cli.must(['apply', '-f', join(samples, file)])));
  }
  await cli.waitForPods(['postgres-v1'], PODS_READY_TIMEOUT_MS, say);
  say(indent(await cli.must(['apply', '-f', join(samples, 'bookinfo/platform/local/bookinfo-ratings-v2.yaml')])));
  say(indent(await cli.must(['waypoint', 'apply', '-n', 'default'])));
  for (const file of ['bookinfo/networking/destination-rule-all.yaml', 'bookinfo/networking/virtual-service-ratings-db.yaml']) {
    say(indent(await cli.must(['apply', '-f', join(samples, file)])));
  }
  await cli.waitForPods(DEMO_DEPLOYMENTS, PODS_READY_TIMEOUT_MS, say);
}
