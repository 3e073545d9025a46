// `npm run demo`: the Istio task "Collecting Metrics for TCP Services" in one command — starts a local
// mesh, deploys Bookinfo with ratings v2 reading PostgreSQL behind a waypoint, sends traffic, waits for the
// database's istio_tcp_* series, prints them and the URLs, keeps light traffic going, then shuts down.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from '../../../src/config/paths.js';
import { controlPlaneUrl, nodeAddress, readLayout, resolveStateDir } from '../../../src/localrun/layout.js';
import { startConsole, type DemoConsole } from './console.js';
import { dialFromPod, dialHost, startForwarder, type Dial, type Forwarder } from './forwarder.js';
import { deployBookinfo } from './deploy.js';
import { MeshCli } from './mesh-cli.js';
import { hasRatings, pageSummary } from './page-ratings.js';
import { databaseSeries, formatSeries } from './tcp-series.js';

const HELP = `usage: npm run demo -- [--mode local|netns] [--duration 60s] [--port 9080] [--no-prometheus] [--console-port 20001] [--keep] [--state-dir DIR]

Starts a local mesh (state in $L4MESH_STATE_DIR, else ~/.local/state/l4mesh, as every l4mesh command; address block $L4MESH_LOCAL_NET), deploys
Bookinfo with ratings v2 and the PostgreSQL database behind a waypoint, sends traffic to productpage,
prints the database's istio_tcp_* series and the URLs, and keeps sending light traffic until Ctrl-C
(or for --duration). Then "l4mesh down" — unless the mesh was already running before, or --keep.

  --mode netns      run it in netns mode (Linux, root): pods are network namespaces, their traffic
                    captured in-pod, as in Istio ambient (l4mesh up --mode netns; default local)
  --netns-prefix P  netns mode: name the namespaces P-... (l4mesh up --netns-prefix; default l4m)
  --duration D      stop after D (e.g. 90s, 5m, 500ms); default: run until Ctrl-C
  --port N          host port for productpage (default 9080; a free one if taken; 0 = any)
  --no-prometheus   do not start Prometheus (l4mesh dashboard prometheus) even when installed
  --console-port N  port of the mesh console (l4mesh dashboard; default 20001, 0 = any); it stops with the demo
  --keep            leave the mesh running at the end
`;

const DATABASE_SERVICE = 'postgres.default.svc.cluster.local';
const OPENED = 'istio_tcp_connections_opened_total';
const CLOSED = 'istio_tcp_connections_closed_total';
const SERIES_TIMEOUT_MS = 60_000;
/** "Light traffic": one page view every two seconds keeps the counters moving without loading the machine. */
const TRAFFIC_INTERVAL_MS = 2_000;
const DEFAULT_HOST_PORT = 9080;

function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`--duration ${text}: expected a number with ms, s, m or h (e.g. 60s)`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[m[2] ?? 's']!;
  return Number(m[1]) * unit;
}

function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

async function getPage(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.text() };
}

function hasPrometheus(): boolean {
  try {
    return execFileSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' }).trim() !== '';
  } catch {
    return false;
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { mode: { type: 'string' }, 'netns-prefix': { type: 'string' }, duration: { type: 'string' }, port: { type: 'string' }, 'no-prometheus': { type: 'boolean' }, 'console-port': { type: 'string' }, keep: { type: 'boolean' }, 'state-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    say(HELP);
    return 0;
  }
  const durationMs = values.duration ? parseDuration(values.duration) : undefined;
  if (values.mode !== undefined && values.mode !== 'local' && values.mode !== 'netns') throw new Error(`--mode ${values.mode}: expected local or netns`);
  const netns = values.mode === 'netns';
  const stateDir = resolveStateDir(values['state-dir']);
  const cli = new MeshCli({ ...process.env, L4MESH_STATE_DIR: stateDir });

  let forwarder: Forwarder | undefined;
  let meshConsole: DemoConsole | undefined;
  let reused = false;
  let stopping = false;
  let wake: () => void = () => {};
  // From the start: Ctrl-C while the mesh comes up or Bookinfo deploys stops the running command and goes
  // straight to `l4mesh down` (in netns mode a half-built mesh would leave namespaces behind).
  const onSignal = () => {
    stopping = true;
    cli.stop();
    wake();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    say(`==> l4mesh up (state ${stateDir})`);
    const up = await cli.must(['up', ...(netns ? ['--mode', 'netns'] : []), ...(values['netns-prefix'] ? ['--netns-prefix', values['netns-prefix']] : [])]);
    reused = /already up/.test(up);
    say(reused ? '    a mesh is already running there: reusing it (it stays up at the end)' : up.replace(/^/gm, '    ').trimEnd());

    say('==> deploying Bookinfo, the postgres database, ratings v2, a waypoint and the routing rules');
    await deployBookinfo(cli, say, { netns });

    // The curl pod's view of productpage: its outbound listener (local mode) or the service VIP (netns mode).
    const host = await cli.podEnv('curl', 'PRODUCTPAGE_SERVICE_HOST');
    const port = Number(await cli.podEnv('curl', 'PRODUCTPAGE_SERVICE_PORT'));
    let dial: Dial = dialHost(host, port);
    if (netns) {
      const pod = await cli.podNetwork('curl');
      dial = dialFromPod(pod.netns, pod.ip, host, port);
    }
    forwarder = await startForwarder('127.0.0.1', values.port !== undefined ? Number(values.port) : DEFAULT_HOST_PORT, dial);
    const pageUrl = `${forwarder.url}/productpage`;

    const layout = readLayout(stateDir);
    const metricsUrls = Array.from({ length: layout.nodes }, (_, i) => `http://${nodeAddress(layout, i + 1)}:15020/stats/prometheus`);
    say(`==> sending traffic to ${pageUrl} until the database's TCP metrics appear`);
    const deadline = Date.now() + SERIES_TIMEOUT_MS;
    let series = await databaseSeries(metricsUrls, DATABASE_SERVICE);
    let lastPage = { status: 0, body: '' };
    const has = (name: string) => series.some((s) => s.name === name);
    while (!(has(OPENED) && has(CLOSED)) && Date.now() < deadline && !stopping) {
      // Pages until ratings opened a database connection; then only wait: its pool closes an idle one after a second.
      if (!has(OPENED)) lastPage = await getPage(pageUrl).catch((err: Error) => ({ status: 0, body: err.message }));
      await new Promise((r) => setTimeout(r, 500));
      series = await databaseSeries(metricsUrls, DATABASE_SERVICE);
    }
    if (!(has(OPENED) && has(CLOSED))) {
      if (stopping) return 130;
      const missing = [OPENED, CLOSED].filter((n) => !has(n)).join(' and ');
      throw new Error(`no ${missing}{destination_service="${DATABASE_SERVICE}"} on ${metricsUrls.join(', ')} after ${SERIES_TIMEOUT_MS / 1000}s; last page: HTTP ${lastPage.status}; check: l4mesh logs deploy/ratings-v2, l4mesh logs ztunnel`);
    }

    say('');
    say(`==> productpage: ${pageSummary(lastPage.status === 200 ? lastPage.body : (await getPage(pageUrl)).body)}`);
    say(`==> TCP metrics for the ratings -> postgres traffic (destination_service="${DATABASE_SERVICE}"):`);
    say(formatSeries(series));
    say('');
    say('    full series as the node proxies expose them:');
    for (const s of series.filter((x) => x.name === OPENED)) say(`    ${s.source}\n      ${s.line}`);

    let prometheus = '';
    if (!values['no-prometheus'] && hasPrometheus()) {
      const r = await cli.run(['dashboard', 'prometheus']);
      const m = /http:\/\/[\d.]+:\d+/.exec(r.stdout);
      prometheus = r.code === 0 && m ? m[0] : '';
      if (r.code !== 0) say(`    (Prometheus did not start: ${(r.stderr || r.stdout).trim()})`);
    }
    meshConsole = await startConsole(stateDir, values['console-port']);
    const query = encodeURIComponent(`${OPENED}{destination_service="${DATABASE_SERVICE}"}`);
    say('');
    say('==> Bookinfo is running in the mesh:');
    say(`    productpage        ${pageUrl}   (forwarded into the mesh as the curl workload)`);
    if (netns) say(`    from a workload    l4mesh exec deploy/curl -- curl -s http://productpage:9080/productpage   (unmodified curl, captured in its pod)`);
    else say(`    from a workload    l4mesh exec deploy/curl -- sh -c 'curl -s http://$PRODUCTPAGE_SERVICE_HOST:$PRODUCTPAGE_SERVICE_PORT/productpage'`);
    for (const u of metricsUrls) say(`    node metrics       ${u}`);
    say(`    console            ${meshConsole.url ?? `not started: ${meshConsole.output || 'no URL printed'}`}`);
    say(`    scrape targets     ${controlPlaneUrl(layout)}/debug/prometheus_sd`);
    if (prometheus) say(`    Prometheus         ${prometheus}/graph?g0.expr=${query}`);
    else if (values['no-prometheus']) say('    Prometheus         not started (--no-prometheus); start it with: l4mesh dashboard prometheus');
    else say('    Prometheus         not installed (apt-get install -y prometheus, then: l4mesh dashboard prometheus)');
    say(`    state and logs     ${stateDir} (export L4MESH_STATE_DIR=${stateDir} to use l4mesh on this mesh)`);
    say('');
    say(durationMs !== undefined ? `==> sending light traffic for ${values.duration}` : '==> sending light traffic; press Ctrl-C to stop');

    const end = durationMs !== undefined ? Date.now() + durationMs : Infinity;
    let views = 0;
    let failures = 0;
    while (!stopping && Date.now() < end) {
      const page = await getPage(pageUrl).catch(() => ({ status: 0, body: '' }));
      // Every page should show stars from the database (reviews v3 → ratings v2): one without them failed too.
      if (page.status === 200 && hasRatings(page.body)) views++;
      else failures++;
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(0, Math.min(TRAFFIC_INTERVAL_MS, end - Date.now())));
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
    const opened = (await databaseSeries(metricsUrls, DATABASE_SERVICE)).filter((s) => s.name === OPENED && s.labels['reporter'] === 'destination');
    say(`==> ${views} page views with ratings (${failures} failed: an error or no ratings); connections opened to postgres (reporter=destination): ${opened.reduce((n, s) => n + s.value, 0)}`);
    return failures === 0 ? 0 : 1;
  } catch (err) {
    if (stopping) return 130;
    throw err;
  } finally {
    meshConsole?.close();
    await forwarder?.close();
    if (reused || values.keep) {
      say(`==> leaving the mesh running (stop it with: L4MESH_STATE_DIR=${stateDir} bin/l4mesh down)`);
    } else {
      say('==> l4mesh down');
      const down = await new MeshCli({ ...process.env, L4MESH_STATE_DIR: stateDir }).run(['down']);
      say(down.stdout.replace(/^/gm, '    ').trimEnd());
      if (down.code !== 0) process.stderr.write(down.stderr);
    }
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`demo: ${err.message}\n`);
    process.exit(1);
  },
);
