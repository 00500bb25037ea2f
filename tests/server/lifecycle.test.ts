// Sessions and the process: replacing a session of the same identity, shutdown close
// codes, and the compiled entry point run as an operator would run it.
import { test, describe, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Socket } from 'node:net';
import { CloseCode, ErrorCode, LOBBY } from '../../signal-server/protocol/protocol.ts';
import { TestClient } from '../support/test-client.ts';
import { Scope, join, listRooms, nextError, presenceEvent, roundTrip } from './helpers.ts';

describe('sessions', () => {
  let scope: Scope;
  beforeEach(() => {
    scope = new Scope();
  });
  afterEach(() => scope.dispose());

  test('the same identity connecting again replaces the old session (4003) and keeps the name', async () => {
    const server = await scope.server();
    const watcher = await scope.client(server, { name: 'Watcher' });
    await join(watcher, LOBBY);
    const old = await scope.client(server, { name: 'Phoenix' });
    await join(old, LOBBY);
    await presenceEvent(watcher, LOBBY, (e) => e.k === 'join' && e.member.id === old.id);

    const fresh = await scope.client(server, { identity: old.identity, name: 'Phoenix' });
    assert.equal(fresh.name, 'Phoenix');
    assert.notEqual(fresh.id, old.id);
    const closed = await old.waitClose();
    assert.equal(closed.code, CloseCode.replaced);
    await roundTrip(fresh);
    assert.deepEqual(fresh.all('error'), [], 'no name-taken: the name passed to the new session');

    // The old session left its rooms; the new one is in none until it joins.
    await presenceEvent(watcher, LOBBY, (e) => e.k === 'leave' && e.id === old.id);
    assert.deepEqual(await listRooms(watcher), [{ name: LOBBY, members: 1 }]);
    await join(fresh, LOBBY);
    await presenceEvent(watcher, LOBBY, (e) => e.k === 'join' && e.member.id === fresh.id && e.member.name === 'Phoenix');

    // The old socket closing afterwards must not free the name or the identity of the new one.
    const rival = await scope.client(server);
    rival.send({ type: 'rename', name: 'phoenix' });
    await nextError(rival, ErrorCode.nameTaken, 'rename');
    assert.equal(server.hub.size, 3);
  });

  test('frames still in flight from a replaced session are not acted on', async () => {
    const server = await scope.server();
    const watcher = await scope.client(server);
    const old = await scope.client(server, { name: 'Ghost' });
    // Stop reading on the old socket, so it cannot see the server's close frame yet and
    // keeps sending as if it were still connected.
    const socket = (old.ws as unknown as { _socket: Socket })._socket;
    socket.pause();
    await scope.client(server, { identity: old.identity, name: 'Ghost' });
    old.send({ type: 'join', room: 'haunted' });
    old.send({ type: 'rename', name: 'Poltergeist' });
    socket.resume();
    // The old socket's frames reach the server before its close reply, so once the old
    // client has closed, the server has handled them.
    assert.equal((await old.waitClose()).code, CloseCode.replaced);
    assert.deepEqual(await listRooms(watcher), [{ name: LOBBY, members: 0 }], 'the replaced session joined a room');
    watcher.send({ type: 'rename', name: 'Poltergeist' });
    assert.equal((await watcher.next('name')).name, 'Poltergeist', 'the replaced session took a name');
  });
});

describe('shutdown', () => {
  const scope = new Scope();
  after(() => scope.dispose());

  test('server.close() sends 4002 to every client, welcomed or not, and stops listening', async () => {
    const server = await scope.server();
    const clients = await scope.clientsOf(server, 3);
    await join(clients[0], LOBBY);
    const early = await scope.client(server, { noHello: true });
    await server.close();
    for (const client of [...clients, early]) {
      const closed = await client.waitClose();
      assert.equal(closed.code, CloseCode.shuttingDown);
      assert.ok(closed.reason.length > 0, 'the close carries a reason');
    }
    await assert.rejects(fetch(`${server.url}/healthz`));
  });

  // Like a phone that went to sleep: its socket is open but it never answers the close
  // frame. Without cutting such sockets, close() waits for ws's 30-second close timeout.
  test('a client that never answers the close frame does not hold up shutdown', { timeout: 10_000 }, async () => {
    const server = await scope.server();
    const asleep = await scope.client(server);
    const socket = (asleep.ws as unknown as { _socket: Socket })._socket;
    socket.pause();
    // Resolves once every socket is gone; without the cut this takes 30 s and the test times out.
    await server.close();
  });
});

// ---------------------------------------------------------------------------
// The compiled entry point, run as a child process.

const root = path.resolve(import.meta.dirname, '../..');
const mainJs = path.join(root, 'dist/signal-server/main.js');

/** Builds the server when dist is missing or older than any source file. */
function ensureBuilt(): void {
  const sources = readdirSync(path.join(root, 'signal-server')).filter((f) => f.endsWith('.ts'));
  const newest = Math.max(...sources.map((f) => statSync(path.join(root, 'signal-server', f)).mtimeMs));
  if (existsSync(mainJs) && statSync(mainJs).mtimeMs >= newest) return;
  execFileSync('npx', ['tsc', '-p', 'tsconfig.server.json'], { cwd: root, stdio: 'pipe' });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Env without the variables the server reads, so the machine's settings do not leak in. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name === 'PORT' || name === 'HOST' || name.startsWith('WISP_')) delete env[name];
  return { ...env, ...extra };
}

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [mainJs, ...args], { cwd: root, env: cleanEnv(env), encoding: 'utf8', timeout: 20_000 });
}

function waitForOutput(child: ChildProcess, pattern: RegExp, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; stdout: ${out} stderr: ${err}`)), 15_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (pattern.test(out)) {
        clearTimeout(timer);
        resolve(out);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ${what}; stdout: ${out} stderr: ${err}`));
    });
  });
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

describe('the compiled server (dist/signal-server/main.js)', () => {
  const scope = new Scope();
  const children: ChildProcess[] = [];
  before(() => ensureBuilt());
  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await scope.dispose();
  });

  test('a bad --port exits with status 2 and a clear message', () => {
    const result = run(['--port', 'abc']);
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /^wisp: --port must be a whole number, got "abc"/);
    assert.equal(result.stdout, '');
  });

  test('a bad PORT in the environment exits with status 2 too', () => {
    const result = run([], { PORT: '99999' });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /--port must be between 0 and 65535/);
  });

  test('an unknown flag exits with status 2 and points to --help', () => {
    const result = run(['--colour', 'blue']);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /--colour/);
    assert.match(result.stderr, /--help/);
  });

  test('--help exits 0 and lists the flags', () => {
    const result = run(['--help']);
    assert.equal(result.status, 0, result.stderr);
    for (const flag of ['--host', '--port', '--data-dir', '--static-dir', '--tls-cert', '--tls-key', '--origin']) {
      assert.ok(result.stdout.includes(flag), `--help lacks ${flag}`);
    }
    assert.match(result.stdout, /PORT/);
  });

  test('a static dir without a built app exits with status 2 and says how to build', () => {
    const empty = scope.tempDir('wisp-empty-');
    const result = run(['--static-dir', empty, '--port', '0', '--host', '127.0.0.1']);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /npm run build/);
  });

  test('a port in use exits with status 2 and says so', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const child = spawn(process.execPath, [mainJs, '--host', '127.0.0.1', '--port', String(port), '--static-dir', scope.staticDir(), '--quiet'], {
        cwd: root,
        env: cleanEnv(),
      });
      children.push(child);
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const exit = await exitOf(child);
      assert.equal(exit.code, 2, stderr);
      assert.match(stderr, new RegExp(`port ${port} is already in use`));
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  test('it starts on PORT/HOST, serves /healthz and the app, and exits 0 on SIGTERM after telling clients', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [mainJs, '--static-dir', scope.staticDir(), '--data-dir', scope.tempDir('wisp-data-')], {
      cwd: root,
      env: cleanEnv({ PORT: String(port), HOST: '127.0.0.1' }),
    });
    children.push(child);
    const out = await waitForOutput(child, /Wisp is running[\s\S]*\n/, 'the start banner');
    assert.ok(out.includes(`http://127.0.0.1:${port}`), `the banner shows the URL: ${out}`);

    const url = `http://127.0.0.1:${port}`;
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { ok: boolean }).ok, true);
    const index = await fetch(`${url}/`);
    assert.match(await index.text(), /wisp-index/);

    const client = await TestClient.connect(url, { name: 'Operator' });
    await join(client, LOBBY);
    child.kill('SIGTERM');
    assert.equal((await client.waitClose()).code, CloseCode.shuttingDown);
    const exit = await exitOf(child);
    assert.deepEqual(exit, { code: 0, signal: null });
  });
});
