// Start-up clean-up of the data directory: an atomic write that was interrupted (a kill
// or a power cut between the temp file and the rename) leaves `<file>.<n>` behind, where
// `<n>` is write-file-atomic's temp suffix (a decimal unsigned 32-bit number). Only that
// exact pattern, for Wisp's own data file names, is removed; nothing else is touched.
import { readdir, unlink } from 'node:fs/promises';
import path from 'node:path';

/** write-file-atomic (lib/index.js, getTmpname): `${filename}.${sha1(...).readUInt32BE(0)}`. */
const TEMP_SUFFIX = /^\.(\d{1,10})$/;
const MAX_UINT32 = 0xffff_ffff;

export function isLeftoverTemp(entry: string, ownFiles: readonly string[]): boolean {
  const own = ownFiles.find((file) => entry.startsWith(`${file}.`));
  if (!own) return false;
  const match = TEMP_SUFFIX.exec(entry.slice(own.length));
  if (!match) return false;
  return Number(match[1]) <= MAX_UINT32;
}

/** Removes leftover temp files of `ownFiles` in `dir`; returns the names removed. */
export async function removeLeftoverTemps(dir: string, ownFiles: readonly string[]): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const leftovers = entries.filter((entry) => entry.isFile() && isLeftoverTemp(entry.name, ownFiles)).map((entry) => entry.name);
  for (const name of leftovers) {
    try {
      await unlink(path.join(dir, name));
    } catch (error) {
      // Gone already (another clean-up) is fine; anything else is not worth stopping the start.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') console.error(`wisp: could not remove ${path.join(dir, name)}: ${(error as Error).message}`);
    }
  }
  return leftovers;
}
