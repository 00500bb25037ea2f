// Messages typed but not yet acknowledged by the server. Kept in IndexedDB so neither a
// dropped connection nor a reload loses them; the client id makes resending safe.
import { KEYS, orderedWriter, read } from './db.ts';

export interface PendingMessage {
  cid: string;
  room: string;
  text: string;
  kind: 'text' | 'action';
  /** When it was typed (local clock). */
  at: number;
  /** Typed in a private room: it goes out sealed or not at all. */
  sealed?: boolean;
}

export class Outbox {
  private items: PendingMessage[] = [];
  private saving: Promise<void> = Promise.resolve();
  private readonly write = orderedWriter<PendingMessage[]>(KEYS.outbox);

  async load(): Promise<PendingMessage[]> {
    const saved = await read<PendingMessage[]>(KEYS.outbox);
    this.items = Array.isArray(saved) ? saved.filter((m) => m && typeof m.cid === 'string' && typeof m.text === 'string') : [];
    return [...this.items];
  }

  all(): readonly PendingMessage[] {
    return this.items;
  }

  forRoom(room: string): PendingMessage[] {
    return this.items.filter((m) => m.room === room);
  }

  add(message: PendingMessage): Promise<void> {
    this.items = [...this.items, message];
    return this.persist();
  }

  remove(cid: string): Promise<void> {
    const before = this.items.length;
    this.items = this.items.filter((m) => m.cid !== cid);
    return before === this.items.length ? this.saving : this.persist();
  }

  removeRoom(room: string): Promise<void> {
    this.items = this.items.filter((m) => m.room !== room);
    return this.persist();
  }

  /** The last write always wins. */
  private persist(): Promise<void> {
    this.saving = this.write([...this.items]);
    return this.saving;
  }
}
