// A write to the data directory that fails (a full or read-only disk): the one who asked
// hears store-failed with a sentence, their connection stays, and the server keeps serving.
// Every command that waits for a write (ban, unban, room-create, room-delete) goes through
// the hub's one error path for handlers that return a promise.
import { test, describe, beforeEach, afterEach, mock } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, LOBBY } from '../../signal-server/protocol/protocol.ts';
import type { RunningServer } from '../../signal-server/server.ts';
import { join, nextError, roundTrip } from './helpers.ts';
import { ModScope, becomeAdmin } from './moderation-helpers.ts';

const SENTENCE = 'The server could not save that change; ask the operator to check its disk.';

describe('a write to the data directory fails', () => {
  let scope: ModScope;
  let server: RunningServer;
  let stderr: string[];
  beforeEach(async () => {
    scope = new ModScope();
    server = await scope.start();
    // The server says what failed on stderr; keep it to check, out of the test output.
    stderr = [];
    mock.method(console, 'error', (line: string) => void stderr.push(line));
  });
  afterEach(async () => {
    mock.restoreAll();
    await scope.dispose();
  });

  /** From now on every write of bans.json and rooms.json fails. */
  function breakDisk(): void {
    const fail = () => Promise.reject(new Error('ENOSPC: no space left on device'));
    server.hub.store.saveBans = fail;
    server.hub.store.saveRooms = fail;
  }

  test('ban, unban, room-create and room-delete each answer store-failed, and the connection keeps working', async () => {
    const admin = await scope.connect(server, { name: 'Root' });
    await becomeAdmin(admin);
    const person = await scope.connect(server, { name: 'Person' });
    await join(person, LOBBY);
    // Something to unban and something to delete, written while the disk still works.
    admin.send({ type: 'ban', room: LOBBY, target: person.id, reason: 'to be lifted' });
    await person.next('banned');
    const banId = server.hub.store.bans[0]!.id;
    admin.send({ type: 'room-create', room: 'hall' });
    await admin.next('rooms');

    breakDisk();
    const target = await scope.connect(server, { name: 'Target' });
    const attempts = [
      { type: 'ban', target: target.id, reason: 'disk is full' },
      { type: 'unban', ban: banId },
      { type: 'room-create', room: 'annex' },
      { type: 'room-delete', room: 'hall' },
    ] as const;
    for (const frame of attempts) {
      admin.send(frame);
      const error = await nextError(admin, ErrorCode.storeFailed);
      assert.equal(error.code, 'store-failed', `${frame.type}: the same string on the wire as ever`);
      assert.equal(error.message, SENTENCE, frame.type);
      assert.equal(error.ref, undefined, frame.type);
      await roundTrip(admin);
    }
    assert.equal(admin.ws.readyState, admin.ws.OPEN, 'store failures are not abuse: the admin stays connected');
    assert.equal(target.ws.readyState, target.ws.OPEN);
    assert.equal(stderr.filter((line) => line.startsWith('wisp: could not write to the data directory: ENOSPC')).length, attempts.length);
  });
});
