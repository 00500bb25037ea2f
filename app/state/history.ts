// History on the device, as behaviour: which lines are kept (text, /me and finished file
// cards, own ones once the server or the link took them), their restore when a tab
// appears, where each conversation was left (scroll anchor, last line seen), retention,
// purges, "Clear this conversation", and the one sentence when the device is full.
// The lines themselves are sealed and stored by ../storage/history.ts.
import { HistoryFullError, LineStore, type KeptLine } from '../storage/history.ts';
import { KEYS, read, write } from '../storage/db.ts';
import { HISTORY_RETENTION } from '../storage/settings.ts';
import { SerialQueue } from './serial-queue.ts';
import { HISTORY_KEPT_PER_CONVERSATION, HISTORY_WINDOW, whisperKeyOf, type AppState, type ChatLine, type Store, type TransferState } from './store.ts';

/** How often expired lines are deleted while the app runs. */
const SWEEP_EVERY_MS = 10 * 60 * 1000;

export const HISTORY_FULL_SENTENCE =
  'This device is out of space for chat history; newer lines were not saved. Free some space or keep history for a shorter time.';

/** Per conversation: the line at the top when the person left it (none: at the bottom), and the last line they saw. */
export interface ConversationView {
  anchor?: string;
  seen?: string;
}

type Views = Record<string, ConversationView>;

export interface HistoryOptions {
  store: Store;
  notice(text: string): void;
  lines?: LineStore;
}

function conversation(state: AppState, tab: string): { lines: ChatLine[] } | undefined {
  const key = whisperKeyOf(tab);
  return key ? state.whispers[key] : state.rooms[tab];
}

/**
 * What of a line is kept, or nothing: system lines, unsent lines and unfinished files are
 * not. The line as it is (ids the reducers match replays by included), without its
 * transfer: a file is kept as a record of its name and size.
 */
function keptForm(line: ChatLine, whisper: boolean, transfers: Record<string, TransferState>): KeptLine | undefined {
  if (line.pending || line.kind === 'system') return undefined;
  const { pending: _pending, transfer: transferId, ...kept } = line;
  const time = timeOf(line, whisper);
  if (line.kind !== 'file') return { ...kept, kind: line.kind, time };
  const transfer = transferId ? transfers[transferId] : undefined;
  if (transfer?.status !== 'done') return undefined;
  return { ...kept, kind: 'file', text: transfer.name, size: transfer.size, time };
}

/** The time a kept line is stored under: the server's for room lines, the sender's for whispers. */
function timeOf(line: ChatLine, whisper: boolean): number {
  return whisper ? line.ts : (line.serverTs ?? line.ts);
}

function shownForm(kept: KeptLine): ChatLine {
  const { time: _time, ...line } = kept;
  return line;
}

/** The lines after the last one seen that someone else wrote: "New messages" goes before the first. */
function unseenOf(lines: ChatLine[], seen: string | undefined): ChatLine[] {
  const index = seen ? lines.findIndex((l) => l.key === seen) : -1;
  return index < 0 ? [] : lines.slice(index + 1).filter((l) => !l.own);
}

export class History {
  private readonly lines: LineStore;
  /** Disk work in call order: a purge's delete lands before a later restore reads. */
  private readonly disk = new SerialQueue<() => Promise<unknown>>(
    async (job) => void (await job()),
    (error) => this.onWriteFailed(error),
  );
  /** Per conversation, the line ids on disk (or restored from it). */
  private readonly kept = new Map<string, Set<string>>();
  private views: Views = {};
  /** View writes land in call order; a failed one does not stop the next. */
  private viewsWritten: Promise<void> = Promise.resolve();
  private told = false;
  private sweeper?: ReturnType<typeof setInterval>;
  private last?: AppState;

  constructor(private readonly options: HistoryOptions) {
    this.lines = options.lines ?? new LineStore(HISTORY_KEPT_PER_CONVERSATION);
  }

  private get state(): AppState {
    return this.options.store.state;
  }

  private get on(): boolean {
    return this.state.settings.history !== 'off';
  }

  /** At start: drops what expired, then brings back the lines of every open tab. */
  async restore(): Promise<void> {
    const saved = await read<Views>(KEYS.historyViews);
    this.views = saved && typeof saved === 'object' ? saved : {};
    if (!this.on) return;
    await this.sweep();
    await Promise.all(this.state.order.map((tab) => this.restoreTab(tab)));
  }

  /** From now on: keeps new lines, restores tabs that appear, and deletes what expires. */
  watch(): void {
    this.last = this.state;
    this.options.store.subscribe((state) => this.onChange(state));
    this.sweeper = setInterval(() => this.on && void this.sweep(), SWEEP_EVERY_MS);
  }

  stop(): void {
    clearInterval(this.sweeper);
  }

  /** Where the person is in a conversation (the list reports it as they scroll or read). */
  onView(tab: string, view: ConversationView): void {
    if (!this.on) return;
    const lines = conversation(this.state, tab)?.lines ?? [];
    const before = this.views[tab]?.seen;
    // "Seen" only moves forward: scrolling back up does not unread anything.
    const seen = before && lines.findIndex((l) => l.key === before) > lines.findIndex((l) => l.key === view.seen) ? before : view.seen;
    if (this.views[tab]?.anchor === view.anchor && this.views[tab]?.seen === seen) return;
    this.views = { ...this.views, [tab]: { anchor: view.anchor, seen } };
    this.saveViews();
  }

  /** "Load earlier messages": the device's lines just before the first one shown, one window of them. */
  async loadEarlier(tab: string): Promise<void> {
    const whisper = whisperKeyOf(tab) !== undefined;
    const first = conversation(this.state, tab)?.lines.find((l) => !l.pending && l.kind !== 'system');
    const before = first && { time: timeOf(first, whisper), key: first.key };
    let found: { lines: KeptLine[]; earlier: boolean } = { lines: [], earlier: false };
    await this.run(async () => void (found = await this.lines.loadBefore(tab, before, HISTORY_WINDOW)));
    // Known to be on disk: the watcher does not write them again.
    const ids = this.keptIds(tab);
    for (const line of found.lines) ids.add(line.key);
    this.options.store.dispatch({ t: 'history-earlier', tab, lines: found.lines.map(shownForm), earlier: found.earlier });
  }

  /** "Clear this conversation": from the screen and from the device. */
  clear(tab: string): Promise<void> {
    this.options.store.dispatch({ t: 'history-cleared', tab });
    this.kept.delete(tab);
    const { [tab]: _gone, ...views } = this.views;
    this.views = views;
    this.saveViews();
    return this.run(() => this.lines.deleteConversation(tab));
  }

  /** "Forget this room": what was kept of it goes from the device (the room leaves the tabs). */
  forget(room: string): Promise<void> {
    this.kept.delete(room);
    return this.run(() => this.lines.deleteConversation(room));
  }

  /** The room was purged while this device was in it (the room leaves the tabs too). */
  onPurged(room: string, at: number): Promise<void> {
    this.kept.delete(room);
    return this.run(() => this.lines.deletePurged(room, at));
  }

  /** Joining a room that was purged at `at`: what this device kept from before goes, from disk and screen. */
  onPurgedAt(room: string, at: number): Promise<void> {
    this.options.store.dispatch({ t: 'history-purged', room, at });
    return this.run(() => this.lines.deletePurged(room, at));
  }

  /** The setting changed: Off deletes everything kept; a shorter time deletes what is now too old. */
  async onSettings(): Promise<void> {
    if (this.on) return this.sweep();
    this.kept.clear();
    this.views = {};
    this.saveViews();
    return this.run(() => this.lines.clear());
  }

  private saveViews(): void {
    const views = this.views;
    this.viewsWritten = this.viewsWritten.then(() => write(KEYS.historyViews, views)).catch((error: unknown) => this.onWriteFailed(error));
  }

  private sweep(): Promise<void> {
    const keep = HISTORY_RETENTION[this.state.settings.history];
    if (keep === Infinity) return Promise.resolve();
    return this.run(() => this.lines.deleteOlderThan(Date.now() - keep));
  }

  /** Only the newest window: older lines wait on the device for "Load earlier messages". */
  private async restoreTab(tab: string): Promise<void> {
    let kept: KeptLine[] = [];
    let earlier = false;
    await this.run(async () => void ({ lines: kept, earlier } = await this.lines.loadBefore(tab, undefined, HISTORY_WINDOW)));
    if (!kept.length || !this.on) return;
    const ids = this.keptIds(tab);
    for (const line of kept) ids.add(line.key);
    const lines = kept.map(shownForm);
    const view = this.views[tab];
    const unseen = unseenOf(lines, view?.seen);
    this.options.store.dispatch({ t: 'history-restore', tab, lines, anchor: view?.anchor, unseenFrom: unseen[0]?.key, unseen: unseen.length, earlier });
  }

  private keptIds(tab: string): Set<string> {
    let ids = this.kept.get(tab);
    if (!ids) this.kept.set(tab, (ids = new Set()));
    return ids;
  }

  private onChange(state: AppState): void {
    const last = this.last!;
    this.last = state;
    if (state.settings.history === 'off') return;
    for (const tab of state.order) {
      if (!last.order.includes(tab)) void this.restoreTab(tab);
    }
    for (const [name, room] of Object.entries(state.rooms)) {
      if (room.lines !== last.rooms[name]?.lines) this.keep(name, room.lines, false, state.transfers);
    }
    for (const [key, whisper] of Object.entries(state.whispers)) {
      const changed = whisper.lines !== last.whispers[key]?.lines || (state.transfers !== last.transfers && whisper.lines.some((l) => l.transfer));
      if (changed) this.keep(`@${key}`, whisper.lines, true, state.transfers);
    }
  }

  private keep(tab: string, lines: ChatLine[], whisper: boolean, transfers: Record<string, TransferState>): void {
    const ids = this.keptIds(tab);
    for (const line of lines) {
      if (ids.has(line.key)) continue;
      const form = keptForm(line, whisper, transfers);
      if (!form) continue;
      ids.add(line.key);
      void this.run(() => this.lines.append(tab, form));
    }
  }

  /** Queues disk work; resolves when it is done (a failure is reported, not thrown). */
  private run(job: () => Promise<unknown>): Promise<void> {
    this.disk.push(job);
    return this.disk.settled();
  }

  private onWriteFailed(error: unknown): void {
    const full = error instanceof HistoryFullError || (error instanceof DOMException && error.name === 'QuotaExceededError');
    if (!full) return console.error('wisp: history on this device failed:', error);
    if (this.told) return;
    this.told = true;
    this.options.notice(HISTORY_FULL_SENTENCE);
  }
}
