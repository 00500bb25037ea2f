// `npm run release`: release/wisp-<version>.tgz, everything a Raspberry Pi needs to run
// Wisp and nothing else: the built app, the compiled server, README and LICENSE, and a
// package.json + package-lock.json holding only the packages the server imports at run
// time. On the Pi: unpack, `npm ci --omit=dev --omit=optional`, `npm start`; a cluster node
// installs without `--omit=optional` to get ioredis. No Vite, TypeScript, browsers or test
// tools, and nothing to compile.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureFreshBuild } from './build-freshness.mjs';
import { runtimeDependencies } from './runtime-dependencies.mjs';
import { SERVER_NODE_FLAGS } from './server-node-flags.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RELEASE_DIR = path.join(ROOT, 'release');
/** Copied as they are; docs/ because the README links into it. */
const SHIPPED = ['dist/app', 'dist/signal-server', 'README.md', 'LICENSE', 'docs'];

/**
 * @typedef {{ name: string, version: string, description?: string, license?: string,
 *   engines?: Record<string, string>, dependencies?: Record<string, string>,
 *   optionalDependencies?: Record<string, string> }} RootPackage
 */

/** @param {string} message @returns {never} */
function fail(message) {
  console.error(`release: ${message}`);
  process.exit(1);
}

/**
 * Runs npm with these arguments in `cwd`, output shown; fails the release when it fails.
 * @param {string[]} args
 * @param {string} cwd
 */
function npm(args, cwd) {
  const npmCli = process.env.npm_execpath;
  const [command, fullArgs] = npmCli && npmCli.endsWith('.js') ? [process.execPath, [npmCli, ...args]] : ['npm', args];
  const result = spawnSync(command, fullArgs, { cwd, stdio: ['ignore', 2, 2] });
  if (result.status !== 0) fail(`npm ${args.join(' ')} failed (${result.signal ?? `exit code ${result.status}`})`);
}

/**
 * Packages in a lockfile that would run an install script or build native code on the
 * Pi (npm marks both with `hasInstallScript`).
 * @param {string} lockFile
 * @returns {string[]}
 */
function packagesWithInstallScripts(lockFile) {
  /** @type {{ packages: Record<string, { hasInstallScript?: boolean }> }} */
  const lock = JSON.parse(readFileSync(lockFile, 'utf8'));
  return Object.entries(lock.packages)
    .filter(([, entry]) => entry.hasInstallScript)
    .map(([where]) => where.replace(/^.*node_modules\//, ''));
}

/**
 * The release's package.json: the server's run-time dependencies (the optional ones, only
 * for cluster mode, apart) and a start script with the same Node flags as `npm start`.
 * @param {RootPackage} root
 * @param {{ dependencies: Record<string, string>, optionalDependencies: Record<string, string> }} runtime
 */
function releasePackage(root, { dependencies, optionalDependencies }) {
  return {
    name: root.name,
    version: root.version,
    private: true,
    description: root.description,
    type: 'module',
    license: root.license,
    engines: root.engines,
    scripts: { start: ['node', ...SERVER_NODE_FLAGS, 'dist/signal-server/main.js'].join(' ') },
    dependencies,
    ...(Object.keys(optionalDependencies).length > 0 ? { optionalDependencies } : {}),
  };
}

function main() {
  ensureFreshBuild((message) => console.error(`release: ${message}`));
  /** @type {RootPackage} */
  const root = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const missing = SHIPPED.filter((entry) => !existsSync(path.join(ROOT, entry)));
  if (missing.length > 0) fail(`missing ${missing.join(', ')}`);

  const runtime = runtimeDependencies(path.join(ROOT, 'dist/signal-server'), root);
  const name = `wisp-${root.version}`;
  const staging = mkdtempSync(path.join(tmpdir(), 'wisp-release-'));
  try {
    const top = path.join(staging, name);
    for (const entry of SHIPPED) {
      // Source maps point at TypeScript sources that are not shipped.
      cpSync(path.join(ROOT, entry), path.join(top, entry), { recursive: true, filter: (source) => !source.endsWith('.map') });
    }
    writeFileSync(path.join(top, 'package.json'), `${JSON.stringify(releasePackage(root, runtime), null, 2)}\n`);
    // Starting from the repository's lockfile keeps every package at the version the tests
    // ran with (npm drops what the release does not need), and works from npm's cache.
    cpSync(path.join(ROOT, 'package-lock.json'), path.join(top, 'package-lock.json'));
    npm(['install', '--package-lock-only', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], top);
    const scripted = packagesWithInstallScripts(path.join(top, 'package-lock.json'));
    if (scripted.length > 0) fail(`these run-time packages have install scripts or native code, which a Pi would have to build: ${scripted.join(', ')}`);

    mkdirSync(RELEASE_DIR, { recursive: true });
    const tarball = path.join(RELEASE_DIR, `${name}.tgz`);
    rmSync(tarball, { force: true });
    const tar = spawnSync('tar', ['-czf', tarball, '--owner=0', '--group=0', '--numeric-owner', '-C', staging, name], { stdio: ['ignore', 2, 2] });
    if (tar.status !== 0) fail(`tar failed (${tar.signal ?? `exit code ${tar.status}`})`);
    const kib = Math.round(statSync(tarball).size / 1024);
    console.log(`release: ${path.relative(ROOT, tarball)} (${kib} KiB), run-time dependencies: ${Object.keys(runtime.dependencies).join(', ')}; optional (cluster mode): ${Object.keys(runtime.optionalDependencies).join(', ') || 'none'}`);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

main();
