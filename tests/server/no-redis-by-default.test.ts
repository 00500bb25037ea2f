// A single Wisp (the default, and every Pi) never loads a Redis client: ioredis is loaded
// only with --redis. Checked on a real run of main.ts, with every module it resolved recorded
// by tests/support/module-recorder.mjs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOBBY } from '../../signal-server/protocol/protocol.ts';
import { TestClient } from '../support/test-client.ts';
import { RedisServer, freePort } from '../support/redis-server.ts';
import { eventually, health } from '../support/cluster-nodes.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RECORDER = path.join(ROOT, 'tests/support/module-recorder.mjs');
const IOREDIS = /\/node_modules\/ioredis\//;

const dirs: string[] = [];
const pids: number[] = [];
let redis: RedisServer | undefined;
after(async () => {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Exited already.
    }
  }
  await redis?.dispose();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** Env without the variables the server reads, so the machine's settings do not leak in. */
function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name === 'PORT' || name === 'HOST' || name.startsWith('WISP_')) delete env[name];
  return { ...env, ...extra };
}

/**
 * Runs main.ts with these extra flags until /healthz answers and a person has joined the
 * lobby and said something, then stops it (SIGTERM by PID); returns every module URL it resolved.
 */
async function modulesLoaded(extraArgs: string[]): Promise<string[]> {
  const staticDir = tempDir('wisp-static-');
  writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>Wisp</title>');
  const record = path.join(tempDir('wisp-modules-'), 'modules.txt');
  writeFileSync(record, '');
  const port = await freePort();
  const args = [
    '--import', 'tsx', '--import', RECORDER, path.join(ROOT, 'signal-server/main.ts'),
    '--host', '127.0.0.1', '--port', String(port), '--local-ca', 'off',
    '--data-dir', tempDir('wisp-data-'), '--static-dir', staticDir, '--quiet',
    ...extraArgs,
  ];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: cleanEnv({ MODULE_RECORD_FILE: record }), stdio: ['ignore', 'pipe', 'pipe'] });
  pids.push(child.pid!);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  await eventually(async () => {
    if (child.exitCode !== null) throw new Error(`the server exited: ${output}`);
    return (await health(url)).status === 200 ? true : undefined;
  }, `${url}/healthz answers (output: ${output})`, 30_000);

  // Some code loads only when people arrive: exercise hello, join and say.
  const client = await TestClient.connect(url, { name: 'Probe' });
  client.send({ type: 'join', room: LOBBY });
  await client.next('joined');
  client.send({ type: 'say', room: LOBBY, cid: 'm1', text: 'hello' });
  await client.next('ack');
  client.ws.terminate();

  process.kill(child.pid!, 'SIGTERM');
  assert.equal(await exit, 0, `the server stops cleanly: ${output}`);
  return readFileSync(record, 'utf8').split('\n').filter(Boolean);
}

test('a Wisp started without --redis loads no ioredis module', { timeout: 60_000 }, async () => {
  const loaded = await modulesLoaded([]);
  // The recorder works: the WebSocket library the server always uses is in the list.
  assert.ok(loaded.some((url) => /\/node_modules\/ws\//.test(url)), `the recorder saw ws among ${loaded.length} modules`);
  assert.ok(loaded.some((url) => url.endsWith('/signal-server/hub.ts')), 'the recorder saw the server\'s own modules');
  assert.deepEqual(loaded.filter((url) => IOREDIS.test(url)), [], 'no ioredis module');
});

test('a Wisp started with --redis loads ioredis', { timeout: 60_000 }, async () => {
  redis = await RedisServer.start();
  const loaded = await modulesLoaded(['--redis', redis.url]);
  assert.ok(loaded.some((url) => IOREDIS.test(url)), 'ioredis was loaded');
});
