// The scrape figure's control: an HTTP server in its own process that answers every GET with the body of a
// proxy's own /metrics, so a run scraping it costs the scraper (and the box) what scraping a proxy costs,
// while the proxies forward untouched. Scraped proxies ÷ scraped stand-in is then what serving the
// scrapes costs the proxies' forwarding.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

function main(): void {
  const [host, bodyFile] = process.argv.slice(2);
  if (!host || !bodyFile) {
    process.stderr.write('usage: metrics-stand-in.js <host> <body-file>\n');
    process.exit(2);
  }
  const body = readFileSync(bodyFile);
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': body.length });
    res.end(body);
  });
  server.listen(0, host, () => process.stdout.write(`listening ${host}:${(server.address() as AddressInfo).port}\n`));
  process.on('SIGTERM', () => process.exit(0));
}

main();
