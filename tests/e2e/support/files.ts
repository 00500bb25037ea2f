// File-transfer helpers for the end-to-end tests and the throughput benchmark: make real
// files on disk (random bytes, a real PNG), open a whisper conversation the way a person
// does, attach files through the composer's file input, accept, save through the card's
// download link, and watch every state a transfer passes through from inside the page.
// Nothing here replaces a part of the app: it drives the real UI and reads window.wisp.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import type { Locator } from 'playwright-core';
import { DEEP_ELEMENTS, WAIT_MS, waitUntil, type Person } from './browser.ts';

export const MIB = 1024 * 1024;

export type TransferStatus = 'offered' | 'waiting' | 'sending' | 'receiving' | 'checking' | 'done' | 'declined' | 'cancelled' | 'failed';
export const FINAL_STATUSES: readonly TransferStatus[] = ['done', 'declined', 'cancelled', 'failed'];

/** window.wisp.state.transfers[id], as JSON (Infinity becomes null). */
export interface Transfer {
  id: string;
  key: string;
  fid: number;
  direction: 'in' | 'out';
  name: string;
  size: number;
  declaredType: string;
  status: TransferStatus;
  bytes: number;
  rate: number;
  remaining: number | null;
  sentence?: string;
  url?: string;
  preview?: string;
  executable?: boolean;
}

interface FilesPageState {
  me: { id?: string; name?: string };
  rooms: Record<string, { members: Record<string, { id: string; name: string; key: string }> }>;
  whispers: Record<string, { key: string; name: string; link: string; path?: 'direct' | 'turn' | 'relay'; failure?: string }>;
  transfers: Record<string, Transfer>;
  limits?: { maxFileBytes: number; relayFileMaxBytes: number };
  settings: { notifications: boolean; relayOnly: boolean; maxFileMb: number };
}

// ---- files on disk ------------------------------------------------------------------

export interface DiskFile {
  path: string;
  name: string;
  size: number;
  sha256: string;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function sha256OfFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .once('error', reject)
      .once('end', () => resolve(hash.digest('hex')));
  });
}

/** A temporary directory for one test's files; `dispose()` removes it. */
export class TempFiles {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'wisp-e2e-files-'));

  write(name: string, bytes: Uint8Array): DiskFile {
    const file = path.join(this.dir, name);
    writeFileSync(file, bytes);
    return { path: file, name, size: bytes.length, sha256: sha256(bytes) };
  }

  /** `size` random bytes (incompressible, so nothing along the way can cheat). */
  random(name: string, size: number): DiskFile {
    return this.write(name, randomBytes(size));
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A real, valid PNG: an RGB gradient of the given size (IHDR, one IDAT, IEND, with CRCs). */
export function pngBytes(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(typed) >>> 0);
    return Buffer.concat([length, typed, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: RGB
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3); // filter byte 0, then pixels
    for (let x = 0; x < width; x++) {
      row[1 + x * 3] = (x * 255) / Math.max(width - 1, 1);
      row[2 + x * 3] = (y * 255) / Math.max(height - 1, 1);
      row[3 + x * 3] = 128;
    }
    rows.push(row);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// ---- people and conversations --------------------------------------------------------

async function pageState(p: Person): Promise<FilesPageState> {
  return p.state<FilesPageState>();
}

/** This person's identity key, as the server lists it in a room. */
export async function ownKey(p: Person): Promise<string> {
  return waitUntil(`${p.label}'s own identity key in a member list`, async () => {
    const state = await pageState(p);
    for (const room of Object.values(state.rooms)) {
      const me = state.me.id ? room.members[state.me.id] : undefined;
      if (me) return me.key;
    }
    return undefined;
  });
}

export function whisperTabOf(p: Person, key: string): Locator {
  return p.page.locator(`wisp-room-tabs [role=tab].whisper[data-tab="@${key}"]`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function memberButton(p: Person, name: string): Locator {
  return p.page.locator('wisp-member-list li[data-id] button').filter({ has: p.page.locator('.name', { hasText: new RegExp(`^${escapeRegExp(name)}$`) }) });
}

/** Clicks `name` in the member list (as a person does) and waits until that whisper tab is active. */
export async function openConversation(p: Person, name: string, key: string): Promise<void> {
  await memberButton(p, name).click();
  await waitUntil(`${p.label}'s whisper tab with ${name} to be active`, async () => (await whisperTabOf(p, key).getAttribute('aria-selected')) === 'true');
  await p.page.locator('wisp-composer input[type=file]').waitFor({ state: 'attached', timeout: WAIT_MS });
}

/** Waits for the whisper tab with `key` to appear (the other side reached out) and selects it. */
export async function showConversation(p: Person, key: string): Promise<void> {
  const tab = whisperTabOf(p, key);
  await tab.waitFor({ timeout: WAIT_MS });
  if ((await tab.getAttribute('aria-selected')) !== 'true') await tab.click();
  await waitUntil(`${p.label}'s whisper tab to be active`, async () => (await tab.getAttribute('aria-selected')) === 'true');
}

/** Waits until the whisper link with `key` is ready; returns its path. */
export async function waitLinkReady(p: Person, key: string, timeoutMs = WAIT_MS): Promise<'direct' | 'turn' | 'relay'> {
  return waitUntil(
    `${p.label}'s whisper link to be ready`,
    async () => {
      const whisper = (await pageState(p)).whispers[key];
      return whisper?.link === 'ready' && whisper.path ? whisper.path : undefined;
    },
    timeoutMs,
  );
}

/** Two people online in #lobby who see each other, with their names and identity keys. */
export interface Pair {
  a: Person;
  b: Person;
  aName: string;
  bName: string;
  aKey: string;
  bKey: string;
}

export async function meet(a: Person, b: Person): Promise<Pair> {
  const aName = await a.myName();
  const bName = await b.myName();
  await a.waitForMembers([aName, bName]);
  await b.waitForMembers([aName, bName]);
  return { a, b, aName, bName, aKey: await ownKey(a), bKey: await ownKey(b) };
}

/**
 * A opens the conversation with B by clicking B in the member list and the link comes
 * up; B (whose tab would appear only with A's first whisper or file) opens the
 * conversation with A the same way, on that link. Returns the link's path as A sees it.
 */
export async function converse(pair: Pair, timeoutMs = WAIT_MS): Promise<'direct' | 'turn' | 'relay'> {
  await openConversation(pair.a, pair.bName, pair.bKey);
  const path = await waitLinkReady(pair.a, pair.bKey, timeoutMs);
  await openConversation(pair.b, pair.aName, pair.aKey);
  await waitLinkReady(pair.b, pair.aKey, timeoutMs);
  return path;
}

// ---- files in the conversation ------------------------------------------------------------

/** Picks files in the active conversation's file input (the attach button's input). */
export async function attach(p: Person, ...files: DiskFile[]): Promise<void> {
  await p.page.locator('wisp-composer input[type=file]').setInputFiles(files.map((f) => f.path));
}

/** The file card whose name is exactly `name`, in the active conversation. */
export function card(p: Person, name: string): Locator {
  return p.page.locator('wisp-file-card').filter({ has: p.page.locator('.name', { hasText: new RegExp(`^\\s*${escapeRegExp(name)}\\s*$`) }) });
}

export function cardStatus(c: Locator): Locator {
  return c.locator('[data-status]');
}

export async function cardText(c: Locator): Promise<string> {
  if ((await c.count()) === 0) return '(no card)';
  const text = await c.first().evaluate((el) => (el.shadowRoot ?? el).textContent ?? '');
  return text.replace(/\s+/g, ' ').trim();
}

export async function transfers(p: Person): Promise<Transfer[]> {
  return Object.values((await pageState(p)).transfers);
}

export async function transferNamed(p: Person, name: string, direction: 'in' | 'out'): Promise<Transfer | undefined> {
  return (await transfers(p)).find((t) => t.name === name && t.direction === direction);
}

/** Waits until the transfer called `name` is in one of `statuses`; returns it. */
export async function waitTransfer(p: Person, name: string, direction: 'in' | 'out', statuses: TransferStatus[], timeoutMs = WAIT_MS): Promise<Transfer> {
  let last: Transfer | undefined;
  try {
    return await waitUntil(
      `${p.label}'s ${direction === 'in' ? 'incoming' : 'outgoing'} "${name}" to be ${statuses.join(' or ')}`,
      async () => {
        last = await transferNamed(p, name, direction);
        return last && statuses.includes(last.status) ? last : undefined;
      },
      timeoutMs,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last seen: ${JSON.stringify(last ?? null)}`);
  }
}

/** Waits for the offer card on the receiver and clicks Accept. */
export async function accept(p: Person, name: string): Promise<void> {
  const c = card(p, name);
  const button = c.getByRole('button', { name: 'Accept', exact: true });
  try {
    await button.waitFor({ timeout: WAIT_MS });
  } catch (error) {
    throw new Error(`${p.label} never showed an Accept button for "${name}": ${await cardText(c)}\n${(error as Error).message}`);
  }
  await button.click();
}

/**
 * Waits for the Accept buttons of all these offers, then clicks them all in the same
 * moment, inside the page (so the accepts leave together, however busy the page is).
 */
export async function acceptTogether(p: Person, names: string[]): Promise<void> {
  for (const name of names) await card(p, name).getByRole('button', { name: 'Accept', exact: true }).waitFor({ timeout: WAIT_MS });
  const clicked = (await p.page.evaluate(`(${ACCEPT_SCRIPT})(${JSON.stringify(names)})`)) as number;
  if (clicked !== names.length) throw new Error(`${p.label}: clicked ${clicked} of ${names.length} Accept buttons`);
}

const ACCEPT_SCRIPT = `(names) => {
  const cards = ${DEEP_ELEMENTS}('wisp-file-card');
  const buttons = names.map((name) => {
    const el = cards.find((c) => c.transfer && c.transfer.name === name && c.transfer.direction === 'in');
    return el && [...el.shadowRoot.querySelectorAll('button')].find((b) => b.textContent.trim() === 'Accept');
  }).filter(Boolean);
  for (const button of buttons) button.click();
  return buttons.length;
}`;

export interface Saved {
  path: string;
  suggestedFilename: string;
  sha256: string;
  /** The page URL before and after clicking the link (a navigation would change it). */
  urlBefore: string;
  urlAfter: string;
}

/**
 * Clicks the card's Save link (after "Save…" and its warning for executables) and waits for
 * the browser's download; returns the saved file's hash.
 */
export async function save(p: Person, name: string): Promise<Saved> {
  const c = card(p, name);
  const confirm = c.getByRole('button', { name: 'Save…', exact: true });
  if ((await confirm.count()) > 0) await confirm.click();
  const link = c.locator('a.save[download]');
  try {
    await link.waitFor({ timeout: WAIT_MS });
  } catch (error) {
    throw new Error(`${p.label} shows no Save link for "${name}": ${await cardText(c)}\n${(error as Error).message}`);
  }
  const urlBefore = p.page.url();
  const [download] = await Promise.all([p.page.waitForEvent('download', { timeout: WAIT_MS }), link.click()]);
  const file = await download.path();
  return { path: file, suggestedFilename: download.suggestedFilename(), sha256: await sha256OfFile(file), urlBefore, urlAfter: p.page.url() };
}

// ---- watching transfers from inside the page ---------------------------------------

/** Everything the probe saw of one transfer. */
export interface TransferTrace {
  id: string;
  name: string;
  direction: 'in' | 'out';
  size: number;
  /** Statuses in the order they were seen, once each change. */
  statuses: TransferStatus[];
  /** The most bytes the state ever reported. */
  maxBytes: number;
  /** Epoch ms (sub-ms precision) when each status was first seen. */
  at: Partial<Record<TransferStatus, number>>;
  /** When bytes first went above 0, and when they first reached the size. */
  firstBytesAt?: number;
  allBytesAt?: number;
  /** Ever had a url (a saved blob) / a preview. */
  everUrl: boolean;
  /** Progress the card showed while active: the [data-progress] text and the <progress> value. */
  shown: { status: string; text: string; value: number; max: number }[];
}

/**
 * Subscribes to the app's store so short states are not missed: every status and byte
 * count of every transfer, and what each file card rendered while it was active (checked
 * after each change, once Lit has rendered). Install again after a reload.
 * `cards: false` (for the benchmark): statuses and bytes only, no look at the DOM.
 */
export async function installFileProbe(p: Person, options: { cards?: boolean } = {}): Promise<void> {
  // A string, not a function: tsx would wrap helpers in a __name() the page lacks.
  await p.page.evaluate(`${PROBE_SCRIPT}(${JSON.stringify({ cards: options.cards ?? true })})`);
}

const PROBE_SCRIPT = `(({ cards }) => {
  const win = window;
  if (win.__fileProbe) win.__fileProbe.stop();
  const now = () => performance.timeOrigin + performance.now();
  const probe = { traces: {}, stop: () => {} };
  let scheduled = false;
  const lookAtCards = () => {
    scheduled = false;
    for (const el of ${DEEP_ELEMENTS}('wisp-file-card')) {
      const t = el.transfer;
      const trace = t && probe.traces[t.id];
      if (!trace || !el.shadowRoot) continue;
      const text = el.shadowRoot.querySelector('[data-progress]');
      const bar = el.shadowRoot.querySelector('progress');
      if (!text && !bar) continue;
      const status = el.shadowRoot.querySelector('[data-status]')?.getAttribute('data-status') || '';
      const entry = { status, text: (text?.textContent || '').replace(/\\s+/g, ' ').trim(), value: bar ? bar.value : -1, max: bar ? bar.max : -1 };
      const lastShown = trace.shown[trace.shown.length - 1];
      if (trace.shown.length < 400 && (!lastShown || lastShown.text !== entry.text || lastShown.status !== entry.status)) trace.shown.push(entry);
    }
  };
  const look = (state) => {
    const t1 = now();
    for (const t of Object.values(state.transfers)) {
      let trace = probe.traces[t.id];
      if (!trace) {
        trace = probe.traces[t.id] = { id: t.id, name: t.name, direction: t.direction, size: t.size, statuses: [], maxBytes: 0, at: {}, everUrl: false, shown: [] };
      }
      if (trace.statuses[trace.statuses.length - 1] !== t.status) trace.statuses.push(t.status);
      if (trace.at[t.status] === undefined) trace.at[t.status] = t1;
      if (t.bytes > trace.maxBytes) trace.maxBytes = t.bytes;
      if (t.bytes > 0 && trace.firstBytesAt === undefined) trace.firstBytesAt = t1;
      if (t.bytes >= t.size && t.size > 0 && trace.allBytesAt === undefined) trace.allBytesAt = t1;
      if (t.url) trace.everUrl = true;
    }
    if (cards && !scheduled) {
      scheduled = true;
      setTimeout(lookAtCards, 0);
    }
  };
  look(win.wisp.state);
  probe.stop = win.wisp.store.subscribe(look);
  win.__fileProbe = probe;
})`;

export async function traces(p: Person): Promise<TransferTrace[]> {
  return p.page.evaluate(() => {
    const probe = (window as unknown as { __fileProbe?: { traces: Record<string, TransferTrace> } }).__fileProbe;
    if (!probe) throw new Error('no file probe installed');
    return JSON.parse(JSON.stringify(Object.values(probe.traces))) as TransferTrace[];
  });
}

export async function traceNamed(p: Person, name: string, direction: 'in' | 'out'): Promise<TransferTrace> {
  const trace = (await traces(p)).find((t) => t.name === name && t.direction === direction);
  if (!trace) throw new Error(`${p.label}'s probe saw no ${direction === 'in' ? 'incoming' : 'outgoing'} transfer "${name}"`);
  return trace;
}

/**
 * Inside the page, as soon as the transfer called `name` has moved bytes, clicks that
 * card's Cancel button (the real button; a person's click from outside could come too late
 * on a fast loopback link). Resolves with the bytes moved at that moment.
 */
export async function cancelOnceMoving(p: Person, name: string, direction: 'in' | 'out', timeoutMs = WAIT_MS): Promise<number> {
  return p.page.evaluate(`${CANCEL_SCRIPT}(${JSON.stringify({ name, direction, timeoutMs })})`) as Promise<number>;
}

const CANCEL_SCRIPT = `(async ({ name, direction, timeoutMs }) => {
  const win = window;
  return new Promise((resolve, reject) => {
    let stop = () => {};
    const timer = setTimeout(() => (stop(), reject(new Error('the transfer "' + name + '" never moved a byte'))), timeoutMs);
    const look = (state) => {
      const t = Object.values(state.transfers).find((x) => x.name === name && x.direction === direction);
      if (!t || t.bytes <= 0) return;
      if (t.status !== 'sending' && t.status !== 'receiving') {
        stop();
        clearTimeout(timer);
        reject(new Error('the transfer "' + name + '" was already ' + t.status + ' when it first showed bytes'));
        return;
      }
      const el = ${DEEP_ELEMENTS}('wisp-file-card').find((c) => c.transfer && c.transfer.id === t.id);
      const button = el && [...el.shadowRoot.querySelectorAll('button')].find((b) => b.textContent.trim() === 'Cancel');
      if (!button) return;
      stop();
      clearTimeout(timer);
      const bytes = t.bytes;
      button.click();
      resolve(bytes);
    };
    stop = win.wisp.store.subscribe(look);
    look(win.wisp.state);
  });
})`;
