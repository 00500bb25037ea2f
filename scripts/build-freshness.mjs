// Is dist/ built from the sources as they are now? `npm start` and `npm run release`
// build only when it is not, and the e2e tests and benches rebuild rather than test
// yesterday's code. The build is `tsc && vite build`: Vite writes dist/app/index.html
// last, so its time stamp is when the whole build finished.
// Plain JavaScript so that `npm start` runs it with node alone, before any TypeScript tooling.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BUILD_STAMP = 'dist/app/index.html';
const SERVER_ENTRY = 'dist/signal-server/main.js';
/** Everything the build reads (directories are walked). */
const SOURCES = [
  'app',
  'sw',
  'public',
  'signal-server',
  'vite.config.ts',
  'index.html',
  'package-lock.json',
  'tsconfig.base.json',
  'tsconfig.app.json',
  'tsconfig.server.json',
];

/**
 * The most recently modified source file, or undefined when there is none.
 * @returns {{ file: string, mtimeMs: number } | undefined}
 */
function newestSource() {
  /** @type {{ file: string, mtimeMs: number } | undefined} */
  let newest;
  /** @param {string} relative */
  const visit = (relative) => {
    const full = path.join(ROOT, relative);
    if (!existsSync(full)) return;
    const stat = statSync(full);
    if (stat.isDirectory()) {
      for (const name of readdirSync(full)) visit(path.join(relative, name));
      return;
    }
    if (!newest || stat.mtimeMs > newest.mtimeMs) newest = { file: relative, mtimeMs: stat.mtimeMs };
  };
  for (const source of SOURCES) visit(source);
  return newest;
}

/**
 * Why dist/ cannot be trusted (missing, or older than a source), or undefined when it is fresh.
 * @returns {string | undefined}
 */
export function staleBuildReason() {
  for (const output of [BUILD_STAMP, SERVER_ENTRY]) {
    if (!existsSync(path.join(ROOT, output))) return `${output} is missing`;
  }
  const builtAt = statSync(path.join(ROOT, BUILD_STAMP)).mtimeMs;
  const newest = newestSource();
  if (newest && newest.mtimeMs > builtAt) return `${newest.file} changed after the last build`;
  return undefined;
}

/**
 * Runs `npm run build` (output shown on stderr) when dist/ is stale; throws when the
 * build fails or still leaves it stale. Synchronous, so callers in any test hook can use it.
 * @param {(message: string) => void} log
 */
export function ensureFreshBuild(log) {
  const reason = staleBuildReason();
  if (!reason) return;
  log(`${reason}; running "npm run build"`);
  const npmCli = process.env.npm_execpath;
  const [command, args] = npmCli && npmCli.endsWith('.js') ? [process.execPath, [npmCli, 'run', 'build']] : ['npm', ['run', 'build']];
  // stdout goes to our stderr: under node --test a test file's stdout is the reporter's.
  const result = spawnSync(command, args, { cwd: ROOT, stdio: ['ignore', 2, 2] });
  if (result.status !== 0) throw new Error(`npm run build failed (${result.signal ?? `exit code ${result.status}`}); fix the build, then run again`);
  const still = staleBuildReason();
  if (still) throw new Error(`dist/ is still stale after "npm run build": ${still}`);
}
