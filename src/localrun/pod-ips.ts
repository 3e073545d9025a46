// Pod IP allocation from the layout's pod ranges, persisted in <state>/runtime/pod-ips.json so a pod keeps
// its IP across runtime restarts and an IP returns to the pool when its pod is deleted.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { L4meshError } from '../errors/index.js';
import { podIpsFile, runtimeDir } from '../config/state-layout.js';
import { intToIp, ipToInt } from './layout.js';

export class PodIpAllocator {
  private readonly byPod: Map<string, string>;
  private readonly file: string;

  constructor(
    private readonly stateDir: string,
    private readonly ranges: Array<[string, string]>,
  ) {
    this.file = podIpsFile(stateDir);
    let saved: Record<string, string> = {};
    try {
      saved = JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, string>;
    } catch {
      // First run: nothing allocated yet.
    }
    this.byPod = new Map(Object.entries(saved));
  }

  /**
   * The pod's IP, allocating the lowest free one on first use. `key` is `<namespace>/<pod>`; `ranges`
   * narrows the choice (netns mode: the pod's node's subnet).
   */
  allocate(key: string, ranges: Array<[string, string]> = this.ranges): string {
    const have = this.byPod.get(key);
    if (have) return have;
    const used = new Set(this.byPod.values());
    for (const [first, last] of ranges) {
      for (let n = ipToInt(first); n <= ipToInt(last); n++) {
        const ip = intToIp(n);
        // .0 and .255 look like network/broadcast addresses to people reading tables; skip them.
        if (n % 256 === 0 || n % 256 === 255 || used.has(ip)) continue;
        this.byPod.set(key, ip);
        this.save();
        return ip;
      }
    }
    throw new L4meshError('L4MESH_ERR_CONFIG', `no free pod IP left in ${ranges.map((r) => r.join('-')).join(', ')}; delete Deployments or scale them down`);
  }

  /** Keeps an IP a Pod resource already carries (adoption after a restart). */
  claim(key: string, ip: string): void {
    if (this.byPod.get(key) === ip) return;
    this.byPod.set(key, ip);
    this.save();
  }

  release(key: string): void {
    if (this.byPod.delete(key)) this.save();
  }

  private save(): void {
    mkdirSync(runtimeDir(this.stateDir), { recursive: true });
    writeFileSync(`${this.file}.tmp`, JSON.stringify(Object.fromEntries(this.byPod), null, 2) + '\n');
    renameSync(`${this.file}.tmp`, this.file);
  }
}
