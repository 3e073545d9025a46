// Where the package lives on disk, so assets such as .proto files are found from src/ and dist/ alike.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | undefined;

export function packageRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src', 'proto'))) {
      cachedRoot = dir;
      return dir;
    }
    dir = dirname(dir);
  }
  throw new Error(`cannot find the l4mesh package root above ${fileURLToPath(import.meta.url)}`);
}

export function protoDir(): string {
  return join(packageRoot(), 'src', 'proto');
}
