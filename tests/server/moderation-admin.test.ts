// The server admin token (made and printed once on first start, only its hash stored,
// wrong guesses throttled per connection and per identity with a high per-address bound,
// rotation, set by flag) and the server-wide password (asked once per identity,
// remembered across restarts, its wrong guesses throttled the same way but counted apart).
import { test, describe, beforeEach, afterEach, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { CloseCode, ErrorCode, LIMITS, LOBBY, PROTOCOL_VERSION } from '../../signal-server/protocol/protocol.ts';
import type { RunningServer } from '../../signal-server/server.ts';
import { join, listRooms, nextError, presenceEvent, roundTrip, type TestClient } from './helpers.ts';
import { makeIdentity, signChallenge } from '../support/test-client.ts';
import {
  ADMIN_TOKEN,
  MAIN_JS,
  ModScope,
  becomeAdmin,
  ensureServerBuilt,
  freePort,
  nextFrame,
  noneOf,
  runCompiled,
  sendHello,
  stopCompiled,
  waitHealthy,
  type CompiledRun,
} from './moderation-helpers.ts';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

type TokenCall = { token: string | undefined; why: string };

/** Every file in the data directory, as text. */
function dataFiles(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).map((name) => [name, readFileSync(path.join(dir, name), 'utf8')]));
}

/** Tries a token; resolves with the outcome. */
async function tryAdmin(client: TestClient, token: string): Promise<'admin' | 'admin-wrong' | { throttled: number }> {
  client.send({ type: 'admin', token });
  const answer = await nextFrame(client, (f) => f.type === 'admin' || (f.type === 'error' && f.ref === 'admin'), 'the answer to admin');
  if (answer.type === 'admin') return 'admin';
  assert.equal(answer.type, 'error');
  if (answer.type !== 'error') throw new Error('unreachable');
  if (answer.code === ErrorCode.throttled) {
    assert.ok(answer.retryAfterMs !== undefined && answer.retryAfterMs > 0 && answer.retryAfterMs <= 10 * 60_000, `retryAfterMs ${answer.retryAfterMs}`);
    return { throttled: answer.retryAfterMs };
  }
  assert.equal(answer.code, ErrorCode.adminWrong);
  assert.equal(answer.message, 'That admin token is not right.');
  return 'admin-wrong';
}

describe('the admin token', () => {
  let scope: ModScope;
  beforeEach(() => {
    scope = new ModScope();
  });
  afterEach(() => scope.dispose());

  test('on first start a token is made and handed out once; only its hash is stored', async () => {
    const dataDir = scope.tempDir('wisp-data-');
    const calls: TokenCall[] = [];
    const server = await scope.start({ dataDir, adminToken: undefined }, { onAdminToken: (token, why) => calls.push({ token, why }) });
    assert.equal(calls.length, 1);
    const [{ token, why }] = calls;
    assert.equal(why, 'first-start');
    assert.ok(token && token.length >= 24, `a long random token: ${token}`);

    const admin = JSON.parse(readFileSync(path.join(dataDir, 'admin.json'), 'utf8'));
    assert.deepEqual(Object.keys(admin).sort(), ['createdAt', 'tokenHash', 'version']);
    assert.equal(admin.tokenHash, sha256(token));
    for (const [name, text] of Object.entries(dataFiles(dataDir))) assert.ok(!text.includes(token), `${name} holds the token itself`);

    const client = await scope.connect(server);
    assert.equal(await tryAdmin(client, token), 'admin');
  });

  test('a second start with the same data directory makes no new token; the first one still works', async () => {
    const dataDir = scope.tempDir('wisp-data-');
    const calls: TokenCall[] = [];
    const first = await scope.start({ dataDir, adminToken: undefined }, { onAdminToken: (token, why) => calls.push({ token, why }) });
    await first.close();
    const stored = readFileSync(path.join(dataDir, 'admin.json'), 'utf8');
    const second = await scope.start({ dataDir, adminToken: undefined }, { onAdminToken: (token, why) => calls.push({ token, why }) });
    assert.equal(calls.length, 1, 'nothing printed on the second start');
    assert.equal(readFileSync(path.join(dataDir, 'admin.json'), 'utf8'), stored);
    const client = await scope.connect(second);
    assert.equal(await tryAdmin(client, calls[0].token!), 'admin');
  });

  test('--rotate-admin-token makes a new token at start; the old one stops working', async () => {
    const dataDir = scope.tempDir('wisp-data-');
    const calls: TokenCall[] = [];
    const onAdminToken = (token: string | undefined, why: string) => calls.push({ token, why });
    await (await scope.start({ dataDir, adminToken: undefined }, { onAdminToken })).close();
    const rotated = await scope.start({ dataDir, adminToken: undefined, rotateAdminToken: true }, { onAdminToken });
    assert.deepEqual(calls.map((c) => c.why), ['first-start', 'rotated']);
    const [old, fresh] = calls.map((c) => c.token!);
    assert.notEqual(fresh, old);
    assert.equal(JSON.parse(readFileSync(path.join(dataDir, 'admin.json'), 'utf8')).tokenHash, sha256(fresh));
    const client = await scope.connect(rotated);
    assert.equal(await tryAdmin(client, old), 'admin-wrong');
    assert.equal(await tryAdmin(client, fresh), 'admin');
  });

  test('--admin-token sets the token (only its hash is stored) and replaces a generated one', async () => {
    const dataDir = scope.tempDir('wisp-data-');
    const calls: TokenCall[] = [];
    const onAdminToken = (token: string | undefined, why: string) => calls.push({ token, why });
    await (await scope.start({ dataDir, adminToken: undefined }, { onAdminToken })).close();
    const server = await scope.start({ dataDir, adminToken: ADMIN_TOKEN }, { onAdminToken });
    assert.deepEqual(calls[1], { token: undefined, why: 'set' }, 'a token the operator chose is not echoed');
    for (const [name, text] of Object.entries(dataFiles(dataDir))) assert.ok(!text.includes(ADMIN_TOKEN), `${name} holds the token itself`);
    const client = await scope.connect(server);
    assert.equal(await tryAdmin(client, calls[0].token!), 'admin-wrong');
    assert.equal(await tryAdmin(client, ADMIN_TOKEN), 'admin');
    await server.close();
    // A later start without the flag keeps it.
    const later = await scope.start({ dataDir, adminToken: undefined }, { onAdminToken });
    assert.equal(calls.length, 2);
    assert.equal(await tryAdmin(await scope.connect(later), ADMIN_TOKEN), 'admin');
  });

  test('a wrong token gets admin-wrong and no power; the room sees the real admin flag', async () => {
    const server = await scope.start();
    const watcher = await scope.connect(server);
    await join(watcher, LOBBY);
    const guesser = await scope.connect(server, { name: 'Guesser' });
    await join(guesser, LOBBY);
    assert.equal(await tryAdmin(guesser, 'not-the-admin-token'), 'admin-wrong');
    guesser.send({ type: 'audit' });
    await nextError(guesser, ErrorCode.forbidden, 'audit');
    assert.equal(await tryAdmin(guesser, ADMIN_TOKEN), 'admin');
    await presenceEvent(watcher, LOBBY, (e) => e.k === 'role' && e.id === guesser.id && e.admin === true);
    guesser.send({ type: 'audit' });
    const actions = (await guesser.next('audit')).entries.map((e) => e.action);
    assert.deepEqual(actions, ['admin-denied', 'admin-granted'], 'failed attempts are audited too');
  });

  test('after 3 wrong tokens on one connection even the right token is throttled; another identity may still try', async () => {
    const server = await scope.start();
    const guesser = await scope.connect(server);
    for (let i = 0; i < LIMITS.secretGuessesPerConnection; i++) assert.equal(await tryAdmin(guesser, `wrong-${i}-xxxxxxxxxxxx`), 'admin-wrong');
    const outcome = await tryAdmin(guesser, ADMIN_TOKEN);
    assert.equal(typeof outcome, 'object', `throttled, got ${JSON.stringify(outcome)}`);
    guesser.send({ type: 'audit' });
    await nextError(guesser, ErrorCode.forbidden, 'audit');
    const other = await scope.connect(server);
    assert.equal(await tryAdmin(other, ADMIN_TOKEN), 'admin');
  });

  test('the guesser is throttled per identity: a new connection with its identity has only what is left, and a connection cannot change identity', async () => {
    const server = await scope.start();
    const guesser = await scope.connect(server);
    for (let i = 0; i < LIMITS.secretGuessesPerConnection; i++) assert.equal(await tryAdmin(guesser, `wrong-${i}-xxxxxxxxxxxx`), 'admin-wrong');
    const again = await scope.connect(server, { identity: guesser.identity });
    for (let i = LIMITS.secretGuessesPerConnection; i < LIMITS.secretGuessesPerIdentity; i++) assert.equal(await tryAdmin(again, `wrong-${i}-xxxxxxxxxxxx`), 'admin-wrong');
    assert.equal(typeof (await tryAdmin(again, ADMIN_TOKEN)), 'object', 'the identity has used up its guesses');
    // A second hello with a fresh identity is refused: the connection keeps its identity and its count.
    const fresh = makeIdentity();
    again.send({ type: 'hello', v: PROTOCOL_VERSION, key: fresh.key, sig: signChallenge(fresh, again.nonce) });
    await nextError(again, ErrorCode.alreadyHello, 'hello');
    assert.equal(typeof (await tryAdmin(again, ADMIN_TOKEN)), 'object', 'still throttled');
  });

  test('a neighbour\'s wrong tokens from the same address do not stop the admin\'s right token', async () => {
    const server = await scope.start();
    // Tests connect from 127.0.0.1: the neighbour and the admin share an address.
    const neighbour = await scope.connect(server);
    for (let i = 0; i < LIMITS.secretGuessesPerConnection; i++) assert.equal(await tryAdmin(neighbour, `wrong-${i}-xxxxxxxxxxxx`), 'admin-wrong');
    const back = await scope.connect(server, { identity: neighbour.identity });
    for (let i = LIMITS.secretGuessesPerConnection; i < LIMITS.secretGuessesPerIdentity; i++) assert.equal(await tryAdmin(back, `wrong-${i}-xxxxxxxxxxxx`), 'admin-wrong');
    const throttled = await tryAdmin(back, 'yet-another-wrong-token');
    assert.equal(typeof throttled, 'object', 'the neighbour is throttled');
    const admin = await scope.connect(server);
    assert.equal(await tryAdmin(admin, ADMIN_TOKEN), 'admin', 'the admin on the same address is not');
  });

  test(`past ${LIMITS.secretGuessesPerIp} wrong tokens from one address, identities that guessed wrong are stopped; a fresh identity keeps one try`, async () => {
    const server = await scope.start({ trustProxy: ['127.0.0.1'] });
    const from = '198.51.100.7';
    const early = await scope.connect(server, { from });
    assert.equal(await tryAdmin(early, 'an-early-wrong-token'), 'admin-wrong');
    // A flood of identities, each within its own limits, up to the address bound.
    for (let wrong = 1; wrong < LIMITS.secretGuessesPerIp; ) {
      const flooder = await scope.connect(server, { from });
      for (let k = 0; k < LIMITS.secretGuessesPerConnection && wrong < LIMITS.secretGuessesPerIp; k++, wrong++) {
        assert.equal(await tryAdmin(flooder, `wrong-${wrong}-xxxxxxxxxxxx`), 'admin-wrong');
      }
      flooder.close();
    }
    assert.equal(typeof (await tryAdmin(early, ADMIN_TOKEN)), 'object', 'an identity with a wrong guess is stopped by the address bound, under its own limit');
    const guesser = await scope.connect(server, { from });
    assert.equal(await tryAdmin(guesser, 'a-fresh-wrong-token'), 'admin-wrong', 'a fresh identity gets one try');
    assert.equal(typeof (await tryAdmin(guesser, ADMIN_TOKEN)), 'object', 'and only one');
    const admin = await scope.connect(server, { from });
    assert.equal(await tryAdmin(admin, ADMIN_TOKEN), 'admin', 'a fresh identity with the right token gets in');
    const elsewhere = await scope.connect(server, { from: '198.51.100.8' });
    assert.equal(await tryAdmin(elsewhere, 'wrong-elsewhere-xxxxxxxxxx'), 'admin-wrong');
    assert.equal(await tryAdmin(elsewhere, ADMIN_TOKEN), 'admin', 'other addresses are not bounded');
  });
});

describe('the admin token printed by the compiled server', () => {
  const scope = new ModScope();
  const runs: CompiledRun[] = [];
  before(() => ensureServerBuilt());
  after(async () => {
    for (const run of runs) if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
    await scope.dispose();
  });

  test(`${path.relative(process.cwd(), MAIN_JS)} prints the token on first start only`, async () => {
    const dataDir = scope.tempDir('wisp-data-');
    const staticDir = scope.staticDir();
    const start = async () => {
      const port = await freePort();
      const run = runCompiled(['--port', String(port), '--data-dir', dataDir, '--static-dir', staticDir, '--quiet']);
      runs.push(run);
      await waitHealthy(run, port);
      return { run, port };
    };
    const first = await start();
    const printed = /Admin token: (\S+)/.exec(first.run.stdout);
    assert.ok(printed, `the token is printed: ${first.run.stdout}`);
    const token = printed[1];
    assert.ok(first.run.stdout.includes(`/admin ${token}`), 'with how to use it');
    assert.equal(JSON.parse(readFileSync(path.join(dataDir, 'admin.json'), 'utf8')).tokenHash, sha256(token));
    assert.deepEqual(await stopCompiled(first.run), { code: 0, signal: null });

    const second = await start();
    const client = await scope.connect(`http://127.0.0.1:${second.port}`);
    assert.equal(await tryAdmin(client, token), 'admin', 'the printed token works after a restart');
    assert.deepEqual(await stopCompiled(second.run), { code: 0, signal: null });
    assert.ok(!/Admin token/.test(second.run.stdout), `nothing printed the second time: ${second.run.stdout}`);
    assert.ok(!second.run.stdout.includes(token));
  });
});

describe('the server password', () => {
  let scope: ModScope;
  beforeEach(() => {
    scope = new ModScope();
  });
  afterEach(() => scope.dispose());

  const PASSWORD = 'club-secret';

  /** Connects a new identity (or a given one) and says hello; resolves with the first answer. */
  async function arrive(server: RunningServer, options: { identity?: TestClient['identity']; name?: string; from?: string } = {}) {
    const client = await scope.connect(server, { identity: options.identity, from: options.from, noHello: true });
    sendHello(client, options.name);
    const first = await nextFrame(client, (f) => f.type === 'welcome' || f.type === 'password-required' || f.type === 'error', 'the answer to hello');
    if (first.type === 'welcome') client.welcome = first;
    return { client, first };
  }

  async function tryPassword(client: TestClient, password: string) {
    client.send({ type: 'password', password });
    const answer = await nextFrame(client, (f) => f.type === 'welcome' || (f.type === 'error' && f.ref === 'password'), 'the answer to password');
    if (answer.type === 'welcome') client.welcome = answer;
    return answer;
  }

  test('a new identity gets only the password prompt until it gives the password', async () => {
    const server = await scope.start({ password: PASSWORD });
    const insider = await scope.connect(server, { noHello: true });
    sendHello(insider);
    await insider.next('password-required');
    assert.equal((await tryPassword(insider, PASSWORD)).type, 'welcome');
    await join(insider, LOBBY);

    const { client, first } = await arrive(server, { name: 'Newcomer' });
    assert.equal(first.type, 'password-required');
    for (const frame of [
      { type: 'join', room: LOBBY },
      { type: 'list-rooms' },
      { type: 'say', room: LOBBY, cid: 'c1', text: 'hello?' },
      { type: 'admin', token: ADMIN_TOKEN },
      { type: 'signal', to: insider.welcome!.id, data: 'offer' },
      { type: 'ping' },
    ]) {
      client.send(frame);
      const error = await nextError(client, ErrorCode.passwordRequired, frame.type);
      assert.match(error.message, /password/);
    }
    assert.ok(await noneOf(insider, 'signal'), 'nothing reached the people inside');
    assert.ok(await noneOf(insider, 'message'));
    assert.deepEqual(await listRooms(insider), [{ name: LOBBY, members: 1 }]);
    assert.ok(client.all('admin').length === 0 && client.all('joined').length === 0 && client.all('rooms').length === 0);
    assert.equal(client.closed, undefined, 'asking nicely is not abuse');

    const welcome = await tryPassword(client, PASSWORD);
    assert.equal(welcome.type, 'welcome');
    if (welcome.type === 'welcome') assert.equal(welcome.name, 'Newcomer', 'the name from hello is kept');
    await join(client, LOBBY);
    await roundTrip(client);
  });

  test('a wrong password gets password-wrong; after 3 on a connection even the right one is throttled', async () => {
    const server = await scope.start({ password: PASSWORD });
    const { client } = await arrive(server);
    for (let i = 0; i < 3; i++) {
      const answer = await tryPassword(client, `guess-${i}`);
      assert.equal(answer.type === 'error' && answer.code, ErrorCode.passwordWrong);
    }
    const throttled = await tryPassword(client, PASSWORD);
    assert.equal(throttled.type === 'error' && throttled.code, ErrorCode.throttled);
    assert.ok(throttled.type === 'error' && throttled.retryAfterMs! > 0);
    client.send({ type: 'list-rooms' });
    await nextError(client, ErrorCode.passwordRequired, 'list-rooms');
    // Another identity from the address may still try.
    const { client: second } = await arrive(server);
    assert.equal((await tryPassword(second, PASSWORD)).type, 'welcome');
  });

  test('a neighbour\'s wrong passwords from the same address do not stop a newcomer with the right one; the neighbour stays throttled on a new connection', async () => {
    const server = await scope.start({ password: PASSWORD });
    const { client: neighbour } = await arrive(server);
    for (let i = 0; i < LIMITS.secretGuessesPerConnection; i++) {
      const answer = await tryPassword(neighbour, `guess-${i}`);
      assert.equal(answer.type === 'error' && answer.code, ErrorCode.passwordWrong);
    }
    const { client: back } = await arrive(server, { identity: neighbour.identity });
    for (let i = LIMITS.secretGuessesPerConnection; i < LIMITS.secretGuessesPerIdentity; i++) {
      const answer = await tryPassword(back, `guess-${i}`);
      assert.equal(answer.type === 'error' && answer.code, ErrorCode.passwordWrong);
    }
    const throttled = await tryPassword(back, PASSWORD);
    assert.equal(throttled.type === 'error' && throttled.code, ErrorCode.throttled, 'the identity is throttled, on its new connection too');
    assert.ok(throttled.type === 'error' && throttled.retryAfterMs! > 0);
    assert.equal(throttled.type === 'error' && throttled.message, 'Too many wrong passwords; wait a few minutes.');
    const { client: newcomer } = await arrive(server);
    assert.equal((await tryPassword(newcomer, PASSWORD)).type, 'welcome', 'the newcomer on the same address gets in');
  });

  test(`past ${LIMITS.secretGuessesPerIp} wrong passwords from one address, identities that guessed wrong are stopped; a fresh one with the right password gets in`, async () => {
    const server = await scope.start({ password: PASSWORD, trustProxy: ['loopback'] });
    const from = '198.51.100.7';
    const { client: early } = await arrive(server, { from });
    const first = await tryPassword(early, 'early-guess');
    assert.equal(first.type === 'error' && first.code, ErrorCode.passwordWrong);
    for (let wrong = 1; wrong < LIMITS.secretGuessesPerIp; ) {
      const { client } = await arrive(server, { from });
      for (let k = 0; k < LIMITS.secretGuessesPerConnection && wrong < LIMITS.secretGuessesPerIp; k++, wrong++) {
        const answer = await tryPassword(client, `guess-${wrong}`);
        assert.equal(answer.type === 'error' && answer.code, ErrorCode.passwordWrong);
      }
      client.close();
    }
    const stopped = await tryPassword(early, PASSWORD);
    assert.equal(stopped.type === 'error' && stopped.code, ErrorCode.throttled, 'an identity with a wrong guess is stopped by the address bound');
    const { client: newcomer } = await arrive(server, { from });
    assert.equal((await tryPassword(newcomer, PASSWORD)).type, 'welcome', 'a fresh identity with the right password gets in');
    const { client: other } = await arrive(server, { from: '198.51.100.8' });
    assert.equal((await tryPassword(other, PASSWORD)).type, 'welcome');
  });

  test('an admitted identity is not asked again, also after a restart; a new one still is', async () => {
    const dataDir = scope.tempDir('wisp-data-');
    const server = await scope.start({ password: PASSWORD, dataDir });
    const { client, first } = await arrive(server);
    assert.equal(first.type, 'password-required');
    assert.equal((await tryPassword(client, PASSWORD)).type, 'welcome');
    const identity = client.identity;
    client.close();
    await client.waitClose();

    const again = await arrive(server, { identity });
    assert.equal(again.first.type, 'welcome', 'the server remembers the identity');
    again.client.close();
    await server.close();

    const members = JSON.parse(readFileSync(path.join(dataDir, 'members.json'), 'utf8'));
    assert.deepEqual(members.keys, [identity.key]);
    assert.ok(!readFileSync(path.join(dataDir, 'members.json'), 'utf8').includes(PASSWORD));

    const restarted = await scope.start({ password: PASSWORD, dataDir });
    assert.equal((await arrive(restarted, { identity })).first.type, 'welcome', 'remembered after a restart');
    assert.equal((await arrive(restarted)).first.type, 'password-required', 'a new identity is still asked');
  });

  test('a banned identity is refused before the password prompt; a password frame when none is needed is an error', async () => {
    const server = await scope.start({ password: PASSWORD });
    const { client: admin } = await arrive(server);
    await tryPassword(admin, PASSWORD);
    await becomeAdmin(admin);
    const { client: troll } = await arrive(server);
    await tryPassword(troll, PASSWORD);
    admin.send({ type: 'ban', target: troll.id });
    await troll.waitClose();
    const back = await arrive(server, { identity: troll.identity });
    assert.equal(back.first.type === 'error' && back.first.code, ErrorCode.banned);
    assert.equal((await back.client.waitClose()).code, CloseCode.banned);

    admin.send({ type: 'password', password: PASSWORD });
    await nextError(admin, ErrorCode.badFrame, 'password');
  });
});
