// Remembered admins: an identity that proved the admin token is admin again after a
// restart (admins.json), until it sends admin-forget or a new admin token is set; the
// audit trail records each step; a corrupt admins.json stops the start with its name.
import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode, LOBBY } from '../../signal-server/protocol/protocol.ts';
import { Store, StoreError } from '../../signal-server/store.ts';
import type { RunningServer } from '../../signal-server/server.ts';
import { join, nextError } from './helpers.ts';
import { ModScope, becomeAdmin, noneOf } from './moderation-helpers.ts';
import type { TestClient } from '../support/test-client.ts';

/** The audit trail's actions (and details), read by an admin. */
async function auditOf(admin: TestClient): Promise<{ action: string; detail?: string; actor: string }[]> {
  admin.send({ type: 'audit', limit: 500 });
  return (await admin.next('audit')).entries.map((e) => ({ action: e.action, detail: e.detail, actor: e.actor }));
}

/** Connects `identity` again and says whether the server made it admin on arrival (after a ping barrier). */
async function arrivesAsAdmin(scope: ModScope, server: RunningServer, identity?: TestClient['identity']): Promise<{ client: TestClient; admin: boolean }> {
  const client = await scope.connect(server, { identity, name: 'Root' });
  // A ping round trip: whatever the server sent on admission has arrived.
  if (await noneOf(client, 'admin')) return { client, admin: false };
  assert.deepEqual(client.all('admin'), [{ type: 'admin', remembered: true }]);
  // Right after welcome: before anything else the server sends this connection.
  assert.equal(client.frames[0]?.type, 'admin', `frames after welcome: ${client.frames.map((f) => f.type)}`);
  client.frames.splice(0, 1);
  return { client, admin: true };
}

/** A first server on a fresh data directory, and Root, who proved the admin token there. */
async function firstRunWithRoot(scope: ModScope): Promise<{ dataDir: string; first: RunningServer; root: TestClient }> {
  const dataDir = scope.tempDir('wisp-data-');
  const first = await scope.start({ dataDir });
  const root = await scope.connect(first, { name: 'Root' });
  await becomeAdmin(root);
  return { dataDir, first, root };
}

describe('remembered admins', () => {
  let scope: ModScope;
  beforeEach(() => {
    scope = new ModScope();
  });
  afterEach(() => scope.dispose());

  test('the admin is admin again after a restart, shown in presence, and the grant says it was remembered', async () => {
    const { dataDir, first, root } = await firstRunWithRoot(scope);
    await first.hub.store.flush();
    assert.deepEqual(JSON.parse(readFileSync(path.join(dataDir, 'admins.json'), 'utf8')).keys, [root.identity.key]);
    await first.close();

    const second = await scope.start({ dataDir });
    const back = await arrivesAsAdmin(scope, second, root.identity);
    assert.equal(back.admin, true);
    const joined = await join(back.client, LOBBY);
    assert.equal(joined.members.find((m) => m.id === back.client.id)?.admin, true, 'the member list shows the admin');
    // Admin-only commands work without the token.
    back.client.send({ type: 'room-create', room: 'hall' });
    assert.ok((await back.client.next('rooms')).rooms.some((r) => r.name === 'hall'));
    // Someone else is not made admin.
    const other = await arrivesAsAdmin(scope, second, undefined);
    assert.equal(other.admin, false);
  });

  test('admin-forget: kept on this connection, gone after a restart; audited; others are refused', async () => {
    const { dataDir, first, root } = await firstRunWithRoot(scope);
    const member = await scope.connect(first, { name: 'Member' });
    member.send({ type: 'admin-forget' });
    const refused = await nextError(member, ErrorCode.forbidden, 'admin-forget');
    assert.match(refused.message, /admin/);

    root.send({ type: 'admin-forget' });
    await root.next('admin-forgotten');
    await first.hub.store.flush();
    assert.deepEqual(JSON.parse(readFileSync(path.join(dataDir, 'admins.json'), 'utf8')).keys, []);
    // Still admin on this connection.
    const audit = await auditOf(root);
    assert.deepEqual(
      audit.map((e) => e.action),
      ['admin-granted', 'admin-forgotten'],
    );
    assert.equal(audit[0].detail, 'remembered as admin after restarts');
    assert.match(audit[1].actor, /^Root \([0-9a-f]{12}\)$/);
    await first.close();

    const second = await scope.start({ dataDir });
    const back = await arrivesAsAdmin(scope, second, root.identity);
    assert.equal(back.admin, false, 'forgotten: not admin after the restart');
    back.client.send({ type: 'room-create', room: 'hall' });
    assert.equal((await nextError(back.client, ErrorCode.forbidden, 'room-create')).code, ErrorCode.forbidden);
  });

  test('a new admin token forgets every remembered admin (audited); the same token does not', async () => {
    const { dataDir, first, root } = await firstRunWithRoot(scope);
    const deputy = await scope.connect(first, { name: 'Deputy' });
    await becomeAdmin(deputy);
    await first.close();

    // The same --admin-token again: both stay remembered.
    const second = await scope.start({ dataDir });
    assert.equal((await arrivesAsAdmin(scope, second, deputy.identity)).admin, true);
    await second.close();

    const third = await scope.start({ dataDir, adminToken: 'a-brand-new-admin-token-for-this-test' });
    const rootBack = await arrivesAsAdmin(scope, third, root.identity);
    assert.equal(rootBack.admin, false);
    assert.equal((await arrivesAsAdmin(scope, third, deputy.identity)).admin, false);
    assert.deepEqual(JSON.parse(readFileSync(path.join(dataDir, 'admins.json'), 'utf8')).keys, []);
    await becomeAdmin(rootBack.client, 'a-brand-new-admin-token-for-this-test');
    const dropped = (await auditOf(rootBack.client)).filter((e) => e.action === 'admins-forgotten');
    assert.deepEqual(dropped, [{ action: 'admins-forgotten', actor: 'server', detail: '2 remembered admins: a new admin token was set' }]);
  });

  test('--rotate-admin-token: the token made at start forgets every remembered admin', async () => {
    const { dataDir, first, root } = await firstRunWithRoot(scope);
    await first.close();
    const tokens: string[] = [];
    const second = await scope.start({ dataDir, adminToken: undefined, rotateAdminToken: true }, { onAdminToken: (token) => tokens.push(token!) });
    assert.equal(tokens.length, 1, 'a new token was made');
    const back = await arrivesAsAdmin(scope, second, root.identity);
    assert.equal(back.admin, false);
    await becomeAdmin(back.client, tokens[0]);
    const dropped = (await auditOf(back.client)).filter((e) => e.action === 'admins-forgotten');
    assert.deepEqual(dropped, [{ action: 'admins-forgotten', actor: 'server', detail: '1 remembered admin: a new admin token was made' }]);
  });

  test('a corrupt admins.json stops the start with its name and is left as it was', async () => {
    for (const content of ['{"version":1,"keys":', '{"version":1,"keys":"all"}']) {
      const dir = scope.tempDir('wisp-data-');
      const target = path.join(dir, 'admins.json');
      writeFileSync(target, content);
      await assert.rejects(Store.open(dir), (error: unknown) => {
        assert.ok(error instanceof StoreError, `a StoreError, got ${error}`);
        assert.equal(error.file, target);
        assert.match(error.message, /will not replace it/);
        return true;
      });
      await assert.rejects(scope.start({ dataDir: dir }), StoreError);
      assert.equal(readFileSync(target, 'utf8'), content);
      assert.deepEqual(readdirSync(dir), ['admins.json'], 'nothing else was written');
    }
  });
});
