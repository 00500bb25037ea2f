// The release as a Raspberry Pi gets it: `npm run release`, the tarball unpacked into an
// empty directory, `npm ci --omit=dev --omit=optional` there (a cluster node keeps the
// optional packages), and the server started from there. Shared by tests/release/ and the
// install benches.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { SUBPROTOCOL, WS_PATH } from '../../signal-server/protocol/protocol.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface RootPackage {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

export function rootPackage(): RootPackage {
  return JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as RootPackage;
}

/** npm as the current npm runs it (npm_execpath under `npm run`), else from PATH. */
export function npmCommand(args: string[]): [string, string[]] {
  const npmCli = process.env.npm_execpath;
  return npmCli && npmCli.endsWith('.js') ? [process.execPath, [npmCli, ...args]] : ['npm', args];
}

/** Runs npm in `cwd` with its output on our stderr (stdout belongs to node:test's reporter); throws when it fails. */
export function runNpm(args: string[], cwd: string): void {
  const [command, fullArgs] = npmCommand(args);
  const result = spawnSync(command, fullArgs, { cwd, stdio: ['ignore', 2, 2] });
  if (result.status !== 0) throw new Error(`npm ${args.join(' ')} failed in ${cwd} (${result.signal ?? `exit code ${result.status}`})`);
}

/** `npm run release`; returns the tarball it made. */
export function buildRelease(): string {
  runNpm(['run', 'release'], ROOT);
  return path.join(ROOT, 'release', `wisp-${rootPackage().version}.tgz`);
}

export interface InstallOptions {
  /** A cluster node's install: with the optional packages (ioredis). Default: a Pi's, without. */
  cluster?: boolean;
}

/** Unpacks the tarball into a new temp directory and installs it as the README says; returns the app's directory. */
export function installRelease(tarball: string, options: InstallOptions = {}): string {
  const into = mkdtempSync(path.join(tmpdir(), 'wisp-release-install-'));
  const tar = spawnSync('tar', ['-xzf', tarball, '-C', into], { stdio: ['ignore', 2, 2] });
  if (tar.status !== 0) throw new Error(`tar -xzf ${tarball} failed`);
  const [top, ...others] = readdirSync(into);
  if (!top || others.length > 0) throw new Error(`the tarball should hold one directory, found: ${readdirSync(into).join(', ')}`);
  const dir = path.join(into, top);
  const omit = options.cluster ? ['--omit=dev'] : ['--omit=dev', '--omit=optional'];
  runNpm(['ci', ...omit, '--no-audit', '--no-fund', '--prefer-offline'], dir);
  return dir;
}

/** Bytes on disk under `dir` (files and directories, as `du` counts blocks). */
export function diskBytes(dir: string): number {
  let total = 0;
  const visit = (full: string) => {
    const stat = statSync(full);
    total += stat.blocks * 512;
    if (stat.isDirectory()) for (const name of readdirSync(full)) visit(path.join(full, name));
  };
  visit(dir);
  return total;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls /healthz until it answers ok; rejects when the process exits first or after
 * `timeoutMs` (a bound on a hang, not a measurement).
 */
export async function waitHealthy(baseUrl: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the server exited (${child.signalCode ?? `exit code ${child.exitCode}`}) before /healthz answered`);
    try {
      const response = await fetch(`${baseUrl}/healthz`);
      if (response.ok && ((await response.json()) as { ok?: boolean }).ok === true) return;
    } catch {
      // Not listening yet.
    }
    await sleep(10);
  }
  throw new Error(`/healthz did not answer within ${timeoutMs} ms`);
}

/** The first frame the server sends on a new WebSocket, parsed. */
export function firstFrame(baseUrl: string): Promise<{ type?: unknown }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}${WS_PATH}`, SUBPROTOCOL);
    ws.once('message', (data) => {
      ws.close();
      try {
        resolve(JSON.parse(String(data)) as { type?: unknown });
      } catch (error) {
        reject(error as Error);
      }
    });
    ws.once('error', reject);
    ws.once('close', (code) => reject(new Error(`the WebSocket closed (${code}) before a frame arrived`)));
  });
}

/**
 * What a working install serves: /healthz ok, the web manifest with a name, the
 * service worker, and a WebSocket that gets the server's `challenge`. Returns the
 * problems found (none: empty).
 */
export async function probeServer(baseUrl: string): Promise<string[]> {
  const problems: string[] = [];
  const health = await fetch(`${baseUrl}/healthz`);
  if (!health.ok || ((await health.json()) as { ok?: boolean }).ok !== true) problems.push(`/healthz answered ${health.status}`);
  const manifest = await fetch(`${baseUrl}/manifest.webmanifest`);
  const manifestBody = manifest.ok ? ((await manifest.json()) as { name?: unknown }) : {};
  if (typeof manifestBody.name !== 'string' || manifestBody.name === '') problems.push(`/manifest.webmanifest (${manifest.status}) has no name`);
  const sw = await fetch(`${baseUrl}/sw.js`);
  const swBody = await sw.text();
  if (!sw.ok || !swBody.includes('precache')) problems.push(`/sw.js answered ${sw.status} without a precache`);
  const frame = await firstFrame(baseUrl);
  if (frame.type !== 'challenge') problems.push(`the first WebSocket frame was ${JSON.stringify(frame)}, not a challenge`);
  return problems;
}

/** Starts a process in a group of its own, so stopGroup() ends it with whatever it started (npm, sh, node). */
export function spawnGroup(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): ChildProcess {
  return spawn(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
}

/** SIGTERM to the group led by `child` (by its PID), SIGKILL if it lingers; resolves once the leader exited. */
export async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, name);
    } catch {
      // The group is gone already.
    }
  };
  signal('SIGTERM');
  const killer = setTimeout(() => signal('SIGKILL'), 5000);
  await exited;
  clearTimeout(killer);
  signal('SIGKILL'); // anything the leader left behind
}

/** The release's `npm start` command line, without npm: node, its flags, the entry. */
export function releaseServerCommand(dir: string): string[] {
  const start = (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const [command, ...args] = start.split(/\s+/);
  if (command !== 'node') throw new Error(`the release's start script does not run node: ${start}`);
  return args;
}
