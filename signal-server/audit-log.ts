// The audit trail on disk: JSON lines appended to audit.log (one record a line, never
// rewritten), rotated by size into audit.log.1, audit.log.2 (LIMITS.auditLogMaxBytes,
// LIMITS.auditLogFiles). The newest records are held in memory for the admin's /audit.
// Not durable state the server needs: a corrupt line is skipped with one warning per file.
import { appendFile, readFile, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import * as v from 'valibot';
import { LIMITS } from './protocol/protocol.ts';
import { PersonThrottle } from './change-throttles.ts';

const Time = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
export const AuditEntrySchema = v.object({
  at: Time,
  actor: v.string(),
  action: v.string(),
  target: v.optional(v.string()),
  room: v.optional(v.string()),
  detail: v.optional(v.string()),
});
export type AuditRecord = v.InferOutput<typeof AuditEntrySchema>;

export const AUDIT_LOG = 'audit.log';

/** Appends a batch of lines; tests wrap it to count bytes. */
export type Appender = (file: string, text: string) => Promise<void>;

export class AuditLog {
  /** The newest records, oldest first, at most LIMITS.auditRecordsInMemory. */
  readonly recent: AuditRecord[] = [];
  append: Appender = (file, text) => appendFile(file, text, { mode: 0o600 });
  private queued: string[] = [];
  /** The disk's share of a flood: past this, records are counted, not written. */
  private readonly writes: PersonThrottle;
  private unwritten = 0;
  private writing?: Promise<void>;
  private size = 0;

  private constructor(
    readonly dir: string,
    now: () => number,
  ) {
    this.writes = new PersonThrottle(LIMITS.auditWritesPerMinute, LIMITS.auditWritesBurst, now);
  }

  private get file(): string {
    return path.join(this.dir, AUDIT_LOG);
  }

  private rotated(n: number): string {
    return n === 0 ? this.file : `${this.file}.${n}`;
  }

  /** Reads the newest records back from the newest files. */
  static async open(dir: string, now: () => number = Date.now): Promise<AuditLog> {
    const log = new AuditLog(dir, now);
    for (let n = 0; n < LIMITS.auditLogFiles && log.recent.length < LIMITS.auditRecordsInMemory; n++) {
      const records = await readRecords(log.rotated(n));
      log.recent.unshift(...records.slice(-(LIMITS.auditRecordsInMemory - log.recent.length)));
    }
    try {
      log.size = (await stat(log.file)).size;
    } catch {
      log.size = 0;
    }
    return log;
  }

  /** Adds a record: in memory now, appended to the file soon (batched, one append in flight). */
  record(entry: AuditRecord): Promise<void> {
    this.recent.push(entry);
    if (this.recent.length > LIMITS.auditRecordsInMemory) this.recent.splice(0, this.recent.length - LIMITS.auditRecordsInMemory);
    if (this.writes.take('disk') > 0) {
      this.unwritten++;
      return Promise.resolve();
    }
    if (this.unwritten > 0) {
      this.queued.push(`${JSON.stringify(this.skippedRecord(entry.at))}\n`);
      this.unwritten = 0;
    }
    this.queued.push(`${JSON.stringify(entry)}\n`);
    return this.drain();
  }

  private skippedRecord(at: number): AuditRecord {
    return { at, actor: 'server', action: 'audit-skipped', detail: `${this.unwritten} record${this.unwritten === 1 ? '' : 's'} not written: more than ${LIMITS.auditWritesPerMinute} a minute` };
  }

  /** Resolves once every record so far is appended (with a count of those the rate left out). */
  async flush(): Promise<void> {
    if (this.unwritten > 0) {
      this.queued.push(`${JSON.stringify(this.skippedRecord(Date.now()))}\n`);
      this.unwritten = 0;
    }
    while (this.writing || this.queued.length) await this.drain().catch(() => undefined);
  }

  private drain(): Promise<void> {
    this.writing ??= this.writeQueued().finally(() => (this.writing = undefined));
    return this.writing;
  }

  private async writeQueued(): Promise<void> {
    let failure: unknown;
    while (this.queued.length) {
      const full = this.size > 0 && this.size + Buffer.byteLength(this.queued[0]!) > LIMITS.auditLogMaxBytes;
      // Taken before anything can fail: a batch that fails is dropped, never retried forever.
      const text = this.takeFitting(full ? 0 : this.size);
      try {
        if (full) await this.rotate();
        await this.append(this.file, text);
        this.size += Buffer.byteLength(text);
      } catch (error) {
        failure = error;
      }
    }
    if (failure) throw failure;
  }

  /** The queued lines that fit in the current file (at least one), removed from the queue. */
  private takeFitting(size: number): string {
    let bytes = size;
    let count = 0;
    for (const line of this.queued) {
      const next = bytes + Buffer.byteLength(line);
      if (count > 0 && next > LIMITS.auditLogMaxBytes) break;
      bytes = next;
      count++;
    }
    return this.queued.splice(0, count).join('');
  }

  /** audit.log → audit.log.1 → audit.log.2 ...; the oldest beyond LIMITS.auditLogFiles is replaced. */
  private async rotate(): Promise<void> {
    for (let n = LIMITS.auditLogFiles - 1; n > 0; n--) {
      try {
        await rename(this.rotated(n - 1), this.rotated(n));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    this.size = 0;
  }
}

/** The valid records of one log file (none if it is missing); corrupt lines skipped, one warning per file. */
async function readRecords(file: string): Promise<AuditRecord[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    console.error(`wisp: could not read the audit log ${file}: ${(error as Error).message}`);
    return [];
  }
  const records: AuditRecord[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let data: unknown;
    try {
      data = JSON.parse(line);
    } catch {
      skipped++;
      continue;
    }
    const parsed = v.safeParse(AuditEntrySchema, data);
    if (parsed.success) records.push(parsed.output);
    else skipped++;
  }
  if (skipped) console.error(`wisp: skipped ${skipped} corrupt line${skipped === 1 ? '' : 's'} in the audit log ${file}`);
  return records;
}
