// The "what a user does" with Bookinfo in netns mode: the same sample manifests as local mode (plus a
// namespace label), an unmodified Debian psql in ratings-v2's pod reaching postgres by name, an unmodified
// curl in the curl pod fetching the product page by its cluster DNS name, each counted once by the mesh.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packageRoot } from '../../../src/config/paths.js';
import { eventually } from '../../support/mesh.js';
import { parsePrometheusText, total } from '../../support/prometheus-text.js';
import { netnsSkipReason, uniqueTestPrefix } from '../../support/netns.js';
import { parseTable, type CliMesh } from '../cli/cli-fixture.js';
import { downNetnsMesh, upNetnsMesh, type NetnsMesh } from './netns-mesh.js';

const skip = netnsSkipReason({ iptables: true, addon: true, commands: ['curl', 'psql', 'setpriv'] });

const MANIFESTS = [
  'samples/bookinfo/platform/local/bookinfo.yaml',
  'samples/bookinfo/platform/local/bookinfo-db.yaml',
  'samples/bookinfo/platform/local/bookinfo-ratings-v2.yaml',
  'samples/curl/curl.yaml',
];
/** productpage, details, ratings v1/v2, reviews v1-v3, postgres, curl. */
const PODS = 9;

describe('Bookinfo in netns mode', { skip, timeout: 240_000 }, () => {
  const prefix = uniqueTestPrefix();
  let netns: NetnsMesh | undefined;
  let mesh: CliMesh;

  /** A counter summed over both node proxies. */
  const counted = async (name: string, where: Record<string, string>) => {
    let n = 0;
    for (const k of [1, 2]) n += total(parsePrometheusText(await (await fetch(`http://127.${mesh.base}.0.${k}:15020/metrics`)).text()), name, where);
    return n;
  };

  before(async () => {
    netns = await upNetnsMesh(prefix);
    mesh = netns.mesh;
    for (const file of MANIFESTS.map((m) => join(packageRoot(), m))) {
      const r = await mesh.run(['apply', '-f', file]);
      assert.equal(r.code, 0, `${file}: ${r.stdout}${r.stderr}`);
    }
    let pods = '';
    await eventually(async () => {
      pods = (await mesh.run(['get', 'pods'])).stdout;
      const rows = parseTable(pods, ['NAME', 'READY', 'STATUS']);
      return rows.length === PODS && rows.every((r) => r['READY'] === '1/1') ? rows : undefined;
    }, 150_000, `${PODS} Bookinfo pods Ready`).catch((err: Error) => {
      throw new Error(`${err.message}\n${pods}`);
    });
  });

  after(() => downNetnsMesh(netns));

  it('an unmodified psql in ratings-v2\'s pod reaches postgres by name, counted once by the source proxy', async () => {
    const where = { reporter: 'source', source_workload: 'ratings-v2', destination_service: 'postgres.default.svc.cluster.local', connection_security_policy: 'unknown' };
    const dstWhere = { ...where, reporter: 'destination', connection_security_policy: 'mutual_tls' };
    const before = await counted('istio_tcp_connections_closed_total', where);
    const beforeDst = await counted('istio_tcp_connections_closed_total', dstWhere);
    const r = await mesh.run(['exec', 'deploy/ratings-v2', '--', 'psql', '-h', 'postgres', '-U', 'postgres', '-c', 'select 1']);
    assert.deepEqual([r.code, r.stdout], [0, ' ?column? \n----------\n        1\n(1 row)\n\n'], r.stderr);
    await eventually(async () => (await counted('istio_tcp_connections_closed_total', where)) === before + 1, 30_000, 'the psql connection counted');
    await eventually(async () => (await counted('istio_tcp_connections_closed_total', dstWhere)) === beforeDst + 1, 30_000, 'the psql connection counted by the destination');
    assert.equal(await counted('istio_tcp_connections_closed_total', where), before + 1);
  });

  it('an unmodified curl fetches the product page by its cluster DNS name through the mesh', async () => {
    const r = await mesh.run(['exec', 'deploy/curl', '--', 'curl', '-sS', '--max-time', '30', 'http://productpage.default.svc.cluster.local:9080/productpage']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /<title>Simple Bookstore App<\/title>/);
    assert.match(r.stdout, /The Comedy of Errors/);
    const where = { reporter: 'source', source_workload: 'curl', destination_service: 'productpage.default.svc.cluster.local', destination_workload: 'productpage-v1' };
    await eventually(async () => (await counted('istio_tcp_connections_closed_total', where)) === 1, 30_000, 'the curl connection counted');
    assert.equal(await counted('istio_tcp_connections_opened_total', where), 1);
  });
});
