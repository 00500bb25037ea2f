// The audit trail as an append-only log: JSON lines appended (never rewritten), rotated by
// size into a fixed number of files, read back newest-first for /audit, an old audit.json
// migrated once, and a corrupt line skipped with one warning naming the file.
import { test, afterEach, mock } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AuditLog, type AuditRecord } from '../../signal-server/audit-log.ts';
import { Store } from '../../signal-server/store.ts';
import { LIMITS } from '../../signal-server/protocol/protocol.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'wisp-audit-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  mock.restoreAll();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const entry = (i: number, detail = ''): AuditRecord => ({ at: 1_700_000_000_000 + i, actor: `Root (${i})`, action: 'topic', room: 'hall', detail: `${i}${detail}` });
const lines = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as AuditRecord);

test('records are appended as JSON lines: each append carries only the new records', async () => {
  const dir = tempDir();
  const log = await AuditLog.open(dir);
  const appended: string[] = [];
  const append = log.append;
  log.append = (file, text) => {
    appended.push(text);
    return append(file, text);
  };
  await log.record(entry(1));
  await log.record(entry(2));
  await log.flush();
  assert.deepEqual(appended, [`${JSON.stringify(entry(1))}\n`, `${JSON.stringify(entry(2))}\n`], 'nothing rewritten');
  assert.deepEqual(lines(path.join(dir, 'audit.log')), [entry(1), entry(2)]);
  assert.equal(statSync(path.join(dir, 'audit.log')).mode & 0o777, 0o600);
});

test('rotated by size: at most LIMITS.auditLogFiles files, none past the size limit; read back newest first', async () => {
  const dir = tempDir();
  // A second between records: within the disk's share (LIMITS.auditWritesPerMinute).
  let now = 0;
  const log = await AuditLog.open(dir, () => (now += 60_000 / LIMITS.auditWritesPerMinute));
  const padding = 'x'.repeat(200);
  const perFile = Math.ceil(LIMITS.auditLogMaxBytes / JSON.stringify(entry(0, padding)).length);
  const total = perFile * (LIMITS.auditLogFiles + 1);
  for (let i = 0; i < total; i++) void log.record(entry(i, padding));
  await log.flush();
  const expected = ['audit.log', ...Array.from({ length: LIMITS.auditLogFiles - 1 }, (_, n) => `audit.log.${n + 1}`)];
  assert.deepEqual(readdirSync(dir).sort(), expected.sort(), 'older files dropped');
  for (const file of expected) assert.ok(statSync(path.join(dir, file)).size <= LIMITS.auditLogMaxBytes, `${file} within the limit`);
  const newest = lines(path.join(dir, 'audit.log'));
  assert.deepEqual(newest.at(-1), entry(total - 1, padding), 'the newest record is last in audit.log');
  const older = lines(path.join(dir, 'audit.log.1'));
  assert.equal(older.at(-1)!.at + 1, newest[0]!.at, 'audit.log.1 ends where audit.log begins');
  assert.equal(log.recent.length, LIMITS.auditRecordsInMemory, 'memory holds a bounded number');
  const reopened = await AuditLog.open(dir);
  assert.deepEqual(reopened.recent, log.recent, 'the newest records, in order, read back');
});

test('a flood of records: the disk gets the burst, then one line saying how many were left out; memory still holds the newest', async () => {
  const dir = tempDir();
  let now = 0;
  const log = await AuditLog.open(dir, () => now);
  const flood = LIMITS.auditWritesBurst + 700;
  for (let i = 0; i < flood; i++) void log.record(entry(i));
  await log.flush();
  const written = lines(path.join(dir, 'audit.log'));
  assert.equal(written.length, LIMITS.auditWritesBurst + 1, 'the burst, and the summary written at flush');
  assert.deepEqual(written.at(-1)!.action, 'audit-skipped');
  assert.match(written.at(-1)!.detail!, new RegExp(`^700 records not written: more than ${LIMITS.auditWritesPerMinute} a minute$`));
  assert.deepEqual(log.recent.at(-1), entry(flood - 1), '/audit still shows the newest');
  // A minute later the disk takes records again, at the fixed rate.
  now += 60_000;
  for (let i = 0; i < LIMITS.auditWritesPerMinute + 10; i++) void log.record(entry(flood + i));
  await log.flush();
  const after = lines(path.join(dir, 'audit.log')).slice(written.length);
  assert.equal(after.filter((r) => r.action === 'topic').length, LIMITS.auditWritesPerMinute, "a minute's worth");
  assert.match(after.at(-1)!.detail!, /^10 records not written/);
});

test('an old audit.json is migrated once: appended to audit.log, then removed', async () => {
  const dir = tempDir();
  const entries = [entry(1), entry(2), entry(3)];
  writeFileSync(path.join(dir, 'audit.json'), JSON.stringify({ version: 1, entries }));
  const store = await Store.open(dir);
  assert.equal(existsSync(path.join(dir, 'audit.json')), false, 'audit.json removed');
  assert.deepEqual(lines(path.join(dir, 'audit.log')), entries);
  assert.deepEqual(store.audit, entries);
  const again = await Store.open(dir);
  assert.deepEqual(again.audit, entries, 'not migrated twice');
  assert.deepEqual(lines(path.join(dir, 'audit.log')), entries);
});

test('a corrupt line is skipped with one warning naming the file; the start goes on', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'audit.log');
  writeFileSync(file, [JSON.stringify(entry(1)), '{"at":', 'not json', JSON.stringify({ at: 'never' }), JSON.stringify(entry(2)), ''].join('\n'));
  const warnings: string[] = [];
  mock.method(console, 'error', (line: string) => void warnings.push(line));
  const store = await Store.open(dir);
  assert.deepEqual(store.audit, [entry(1), entry(2)]);
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.ok(warnings[0]!.includes(file), warnings[0]);
  assert.match(warnings[0]!, /skipped 3 corrupt lines/);
});
