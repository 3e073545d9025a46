// Stable outbound addresses for local mode: each local workload gets a block of loopback addresses,
// one address per service it may reach, so the listener an app dials names both ends of the flow.
// Allocations are persisted: a running workload keeps the env vars it was started with.
import { mkdir, readFile, rename, writeFile, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { L4meshError } from '../../errors/index.js';

/** A /24 per workload: 254 usable addresses, one per reachable service. */
const BLOCK_SIZE = 256;

interface BlockFile {
  blocks: Record<string, { block: number; services: Record<string, number> }>;
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}
function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

export class AddressBlocks {
  private data: BlockFile = { blocks: {} };
  private readonly base: number;
  private readonly blocks: number;
  private dirty = false;

  private constructor(range: string, private readonly file: string | undefined) {
    const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(range);
    if (!m || Number(m[2]) > 24) throw new L4meshError('L4MESH_ERR_CONFIG', `capture range "${range}" must be an IPv4 CIDR of at least /24`);
    this.base = ipToInt(m[1]!);
    this.blocks = 2 ** (24 - Number(m[2]));
  }

  static async open(range: string, file?: string): Promise<AddressBlocks> {
    const blocks = new AddressBlocks(range, file);
    if (file) {
      try {
        blocks.data = JSON.parse(await readFile(file, 'utf8')) as BlockFile;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          throw new L4meshError('L4MESH_ERR_STORE', `cannot read capture allocations ${file}: ${(err as Error).message}`);
        }
      }
    }
    return blocks;
  }

  /** The listen address for (workload, service); allocates and remembers on first use. */
  addressFor(workloadUid: string, serviceKey: string): string {
    let entry = this.data.blocks[workloadUid];
    if (!entry) {
      const used = new Set(Object.values(this.data.blocks).map((b) => b.block));
      let block = 0;
      while (used.has(block)) block++;
      if (block >= this.blocks) throw new L4meshError('L4MESH_ERR_CONFIG', `capture range exhausted: more than ${this.blocks} local workloads`);
      entry = { block, services: {} };
      this.data.blocks[workloadUid] = entry;
      this.dirty = true;
    }
    let index = entry.services[serviceKey];
    if (index === undefined) {
      const used = new Set(Object.values(entry.services));
      index = 1; // .0 is skipped: it reads as a network address
      while (used.has(index)) index++;
      if (index >= BLOCK_SIZE - 1) throw new L4meshError('L4MESH_ERR_CONFIG', `workload ${workloadUid} reaches more than ${BLOCK_SIZE - 2} services`);
      entry.services[serviceKey] = index;
      this.dirty = true;
    }
    return intToIp(this.base + entry.block * BLOCK_SIZE + index);
  }

  /** Forgets workloads that left this node, so their block can be reused. */
  retain(workloadUids: Set<string>): void {
    for (const uid of Object.keys(this.data.blocks)) {
      if (!workloadUids.has(uid)) {
        delete this.data.blocks[uid];
        this.dirty = true;
      }
    }
  }

  async save(): Promise<void> {
    if (!this.file || !this.dirty) return;
    this.dirty = false;
    await mkdir(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp-${process.pid}`;
    await writeFile(tmp, JSON.stringify(this.data, null, 2) + '\n');
    const fh = await open(tmp, 'r');
    await fh.sync();
    await fh.close();
    await rename(tmp, this.file);
  }
}
