// The data directory: every file validated at start (a corrupt or unreadable file stops
// the server with its name and the problem, and is never replaced), writes that are
// atomic and serialised, and the compiled entry exiting non-zero on a bad file.
import { test, describe, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Store, StoreError } from '../../signal-server/store.ts';
import { startServer } from '../../signal-server/server.ts';
import { testConfig } from '../../signal-server/config.ts';
import { join } from './helpers.ts';
import { ModScope, becomeAdmin, ensureServerBuilt, freePort, runCompiled, type CompiledRun } from './moderation-helpers.ts';

/** Bad content for each data file: not JSON at all, and JSON of the wrong shape. */
const CORRUPT: { file: string; content: string; problem: RegExp }[] = [
  { file: 'admin.json', content: '{"version":1,"tokenHash":', problem: /is not valid JSON/ },
  { file: 'admin.json', content: '{"version":1,"tokenHash":"not-a-sha256","createdAt":1}', problem: /unexpected content at tokenHash/ },
  { file: 'bans.json', content: 'bans: none\n', problem: /is not valid JSON/ },
  { file: 'bans.json', content: '{"version":1,"bans":[{"id":"abc","name":"x","by":"y"}]}', problem: /unexpected content at bans\.0\.at/ },
  { file: 'rooms.json', content: '', problem: /is not valid JSON/ },
  { file: 'rooms.json', content: '{"version":1,"rooms":"hall"}', problem: /unexpected content at rooms/ },
  { file: 'members.json', content: '\u0000\u0001', problem: /is not valid JSON/ },
  { file: 'members.json', content: '{"version":2,"keys":[]}', problem: /unexpected content at version/ },
  { file: 'audit.json', content: '{"version":1,"entries":[}', problem: /is not valid JSON/ },
  { file: 'audit.json', content: '[]', problem: /unexpected content/ },
  { file: 'server.json', content: '{"version":1,"id":"abcdefghijklmnopqrstuv"', problem: /is not valid JSON/ },
  { file: 'server.json', content: '{"version":1,"id":"short","createdAt":1}', problem: /unexpected content at id/ },
];

describe('a corrupt data file stops the start', () => {
  let scope: ModScope;
  beforeEach(() => {
    scope = new ModScope();
  });
  afterEach(() => scope.dispose());

  for (const { file, content, problem } of CORRUPT) {
    const kind = problem.source.includes('JSON') ? 'invalid JSON' : 'the wrong shape';
    test(`${file} with ${kind}: StoreError naming the file; the file is left as it was`, async () => {
      const dir = scope.tempDir('wisp-data-');
      const target = path.join(dir, file);
      writeFileSync(target, content);
      const check = (error: unknown) => {
        assert.ok(error instanceof StoreError, `a StoreError, got ${error}`);
        assert.equal(error.file, target);
        assert.equal(error.code, 'store-invalid');
        assert.ok(error.message.startsWith(`${target}: `), error.message);
        assert.match(error.message, problem);
        assert.match(error.message, /will not replace it/);
        return true;
      };
      await assert.rejects(Store.open(dir), check);
      await assert.rejects(startServer(testConfig({ dataDir: dir, adminToken: 'a-token-for-the-store-test' })), check);
      assert.equal(readFileSync(target, 'utf8'), content, 'the corrupt file is untouched');
      assert.deepEqual(readdirSync(dir), [file], 'nothing else was written (not even a new admin token)');
    });
  }

  test('an unreadable data file is a StoreError too', async () => {
    const dir = scope.tempDir('wisp-data-');
    mkdirSync(path.join(dir, 'bans.json'));
    await assert.rejects(Store.open(dir), (error: unknown) => {
      assert.ok(error instanceof StoreError);
      assert.equal(error.file, path.join(dir, 'bans.json'));
      assert.match(error.message, /cannot be read/);
      return true;
    });
  });

  test('a data directory that cannot be made is a StoreError naming it', async () => {
    const parent = scope.tempDir('wisp-data-');
    writeFileSync(path.join(parent, 'file'), 'x');
    const dir = path.join(parent, 'file', 'data');
    await assert.rejects(Store.open(dir), (error: unknown) => {
      assert.ok(error instanceof StoreError);
      assert.equal(error.file, dir);
      assert.match(error.message, /cannot be created/);
      return true;
    });
  });

  test('an empty or missing data directory starts clean and writes only the server id until needed', async () => {
    const dir = path.join(scope.tempDir('wisp-data-'), 'new');
    const store = await Store.open(dir);
    assert.deepEqual([store.adminTokenHash, store.bans, store.rooms, [...store.members], store.audit], [undefined, [], [], [], []]);
    assert.deepEqual(readdirSync(dir), ['server.json']);
    const saved = JSON.parse(readFileSync(path.join(dir, 'server.json'), 'utf8'));
    assert.deepEqual(Object.keys(saved).sort(), ['createdAt', 'id', 'version']);
    assert.equal(saved.version, 1);
    assert.equal(saved.id, store.serverId);
    assert.equal(Buffer.from(saved.id, 'base64url').length, 16, '16 random bytes');
    assert.equal(statSync(path.join(dir, 'server.json')).mode & 0o777, 0o600);
  });
});

describe('the server id', () => {
  let scope: ModScope;
  beforeEach(() => {
    scope = new ModScope();
  });
  afterEach(() => scope.dispose());

  test('welcome carries the server id: the same after a restart on the same data directory, another for another directory', async () => {
    const dataDir = scope.tempDir('wisp-data-');
    const idOf = async (dir: string): Promise<string> => {
      const server = await scope.start({ dataDir: dir });
      const client = await scope.connect(server);
      await server.close();
      return client.welcome!.server.id;
    };
    const first = await idOf(dataDir);
    assert.match(first, /^[A-Za-z0-9_-]{16,64}$/);
    assert.equal(JSON.parse(readFileSync(path.join(dataDir, 'server.json'), 'utf8')).id, first, 'the id sent is the one on disk');
    assert.equal(await idOf(dataDir), first, 'a restart keeps the id');
    const other = await idOf(scope.tempDir('wisp-data-'));
    assert.match(other, /^[A-Za-z0-9_-]{16,64}$/);
    assert.notEqual(other, first, 'another data directory is another server');
  });

  test('an id written by an operator (within the rules) is the one sent', async () => {
    const dataDir = scope.tempDir('wisp-data-');
    writeFileSync(path.join(dataDir, 'server.json'), JSON.stringify({ version: 1, id: 'restored-from-backup_0123', createdAt: 1 }));
    const server = await scope.start({ dataDir });
    const client = await scope.connect(server);
    assert.equal(client.welcome!.server.id, 'restored-from-backup_0123');
  });
});

describe('writes', () => {
  let scope: ModScope;
  beforeEach(() => {
    scope = new ModScope();
  });
  afterEach(() => scope.dispose());

  test('many quick changes all land, each file valid JSON, private (0600), no temp files left', async () => {
    const dataDir = scope.tempDir('wisp-data-');
    const server = await scope.start({ dataDir });
    const owner = await scope.connect(server, { name: 'Owner' });
    await join(owner, 'games');
    await becomeAdmin(owner);
    const people = await Promise.all(Array.from({ length: 12 }, () => scope.connect(server)));
    // Twelve bans sent at once: their writes overlap, and the last one must hold them all.
    for (const person of people) owner.send({ type: 'ban', room: 'games', target: person.id, reason: `r${person.id}` });
    for (const person of people) await person.next('banned');
    owner.send({ type: 'room-create', room: 'hall' });
    await owner.next('rooms');
    await server.close();

    const files = readdirSync(dataDir).sort();
    assert.deepEqual(files, ['admin.json', 'admins.json', 'audit.log', 'bans.json', 'rooms.json', 'server.json'], 'no temporary files left behind');
    for (const file of files) {
      const full = path.join(dataDir, file);
      assert.equal(statSync(full).mode & 0o777, 0o600, `${file} is private`);
      if (file.endsWith('.json')) JSON.parse(readFileSync(full, 'utf8'));
    }
    const bans = JSON.parse(readFileSync(path.join(dataDir, 'bans.json'), 'utf8'));
    assert.deepEqual(bans.bans.map((b: { name: string }) => b.name).sort(), people.map((p) => p.name).sort());
    const audit = { entries: readFileSync(path.join(dataDir, 'audit.log'), 'utf8').trim().split('\n').map((line) => JSON.parse(line)) };
    assert.equal(audit.entries.filter((e: { action: string }) => e.action === 'ban').length, 12);
    // And a new store reads it all back.
    const store = await Store.open(dataDir);
    assert.equal(store.bans.length, 12);
    assert.deepEqual(store.rooms.map((r) => r.name), ['hall']);
  });
});

describe('start-up clean-up of interrupted writes', () => {
  let scope: ModScope;
  beforeEach(() => {
    scope = new ModScope();
  });
  afterEach(() => scope.dispose());

  test("write-file-atomic's temp files of Wisp's data files are removed at start; other files stay", async () => {
    const dataDir = scope.tempDir('wisp-data-');
    writeFileSync(path.join(dataDir, 'bans.json'), JSON.stringify({ version: 1, bans: [] }));
    // Leftovers named exactly as write-file-atomic names its temp files: `<file>.<uint32>`.
    const leftovers = ['audit.json.3735928559', 'bans.json.0', 'rooms.json.4294967295', 'server.json.17', 'members.json.123456'];
    const unrelated = ['notes.txt', 'bans.json.bak', 'bans.json.12ab', 'rooms.json.4294967296', 'bans.json.12345678901', 'other.json.123', 'audit.json.', 'xbans.json.42'];
    for (const name of [...leftovers, ...unrelated]) writeFileSync(path.join(dataDir, name), 'half-written');
    mkdirSync(path.join(dataDir, 'admin.json.99'));
    await scope.start({ dataDir });
    const left = readdirSync(dataDir);
    for (const name of leftovers) assert.ok(!left.includes(name), `${name} is removed`);
    for (const name of [...unrelated, 'admin.json.99', 'bans.json']) assert.ok(left.includes(name), `${name} stays`);
    for (const name of unrelated) assert.equal(readFileSync(path.join(dataDir, name), 'utf8'), 'half-written', `${name} untouched`);
  });
});

describe('the compiled server and a corrupt data file', () => {
  const scope = new ModScope();
  const runs: CompiledRun[] = [];
  before(() => ensureServerBuilt());
  after(async () => {
    for (const run of runs) if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
    await scope.dispose();
  });

  for (const { file, content } of [CORRUPT[2], CORRUPT[5]]) {
    test(`a corrupt ${file} makes main.js exit non-zero with a message naming the file`, async () => {
      const dataDir = scope.tempDir('wisp-data-');
      const target = path.join(dataDir, file);
      writeFileSync(target, content);
      const port = await freePort();
      const run = runCompiled(['--port', String(port), '--data-dir', dataDir, '--static-dir', scope.staticDir(), '--quiet']);
      runs.push(run);
      const exit = await run.exit;
      assert.equal(exit.signal, null);
      assert.notEqual(exit.code, 0);
      assert.equal(exit.code, 2);
      assert.ok(run.stderr.includes(target), `stderr names the file: ${run.stderr}`);
      assert.match(run.stderr, /^wisp: the data directory has a problem: /);
      assert.match(run.stderr, /will not replace it/);
      assert.equal(readFileSync(target, 'utf8'), content, 'the file is untouched');
      await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`), 'it never listened');
    });
  }
});
