// The issue's "what a user does" with Bookinfo in netns mode: the same sample manifests as local mode (plus a
// namespace label), an unmodified Debian psql in ratings-v2's pod reaching postgres by name, an unmodified
// curl in the curl pod fetching the product page by its cluster DNS name, each counted once by the mesh.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packageRoot } from '../../../src/config/paths.js';
import { eventually } from '../../support/mesh.js';
import { parsePrometheusText, total } from '../../support/prometheus-text.js';
import { inNetns, netnsSkipReason, uniqueTestPrefix } from '../../support/netns.js';
import { parseTable, type CliMesh } from '../cli/cli-fixture.js';
import { downNetnsMesh, upNetnsMesh, type NetnsMesh } from './netns-mesh.js';

const skip = netnsSkipReason({ iptables: true, addon: true, commands: ['curl', 'psql', 'setpriv'] });

const MANIFESTS = [
  'samples/bookinfo/platform/local/bookinfo.yaml',
  'samples/bookinfo/platform/local/bookinfo-db.yaml',
  'samples/bookinfo/platform/local/bookinfo-ratings-v2.yaml',
  'samples/curl/curl.yaml',
];
/** An unmodified curl in a pod that opted out of the mesh: kube-proxy and cluster DNS are all it has. */
const PLAIN_CURL = `apiVersion: apps/v1
kind: Deployment
metadata: {name: plain-curl}
spec:
  selector: {matchLabels: {app: plain-curl}}
  template:
    metadata: {labels: {app: plain-curl, istio.io/dataplane-mode: none}}
    spec:
      containers: [{name: curl, image: local/curl, command: [sleep, '3600']}]
`;
/** productpage, details, ratings v1/v2, reviews v1-v3, postgres, curl, plain-curl. */
const PODS = 10;

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
    await writeFile(join(mesh.manifestDir, 'plain-curl.yaml'), PLAIN_CURL);
    for (const file of [...MANIFESTS.map((m) => join(packageRoot(), m)), join(mesh.manifestDir, 'plain-curl.yaml')]) {
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

  // In a real cluster kube-proxy and the cluster DNS serve every pod; the mesh only captures enrolled ones.
  const CURL_STATUS = ['-sS', '--max-time', '30', '-o', '/dev/null', '-w', '%{http_code} %{size_download}'];
  const plainCurlCounted = () => counted('istio_tcp_connections_opened_total', { reporter: 'source', source_workload: 'plain-curl' });
  /** What productpage's proxy records of plain-curl's connections: plaintext on the inbound capture. */
  const plaintextWhere = { reporter: 'destination', source_workload: 'plain-curl', destination_workload: 'productpage-v1', connection_security_policy: 'none' };
  const plaintextInto = async () => [await counted('istio_tcp_connections_opened_total', plaintextWhere), await counted('istio_tcp_connections_closed_total', plaintextWhere)];

  it('a pod out of the mesh resolves productpage and reaches it by name and by VIP in plain TCP, not counted as a mesh source', async () => {
    const meshed = await mesh.run(['exec', 'deploy/curl', '--', 'curl', ...CURL_STATUS, 'http://productpage:9080/']);
    assert.equal(meshed.code, 0, meshed.stderr);
    const [status, size] = meshed.stdout.split(' ');
    assert.equal(status, '200');
    const plaintextBefore = await plaintextInto();
    const byName = await mesh.run(['exec', 'deploy/plain-curl', '--', 'curl', ...CURL_STATUS, 'http://productpage:9080/']);
    assert.deepEqual([byName.code, byName.stdout, byName.stderr], [0, `200 ${size}`, '']);
    const byVip = await mesh.run(['exec', 'deploy/plain-curl', '--', 'sh', '-c', `echo "$PRODUCTPAGE_SERVICE_HOST"; curl ${CURL_STATUS.map((a) => `'${a}'`).join(' ')} "http://$PRODUCTPAGE_SERVICE_HOST:$PRODUCTPAGE_SERVICE_PORT/"`]);
    assert.equal(byVip.code, 0, byVip.stderr);
    const [vip, result] = byVip.stdout.split('\n');
    assert.match(vip!, /^198\.19\.\d+\.\d+$/);
    assert.equal(result, `200 ${size}`);
    // The destination's proxy sees both as plaintext arriving on the inbound capture, as ztunnel's passthrough does;
    // no proxy counts them as a source of the mesh.
    const expected = JSON.stringify(plaintextBefore.map((n) => n + 2));
    await eventually(async () => JSON.stringify(await plaintextInto()) === expected, 30_000, 'both plaintext connections opened and closed at the destination');
    assert.equal(await plainCurlCounted(), 0);
  });

  it('each node namespace translates a VIP to exactly the service\'s ready pods, written as they arrived', async () => {
    // Each node proxy started before any pod existed: these rules exist only because they followed the updates.
    const env = await mesh.run(['exec', 'deploy/plain-curl', '--', 'sh', '-c', 'echo "$REVIEWS_SERVICE_HOST $PRODUCTPAGE_SERVICE_HOST"']);
    const [reviewsVip, productpageVip] = env.stdout.trim().split(' ');
    const rows = parseTable((await mesh.run(['get', 'pods', '-o', 'wide'])).stdout, ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE']);
    const podIp = (prefixOfName: string) => rows.find((r) => r['NAME']!.startsWith(prefixOfName))!['IP'];
    for (const node of ['node-1', 'node-2']) {
      const nat = inNetns(`${prefix}-${node}`, 'iptables-save', '-t', 'nat');
      const targets = (vip: string) => nat.split('\n').filter((l) => l.startsWith(`-A L4M_SERVICES -d ${vip}/32 `)).map((l) => / --to-destination (\S+)$/.exec(l)?.[1]);
      assert.deepEqual(targets(reviewsVip!), ['reviews-v1-', 'reviews-v2-', 'reviews-v3-'].map((p) => `${podIp(p)}:9080`), nat);
      assert.deepEqual(targets(productpageVip!), [`${podIp('productpage-v1-')}:9080`], nat);
      assert.match(nat, /^-A PREROUTING -d 198\.19\.0\.0\/16 -p tcp -j L4M_SERVICES$/m);
    }
  });

  it('STRICT refuses the out-of-mesh pod\'s plaintext to productpage with a reset', async () => {
    await writeFile(join(mesh.manifestDir, 'strict.yaml'), 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: strict}\nspec: {mtls: {mode: STRICT}}\n');
    const applied = await mesh.run(['apply', '-f', join(mesh.manifestDir, 'strict.yaml')]);
    assert.equal(applied.code, 0, applied.stderr);
    for (const url of ['http://productpage:9080/', 'http://productpage.default.svc.cluster.local:9080/', 'http://productpage:9080/']) {
      const refused = await eventually(async () => {
        const r = await mesh.run(['exec', 'deploy/plain-curl', '--', 'curl', ...CURL_STATUS, url]);
        return r.code !== 0 ? r : undefined;
      }, 60_000, `STRICT pushed and ${url} refused`);
      // The proxy resets the connection as soon as it accepts it: curl says 56 ("Recv failure: Connection
      // reset by peer") when it saw the connect complete first, 7 ("Couldn't connect") when the reset came first.
      assert.deepEqual([[7, 56].includes(refused.code ?? -1), refused.stdout], [true, '000 0'], `exit ${refused.code}: ${refused.stderr}`);
      assert.match(refused.stderr, refused.code === 56 ? /Recv failure: Connection reset by peer/ : /Couldn't connect to server/);
    }
    // A client that waits without writing sees the reset one way only.
    const waiter = 'const s = require("net").connect(Number(process.argv[2]), process.argv[1]); s.setTimeout(20000, () => process.exit(4)); s.on("error", (e) => process.stdout.write(String(e.code))); s.on("end", () => process.stdout.write("end"));';
    const reset = await mesh.run(['exec', 'deploy/plain-curl', '--', 'sh', '-c', `node -e '${waiter}' "$PRODUCTPAGE_SERVICE_HOST" "$PRODUCTPAGE_SERVICE_PORT"`]);
    assert.deepEqual([reset.code, reset.stdout], [0, 'ECONNRESET'], reset.stderr);
    assert.equal(await plainCurlCounted(), 0);
    // Mesh traffic is mutual TLS and still flows.
    const meshed = await mesh.run(['exec', 'deploy/curl', '--', 'curl', ...CURL_STATUS, 'http://productpage:9080/']);
    assert.deepEqual([meshed.code, meshed.stdout.split(' ')[0]], [0, '200'], meshed.stderr);
  });
});
