// Chat history kept on this device: one IndexedDB record per line, sealed with the
// history key (../crypto/history-key.ts). Its own small database with two indexes, so
// appending is one small write, a conversation loads its newest lines without reading
// the others, and age, purge and per-conversation deletes are key-range walks.
// In the clear: the conversation id (room name, or "@" + the contact's key), the line id
// and its time, which the deletes need. Sealed: everything the line says.
import { HistorySealError, historyKey, openRecord, sealRecord, type SealedRecord } from '../crypto/history-key.ts';

const DB_NAME = 'wisp-history';
const STORE = 'lines';
const BY_CONV_TIME = 'conv-time';
const BY_TIME = 'time';

/** One kept line, as the app restores it. */
export interface KeptLine {
  key: string;
  kind: 'text' | 'action' | 'file';
  /** The text, or a file card's file name. */
  text: string;
  /** The time shown (a private room's sealed time, a whisper's sender time). */
  ts: number;
  /** The server's time for room lines, this device's for whispers: what age and purges count. */
  time: number;
  name?: string;
  from?: string;
  fromKey?: string;
  own?: boolean;
  /** File cards: the size; `own` says sent or received. No bytes are ever kept. */
  size?: number;
  /** Room lines: the server's time, when the time shown is another. */
  serverTs?: number;
  /** Own lines: the client id, and (whispers) that the other app decrypted it. */
  cid?: string;
  delivered?: boolean;
}

/** A line's place in a conversation: its time, then its id. */
export interface LinePlace {
  time: number;
  key: string;
}

interface StoredRecord extends SealedRecord {
  conv: string;
  key: string;
  time: number;
}

/** The browser refused the write: this origin's storage quota is used up. */
export class HistoryFullError extends Error {
  readonly code = 'history-full';
}

function done<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function finished(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    const fail = () => reject(tx.error?.name === 'QuotaExceededError' ? new HistoryFullError('this device is out of space for chat history') : (tx.error ?? new Error('history transaction aborted')));
    tx.onerror = fail;
    tx.onabort = fail;
  });
}

/** Every line of `conv`, in the (conversation, time) index. */
function convRange(conv: string, upTo = Infinity): IDBKeyRange {
  return IDBKeyRange.bound([conv, -Infinity], [conv, upTo]);
}

/** Additional data: a record opens only for the conversation and line it was sealed for. */
function place(conv: string, key: string): string {
  return JSON.stringify([conv, key]);
}

/** Deletes what a cursor walks over; resolves when the walk ends. */
function deleteWalk(request: IDBRequest<IDBCursorWithValue | null>, keep: (record: StoredRecord) => boolean = () => false, limit = Infinity): Promise<number> {
  let deleted = 0;
  return new Promise((resolve, reject) => {
    request.onerror = () => reject(request.error);
    request.onsuccess = () => {
      const cursor = request.result;
      if (!cursor || deleted >= limit) return resolve(deleted);
      if (!keep(cursor.value as StoredRecord)) {
        cursor.delete();
        deleted += 1;
      }
      cursor.continue();
    };
  });
}

export class LineStore {
  private opening?: Promise<IDBDatabase>;

  constructor(
    /** The most lines kept per conversation; the oldest beyond it are deleted. */
    private readonly cap: number,
    private readonly dbName = DB_NAME,
    private readonly key: () => Promise<CryptoKey> = historyKey,
  ) {}

  private db(): Promise<IDBDatabase> {
    this.opening ??= new Promise((resolve, reject) => {
      const request = indexedDB.open(this.dbName, 1);
      request.onupgradeneeded = () => {
        const store = request.result.createObjectStore(STORE, { keyPath: ['conv', 'key'] });
        store.createIndex(BY_CONV_TIME, ['conv', 'time']);
        store.createIndex(BY_TIME, 'time');
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    return this.opening;
  }

  private async tx(mode: IDBTransactionMode): Promise<{ tx: IDBTransaction; store: IDBObjectStore }> {
    const tx = (await this.db()).transaction(STORE, mode);
    return { tx, store: tx.objectStore(STORE) };
  }

  /** Keeps one line (again: the same id replaces it), then drops the conversation's oldest beyond the cap. */
  async append(conv: string, line: KeptLine): Promise<void> {
    const sealed = await sealRecord(await this.key(), place(conv, line.key), JSON.stringify(line));
    const record: StoredRecord = { conv, key: line.key, time: line.time, ...sealed };
    const { tx, store } = await this.tx('readwrite');
    const end = finished(tx);
    store.put(record);
    const count = await done(store.index(BY_CONV_TIME).count(convRange(conv)));
    if (count > this.cap) await deleteWalk(store.index(BY_CONV_TIME).openCursor(convRange(conv)), undefined, count - this.cap);
    await end;
  }

  /** The conversation's newest lines (at most `limit`), oldest first. Records that do not open are left out. */
  async load(conv: string, limit = this.cap): Promise<KeptLine[]> {
    return (await this.loadBefore(conv, undefined, limit)).lines;
  }

  /**
   * At most `limit` lines of the conversation just before `before` in (time, id) order
   * (none: its newest), oldest first, in one bounded walk of the (conversation, time) index;
   * `earlier`: it holds older ones still. Records that do not open are left out.
   */
  async loadBefore(conv: string, before: LinePlace | undefined, limit: number): Promise<{ lines: KeptLine[]; earlier: boolean }> {
    const { store } = await this.tx('readonly');
    const records: StoredRecord[] = [];
    // One more than asked for says whether older lines remain.
    await new Promise<void>((resolve, reject) => {
      const request = store.index(BY_CONV_TIME).openCursor(convRange(conv, before?.time), 'prev');
      request.onerror = () => reject(request.error);
      request.onsuccess = () => {
        const cursor = request.result;
        if (!cursor) return resolve();
        const record = cursor.value as StoredRecord;
        // Lines of the same millisecond are in id order: those from `before` on were read already.
        if (!before || record.time < before.time || record.key < before.key) records.push(record);
        if (records.length > limit) return resolve();
        cursor.continue();
      };
    });
    const earlier = records.length > limit;
    const key = await this.key();
    const lines: KeptLine[] = [];
    for (const record of records.slice(0, limit).reverse()) {
      try {
        const line = JSON.parse(await openRecord(key, place(conv, record.key), record)) as KeptLine;
        if (line.key === record.key) lines.push(line);
      } catch (error) {
        if (!(error instanceof HistorySealError)) throw error;
      }
    }
    return { lines, earlier };
  }

  /** Forgets one conversation ("Clear this conversation"). */
  deleteConversation(conv: string): Promise<number> {
    return this.deleteIn(BY_CONV_TIME, convRange(conv));
  }

  /** A purge: the room's lines from the server's `at` or before. */
  deletePurged(conv: string, at: number): Promise<number> {
    return this.deleteIn(BY_CONV_TIME, convRange(conv, at));
  }

  /** Retention: every line older than `cutoff`. */
  deleteOlderThan(cutoff: number): Promise<number> {
    return this.deleteIn(BY_TIME, IDBKeyRange.upperBound(cutoff, true));
  }

  /** Everything (the setting went to Off). */
  async clear(): Promise<void> {
    const { tx, store } = await this.tx('readwrite');
    store.clear();
    await finished(tx);
  }

  /** How many lines are kept, all conversations together. */
  async count(): Promise<number> {
    const { store } = await this.tx('readonly');
    return done(store.count());
  }

  close(): void {
    void this.opening?.then((db) => db.close());
    this.opening = undefined;
  }

  private async deleteIn(index: string, range: IDBKeyRange): Promise<number> {
    const { tx, store } = await this.tx('readwrite');
    const end = finished(tx);
    const deleted = await deleteWalk(store.index(index).openCursor(range));
    await end;
    return deleted;
  }
}
