// The last change is on disk when the server stops: a SIGTERM'd server (the compiled
// main.js, its own process) writes the changes still waiting for their write interval
// before it exits.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { roundTrip } from './helpers.ts';
import { ADMIN_TOKEN, ModScope, becomeAdmin, ensureServerBuilt, freePort, runCompiled, waitHealthy, type CompiledRun } from './moderation-helpers.ts';

const scope = new ModScope();
const runs: CompiledRun[] = [];
before(() => ensureServerBuilt());
after(async () => {
  for (const run of runs) if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
  await scope.dispose();
});

test('SIGTERM right after a burst of topic changes: rooms.json holds the last one', async () => {
  const dataDir = scope.tempDir('wisp-data-');
  const port = await freePort();
  const run = runCompiled(['--port', String(port), '--data-dir', dataDir, '--static-dir', scope.staticDir(), '--admin-token', ADMIN_TOKEN, '--quiet']);
  runs.push(run);
  await waitHealthy(run, port);
  const admin = await scope.connect(`http://127.0.0.1:${port}`, { name: 'Root' });
  await becomeAdmin(admin);
  admin.send({ type: 'room-create', room: 'hall' });
  await admin.next('rooms');
  admin.send({ type: 'join', room: 'hall' });
  await admin.next('joined');
  for (let i = 1; i <= 50; i++) admin.send({ type: 'topic', room: 'hall', topic: `topic ${i}` });
  // The server has handled all 50; the last ones wait for their write interval.
  await roundTrip(admin);
  run.child.kill('SIGTERM');
  const exit = await run.exit;
  assert.equal(exit.code, 0, `a clean exit: ${run.stderr}`);
  const rooms = JSON.parse(readFileSync(path.join(dataDir, 'rooms.json'), 'utf8'));
  assert.equal(rooms.rooms.find((r: { name: string }) => r.name === 'hall').topic, 'topic 50');
});
