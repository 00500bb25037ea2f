// `npm run release` makes a tarball that installs on a Pi as the README says (unpack,
// `npm ci --omit=dev --omit=optional`, `npm start`) with nothing but the server's run-time
// packages, and the server started from there serves Wisp; a cluster node's install
// (without --omit=optional) adds ioredis and nothing native.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, test } from 'node:test';
import { importedPackages } from '../../scripts/runtime-dependencies.mjs';
import { freePort } from '../e2e/support/server.ts';
import { ROOT, buildRelease, installRelease, npmCommand, probeServer, rootPackage, spawnGroup, stopGroup, waitHealthy } from '../support/release-install.ts';

/** Bundled into dist/app by Vite; a Pi never needs them. */
const APP_ONLY = ['lit', 'idb-keyval', 'simple-peer', 'workbox-window'];

/** Package names under a node_modules directory, scoped ones as `@scope/name`, nested ones too. */
function installedPackages(nodeModules: string): Set<string> {
  const names = new Set<string>();
  for (const entry of readdirSync(nodeModules, { recursive: true, encoding: 'utf8' })) {
    const parts = entry.split(path.sep);
    const last = parts.lastIndexOf('node_modules');
    const rest = parts.slice(last + 1);
    if (last !== parts.length - 1 - (rest[0]?.startsWith('@') ? 2 : 1)) continue;
    if (rest[0]?.startsWith('.')) continue;
    if (existsSync(path.join(nodeModules, entry, 'package.json'))) names.add(rest.join('/'));
  }
  return names;
}

function filesEndingWith(dir: string, suffix: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith(suffix));
}

/** The root package.json's versions of the packages the compiled server imports from `list`. */
function imported(list: Record<string, string> | undefined): Record<string, string> {
  const names = importedPackages(path.join(ROOT, 'dist/signal-server')).filter((name) => list?.[name] !== undefined);
  return Object.fromEntries(names.map((name) => [name, list![name]!]));
}

let tarball: string;
before(() => {
  tarball = buildRelease();
});

test('the release installs with npm ci --omit=dev --omit=optional, holds only the server\'s packages, and serves Wisp', { timeout: 240_000 }, async (t) => {
  const dir = installRelease(tarball);
  t.after(() => rmSync(path.dirname(dir), { recursive: true, force: true }));
  // Outside the repository, so module resolution cannot climb into our node_modules and hide a missing package.
  assert.ok(path.relative(ROOT, dir).startsWith('..'), `${dir} is outside the repository`);
  const root = rootPackage();

  const release = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
    optionalDependencies?: Record<string, string>;
    devDependencies?: unknown;
    scripts: { start: string };
  };
  assert.deepEqual(release.dependencies, imported(root.dependencies), 'dependencies: exactly what the compiled server imports, at the root package.json versions');
  assert.deepEqual(release.optionalDependencies ?? {}, imported(root.optionalDependencies), 'optionalDependencies: what the server imports only in cluster mode');
  assert.equal(release.optionalDependencies?.ioredis, root.optionalDependencies?.ioredis, 'ioredis is optional in the release, at the root version');
  assert.equal(release.devDependencies, undefined);
  assert.match(release.scripts.start, /^node (--\S+ )*dist\/signal-server\/main\.js$/);
  for (const file of ['README.md', 'LICENSE', 'package-lock.json', 'dist/app/index.html', 'dist/app/sw.js', 'dist/signal-server/main.js']) {
    assert.ok(existsSync(path.join(dir, file)), `the release holds ${file}`);
  }
  assert.deepEqual(filesEndingWith(path.join(dir, 'dist'), '.ts'), [], 'no TypeScript sources');

  const installed = installedPackages(path.join(dir, 'node_modules'));
  for (const name of Object.keys(release.dependencies)) assert.ok(installed.has(name), `${name} is installed`);
  assert.deepEqual(Object.keys(root.devDependencies).filter((name) => installed.has(name)), [], 'no devDependency is installed');
  assert.deepEqual(APP_ONLY.filter((name) => installed.has(name)), [], 'no app-only package is installed');
  assert.ok(!installed.has('ioredis'), 'a Pi install (--omit=optional) leaves ioredis out');
  assert.deepEqual(filesEndingWith(path.join(dir, 'node_modules'), '.node'), [], 'no native module');
  const lock = JSON.parse(readFileSync(path.join(dir, 'package-lock.json'), 'utf8')) as { packages: Record<string, { hasInstallScript?: boolean; dev?: boolean }> };
  assert.deepEqual(Object.keys(lock.packages).filter((where) => lock.packages[where]!.hasInstallScript), [], 'no package with an install script');

  const port = await freePort();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'wisp-release-data-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const [npm, npmArgs] = npmCommand(['start', '--', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir]);
  const server = spawnGroup(npm, npmArgs, { cwd: dir });
  let output = '';
  server.stdout!.on('data', (chunk) => (output += chunk));
  server.stderr!.on('data', (chunk) => (output += chunk));
  try {
    const url = `http://127.0.0.1:${port}`;
    await waitHealthy(url, server, 30_000);
    assert.deepEqual(await probeServer(url), []);
    assert.match(output, /Admin token: \S+/, 'the first start prints the admin token');
  } finally {
    await stopGroup(server);
  }
  assert.doesNotMatch(output, /\berror\b|\bwarn/i, `the server printed no error or warning:\n${output}`);
});

test('a cluster node installs the release without --omit=optional: ioredis loads, nothing native or scripted', { timeout: 240_000 }, (t) => {
  const dir = installRelease(tarball, { cluster: true });
  t.after(() => rmSync(path.dirname(dir), { recursive: true, force: true }));
  const root = rootPackage();
  const installed = installedPackages(path.join(dir, 'node_modules'));
  assert.ok(installed.has('ioredis'), 'ioredis is installed');
  assert.deepEqual(Object.keys(root.devDependencies).filter((name) => installed.has(name)), [], 'no devDependency is installed');
  assert.deepEqual(filesEndingWith(path.join(dir, 'node_modules'), '.node'), [], 'no native module');
  const lock = JSON.parse(readFileSync(path.join(dir, 'package-lock.json'), 'utf8')) as { packages: Record<string, { hasInstallScript?: boolean }> };
  assert.deepEqual(Object.keys(lock.packages).filter((where) => lock.packages[where]!.hasInstallScript), [], 'no package with an install script');
  // Resolved from the release's own node_modules (the install is outside the repository).
  const load = spawnSync(process.execPath, ['--input-type=module', '-e', "const { Redis } = await import('ioredis'); console.log(typeof Redis);"], { cwd: dir, encoding: 'utf8' });
  assert.equal(load.status, 0, load.stderr);
  assert.equal(load.stdout.trim(), 'function');
});
