// Exit 0 when node_modules holds exactly the packages package-lock.json asks for, 1 when
// `npm ci` is needed. Compares the lockfile with the one npm keeps of what it installed
// (node_modules/.package-lock.json) by content, not by time stamp: a checkout or a new
// worktree touches package-lock.json without changing it, and must not cost a reinstall.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const WANTED = fileURLToPath(new URL('../package-lock.json', import.meta.url));
const INSTALLED = fileURLToPath(new URL('../node_modules/.package-lock.json', import.meta.url));

/** @typedef {{ version?: string, integrity?: string, optional?: boolean }} LockEntry */

/**
 * @param {string} file
 * @returns {Record<string, LockEntry>}
 */
function lockedPackages(file) {
  /** @type {{ packages?: Record<string, LockEntry> }} */
  const lock = JSON.parse(readFileSync(file, 'utf8'));
  const { '': _root, ...packages } = lock.packages ?? {};
  return packages;
}

/**
 * Why node_modules does not match package-lock.json, or undefined when it does.
 * @returns {string | undefined}
 */
export function installMismatch() {
  if (!existsSync(INSTALLED)) return 'node_modules is not installed';
  const wanted = lockedPackages(WANTED);
  const installed = lockedPackages(INSTALLED);
  for (const [where, entry] of Object.entries(wanted)) {
    const have = installed[where];
    // npm leaves out optional packages for other platforms (esbuild's, rolldown's binaries).
    if (!have) {
      if (entry.optional) continue;
      return `${where} is not installed`;
    }
    if (have.version !== entry.version || have.integrity !== entry.integrity) return `${where} is ${have.version}, package-lock.json wants ${entry.version}`;
  }
  const extra = Object.keys(installed).find((where) => !(where in wanted));
  if (extra) return `${extra} is installed but not in package-lock.json`;
  return undefined;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const mismatch = installMismatch();
  if (mismatch) console.error(`wisp: ${mismatch}`);
  process.exit(mismatch ? 1 : 0);
}
