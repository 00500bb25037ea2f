// A ban from a user room lasts as long as the room: once its last member leaves, the
// name is free and a new room by that name starts without the old bans. Bans from
// persistent rooms stay.
import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { ModScope, becomeAdmin, tryJoin } from './moderation-helpers.ts';
import { join } from './helpers.ts';

describe('room bans and the room they belong to', () => {
  let scope: ModScope;
  beforeEach(() => {
    scope = new ModScope();
  });
  afterEach(() => scope.dispose());

  test('a user room ban ends with the room', async () => {
    const server = await scope.start();
    const owner = await scope.connect(server, { name: 'Owner' });
    const pest = await scope.connect(server, { name: 'Pest' });
    await join(owner, 'games');
    await join(pest, 'games');
    owner.send({ type: 'ban', room: 'games', target: pest.id, reason: 'spam' });
    await pest.next('banned');
    const refused = await tryJoin(pest, 'games');
    assert.equal(refused.type, 'error', 'refused while the room exists');

    owner.send({ type: 'leave', room: 'games' });
    await owner.next('left');
    const joined = await tryJoin(pest, 'games');
    assert.equal(joined.type, 'joined', 'a new room by that name has no old bans');
    assert.equal(server.hub.store.bans.length, 0);
  });

  test('a persistent room ban stays when the room empties', async () => {
    const server = await scope.start();
    const admin = await scope.connect(server, { name: 'Admin' });
    await becomeAdmin(admin);
    admin.send({ type: 'room-create', room: 'hall' });
    await admin.next('rooms');
    const pest = await scope.connect(server, { name: 'Pest' });
    await join(admin, 'hall');
    await join(pest, 'hall');
    admin.send({ type: 'ban', room: 'hall', target: pest.id });
    await pest.next('banned');
    admin.send({ type: 'leave', room: 'hall' });
    await admin.next('left');
    const refused = await tryJoin(pest, 'hall');
    assert.equal(refused.type, 'error');
    assert.equal(server.hub.store.bans.length, 1);
  });
});
