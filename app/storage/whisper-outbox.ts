// Whispers written but not yet confirmed by the other app (no delivery receipt yet): kept in
// IndexedDB so a reload does not lose one that waits for its person to come online. Each
// belongs to one identity key, and goes only to that key. The whisper id makes sending
// again safe: the other app shows an id once.
import { KEYS, orderedWriter, read } from './db.ts';

export interface WaitingWhisper {
  id: string;
  /** The identity key it was written for. */
  key: string;
  /** That person's name when it was written, to show the conversation after a reload. */
  name: string;
  text: string;
  kind: 'text' | 'action';
  /** When it was written (local clock); the other app shows this time. */
  ts: number;
  /** When it stops waiting (local clock). */
  expiresAt: number;
  /** Not delivered before expiresAt: kept, shown as "Not delivered", until Retry or delivery. */
  expired?: boolean;
}

/** The most whispers kept waiting on this device; beyond that the oldest are dropped. */
export const MAX_WAITING_WHISPERS = 500;

function valid(item: unknown): item is WaitingWhisper {
  const w = item as WaitingWhisper;
  return (
    typeof w === 'object' &&
    w !== null &&
    typeof w.id === 'string' &&
    typeof w.key === 'string' &&
    typeof w.name === 'string' &&
    typeof w.text === 'string' &&
    (w.kind === 'text' || w.kind === 'action') &&
    Number.isSafeInteger(w.ts) &&
    Number.isSafeInteger(w.expiresAt) &&
    (w.expired === undefined || typeof w.expired === 'boolean')
  );
}

export class WhisperOutbox {
  private items: WaitingWhisper[] = [];
  private readonly write = orderedWriter<WaitingWhisper[]>(KEYS.whisperOutbox);

  async load(): Promise<WaitingWhisper[]> {
    const saved = await read<unknown[]>(KEYS.whisperOutbox);
    this.items = Array.isArray(saved) ? saved.filter(valid) : [];
    return [...this.items];
  }

  forKey(key: string): WaitingWhisper[] {
    return this.items.filter((w) => w.key === key);
  }

  get(id: string): WaitingWhisper | undefined {
    return this.items.find((w) => w.id === id);
  }

  keys(): string[] {
    return [...new Set(this.items.map((w) => w.key))];
  }

  all(): readonly WaitingWhisper[] {
    return this.items;
  }

  add(whisper: WaitingWhisper): Promise<void> {
    this.items = [...this.items, whisper].slice(-MAX_WAITING_WHISPERS);
    return this.persist();
  }

  update(id: string, change: Partial<Pick<WaitingWhisper, 'expiresAt' | 'expired'>>): Promise<void> {
    this.items = this.items.map((w) => (w.id === id ? { ...w, ...change } : w));
    return this.persist();
  }

  /** Delivered: it no longer waits. */
  remove(id: string): Promise<void> {
    if (!this.get(id)) return Promise.resolve();
    this.items = this.items.filter((w) => w.id !== id);
    return this.persist();
  }

  /** The last write always wins. */
  private persist(): Promise<void> {
    return this.write([...this.items]);
  }
}
