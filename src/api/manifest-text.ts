// Turns the bytes of a manifest (a file, stdin, a request body) into text, refusing what is not text:
// YAML and JSON are UTF-8 here, and a NUL byte or an invalid UTF-8 sequence means a binary file.
import { L4meshError } from '../errors/index.js';

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** `source` names where the bytes came from in the error, e.g. the file's path or "request body". */
export function decodeManifestText(bytes: Uint8Array, source: string): string {
  const nul = bytes.indexOf(0);
  if (nul !== -1) {
    throw new L4meshError(
      'L4MESH_ERR_NOT_TEXT',
      `${source}: is not a YAML or JSON manifest: it holds a NUL byte at offset ${nul} (a binary file?)`,
    );
  }
  try {
    return decoder.decode(bytes);
  } catch {
    throw new L4meshError(
      'L4MESH_ERR_NOT_TEXT',
      `${source}: is not a YAML or JSON manifest: it is not UTF-8 text at byte ${invalidUtf8Offset(bytes)} (a binary file, or another encoding?)`,
    );
  }
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence. */
function invalidUtf8Offset(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const length = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (length === 0) return i;
    if (length > 1) {
      const end = i + length;
      if (end > bytes.length) return i;
      try {
        decoder.decode(bytes.subarray(i, end));
      } catch {
        return i;
      }
    }
    i += length;
  }
  return bytes.length;
}
