// Whisper helpers for the end-to-end tests: open a conversation the way a person does,
// read the whisper header, wait for delivery receipts, change settings, wipe an identity.
// Everything goes through the real UI or the real app state (window.wisp); nothing is mocked.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { Locator } from 'playwright-core';
import { isCanonicalIdentityKey } from '../../../signal-server/protocol/protocol.ts';
import { WAIT_MS, waitUntil, type Person, type PersonOptions } from './browser.ts';
import type { Scene } from './scene.ts';

export type LinkPath = 'direct' | 'turn' | 'relay';

export interface WhisperLine {
  key: string;
  kind: string;
  text: string;
  own?: boolean;
  pending?: boolean;
  delivered?: boolean;
}

export interface WhisperInfo {
  key: string;
  name: string;
  lines: WhisperLine[];
  unread: number;
  link: 'idle' | 'connecting' | 'ready' | 'closed';
  path?: LinkPath;
  failure?: string;
  acceptedChange?: boolean;
}

interface Member {
  id: string;
  name: string;
  key: string;
}

interface PageState {
  me: { id?: string; name?: string };
  rooms: Record<string, { members: Record<string, Member> }>;
  whispers: Record<string, WhisperInfo>;
  pins: Record<string, { key: string; verified: boolean }>;
  settings: { notifications: boolean; relayOnly: boolean };
}

/** A long random text that cannot appear by chance anywhere else. */
export function marker(label: string): string {
  return `${label} ${randomBytes(18).toString('hex')}`;
}

/** A fresh, valid P-256 public key as SPKI base64url: what an identity key looks like on the wire (its one canonical spelling). */
export function freshIdentityKey(): string {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const key = publicKey.export({ type: 'spki', format: 'der' }).toString('base64url');
  if (!isCanonicalIdentityKey(key)) throw new Error(`freshIdentityKey: ${key} is not a canonical identity key`);
  return key;
}

async function pageState(p: Person): Promise<PageState> {
  return p.state<PageState>();
}

/** This person's identity key, as the server lists it in the room. */
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

/** The identity key this person sees for the member called `name`. */
export async function keyOf(p: Person, name: string): Promise<string> {
  return waitUntil(`${p.label} to see ${name} in a room`, async () => {
    const state = await pageState(p);
    for (const room of Object.values(state.rooms)) {
      const member = Object.values(room.members).find((m) => m.name.toLowerCase() === name.toLowerCase() && m.id !== state.me.id);
      if (member) return member.key;
    }
    return undefined;
  });
}

export async function whisperInfo(p: Person, key: string): Promise<WhisperInfo | undefined> {
  return (await pageState(p)).whispers[key];
}

export async function pins(p: Person): Promise<PageState['pins']> {
  return (await pageState(p)).pins;
}

// ---- locators -------------------------------------------------------------------

export function whisperTab(p: Person, key: string): Locator {
  return p.page.locator(`wisp-room-tabs [role=tab][data-tab="@${key}"]`);
}

export function memberButton(p: Person, name: string): Locator {
  return p.page.locator('wisp-member-list li[data-id] button').filter({ has: p.page.locator('.name', { hasText: new RegExp(`^${escapeRegExp(name)}$`) }) });
}

export function header(p: Person): Locator {
  return p.page.locator('wisp-whisper-header');
}

export function secureChip(p: Person): Locator {
  return header(p).locator('.line [data-secure]');
}

export function pathChip(p: Person): Locator {
  return header(p).locator('.line [data-path]');
}

export function failure(p: Person): Locator {
  return header(p).locator('p.failure[data-failure][role=alert]');
}

export function warning(p: Person): Locator {
  return header(p).locator('p.warning[role=alert]');
}

/** Own whisper lines with `text` in the active conversation. */
export function ownLines(p: Person, text: string): Locator {
  return p.page.locator('wisp-message-list [role=log] > ol > li:not([data-day]).own').filter({ hasText: text });
}

// ---- acting -----------------------------------------------------------------------

/** Clicks `name` in the member list and waits until that conversation is the active tab. */
export async function openByClick(p: Person, name: string): Promise<string> {
  const key = await keyOf(p, name);
  await memberButton(p, name).click();
  await waitUntil(`${p.label}'s whisper tab with ${name} to be active`, async () => (await whisperTab(p, key).getAttribute('aria-selected')) === 'true');
  await header(p).waitFor({ timeout: WAIT_MS });
  return key;
}

/** Makes the whisper tab with `key` the active one. */
export async function selectWhisper(p: Person, key: string): Promise<void> {
  await whisperTab(p, key).click();
  await waitUntil(`${p.label}'s whisper tab to be active`, async () => (await whisperTab(p, key).getAttribute('aria-selected')) === 'true');
}

/** Waits until the active conversation shows "End-to-end encrypted" and, if given, this path. */
export async function waitSecure(p: Person, path?: LinkPath, timeoutMs = WAIT_MS): Promise<void> {
  try {
    await secureChip(p).waitFor({ timeout: timeoutMs });
    if (path) await header(p).locator(`.line [data-path="${path}"]`).waitFor({ timeout: timeoutMs });
  } catch (error) {
    throw new Error(`${p.label}'s whisper header never showed a secure ${path ?? ''} link: ${await headerText(p)}\n${(error as Error).message}`);
  }
}

export async function headerText(p: Person): Promise<string> {
  if ((await header(p).count()) === 0) return '(no whisper header)';
  const text = await header(p).evaluate((el) => el.shadowRoot?.textContent ?? el.textContent ?? '');
  return text.replace(/\s+/g, ' ').trim();
}

/** Waits until my own whisper line with `text` shows "delivered ✓". */
export async function waitWhisperDelivered(p: Person, text: string, timeoutMs = WAIT_MS): Promise<void> {
  const own = ownLines(p, text);
  try {
    await own.first().waitFor({ state: 'attached', timeout: timeoutMs });
    await own.first().locator('.delivered').waitFor({ state: 'attached', timeout: timeoutMs });
  } catch (error) {
    throw new Error(`${p.label}'s whisper "${text}" was never marked delivered. Header: ${await headerText(p)}. Lines: ${JSON.stringify(await p.lineTexts())}\n${(error as Error).message}`);
  }
}

/** Opens Settings and sets "Never connect whispers directly". */
export async function setRelayOnly(p: Person, on: boolean): Promise<void> {
  await p.page.locator('wisp-app header button[aria-label="Settings"]').click();
  const dialog = p.page.locator('wisp-settings-dialog dialog');
  await dialog.waitFor({ state: 'visible', timeout: WAIT_MS });
  const box = p.page.locator('wisp-settings-dialog input[name=relay-only]');
  if ((await box.isChecked()) !== on) await box.click();
  await waitUntil(`${p.label}'s relay-only setting to be ${on}`, async () => (await pageState(p)).settings.relayOnly === on);
  await dialog.getByRole('button', { name: 'Done' }).click();
  await dialog.waitFor({ state: 'hidden', timeout: WAIT_MS });
}

/**
 * A reset app under the same name: deletes the identity key from the app's IndexedDB
 * ('wisp' / 'kv') and the chat history this device kept (the 'wisp-history' lines), but
 * not the profile, so the name comes back.
 */
export async function wipeIdentity(p: Person): Promise<void> {
  await p.page.evaluate(`(async () => {
    const run = (name, store, change) => new Promise((resolve, reject) => {
      const open = indexedDB.open(name);
      open.onerror = () => reject(open.error);
      open.onsuccess = () => {
        const db = open.result;
        const tx = db.transaction(store, 'readwrite');
        change(tx.objectStore(store));
        tx.oncomplete = () => (db.close(), resolve());
        tx.onerror = () => (db.close(), reject(tx.error));
      };
    });
    await run('wisp', 'kv', (kv) => kv.delete('identity'));
    // Opened only if it exists: opening creates a database, without the app's object store.
    const dbs = await indexedDB.databases();
    if (dbs.some((d) => d.name === 'wisp-history')) await run('wisp-history', 'lines', (lines) => lines.clear());
  })()`);
}

/** The 60 digits shown by the open verify dialog. */
export async function shownSafetyNumber(p: Person): Promise<string> {
  const digits = p.page.locator('wisp-verify-dialog [data-safety-number]');
  await digits.waitFor({ timeout: WAIT_MS });
  return (await digits.getAttribute('data-safety-number')) ?? '';
}

// ---- watching the app from inside --------------------------------------------------

/**
 * Subscribes to the app's store so that short-lived states are not missed: every whisper
 * key whose link was ever "ready", every whisper text received, every own whisper ever
 * marked delivered, every link failure. Install again after a reload.
 */
export async function installProbe(p: Person): Promise<void> {
  // A string, not a function: tsx would wrap named helpers in a __name() the page lacks.
  await p.page.evaluate(PROBE_SCRIPT);
}

const PROBE_SCRIPT = `(() => {
  const win = window;
  if (win.__wispProbe) win.__wispProbe.stop();
  const probe = { ready: [], received: [], delivered: [], failures: [], stop: () => {} };
  const last = {};
  const look = (state) => {
    for (const [key, w] of Object.entries(state.whispers)) {
      if (w.link === 'ready' && !probe.ready.includes(key)) probe.ready.push(key);
      const now = w.link + '|' + (w.failure || '');
      if (now !== last[key]) {
        last[key] = now;
        if (w.link === 'closed' && w.failure) probe.failures.push({ key, failure: w.failure });
      }
      for (const line of w.lines) {
        if (!line.own && line.kind !== 'system' && !probe.received.includes(line.text)) probe.received.push(line.text);
        if (line.own && line.delivered && !probe.delivered.includes(line.text)) probe.delivered.push(line.text);
      }
    }
  };
  look(win.wisp.state);
  probe.stop = win.wisp.store.subscribe(look);
  win.__wispProbe = probe;
})()`;

export interface ProbeResult {
  /** Whisper keys whose link was ever ready (the header then shows "End-to-end encrypted"). */
  ready: string[];
  /** Texts of whispers received, in order, once each. */
  received: string[];
  /** Texts of own whispers marked delivered. */
  delivered: string[];
  /** Every time a link went to "closed" with a failure sentence, in order. */
  failures: { key: string; failure: string }[];
}

export async function readProbe(p: Person): Promise<ProbeResult> {
  return p.page.evaluate(() => {
    const probe = (window as unknown as { __wispProbe?: ProbeResult }).__wispProbe;
    if (!probe) throw new Error('no probe installed');
    return { ready: [...probe.ready], received: [...probe.received], delivered: [...probe.delivered], failures: [...probe.failures] };
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// ---- notifications -------------------------------------------------------------------

export interface ShownNotification {
  title: string;
  body: string;
  tag: string;
}

/**
 * Lets this person's app raise notifications: the browser grants the permission, a service
 * worker controls the page (this may reload it: call it before anything that lives only in
 * the page), and the person turns them on in Settings.
 */
export async function enableNotifications(p: Person): Promise<void> {
  await p.context.grantPermissions(['notifications'], { origin: new URL(p.url).origin });
  await p.waitForServiceWorkerControl();
  await p.waitOnline();
  await p.page.getByRole('button', { name: 'Settings' }).click();
  await p.page.locator('wisp-settings-dialog input[name=notifications]').check();
  await waitUntil(`${p.label}'s notifications setting to be on`, async () => (await pageState(p)).settings.notifications);
  await p.page.locator('wisp-settings-dialog').getByRole('button', { name: 'Done' }).click();
}

/**
 * Overrides document.visibilityState: headless Chromium never hides a page, and the app
 * notifies only while hidden. A string script: tsx would wrap a function's getters in helpers the page lacks.
 */
export function setVisibility(p: Person, state: 'hidden' | 'visible'): Promise<void> {
  return p.page.evaluate(`Object.defineProperty(document, 'visibilityState', { configurable: true, value: '${state}' }); document.dispatchEvent(new Event('visibilitychange'));`);
}

/**
 * Records every notification the page asks its service worker to show, in order (the
 * browser keeps only the latest per tag). Install again after a reload.
 */
export async function recordNotifications(p: Person): Promise<void> {
  await p.page.evaluate(RECORD_NOTIFICATIONS_SCRIPT);
}

const RECORD_NOTIFICATIONS_SCRIPT = `(() => {
  if (window.__wispNotifications) return;
  const shown = [];
  window.__wispNotifications = shown;
  const original = ServiceWorkerRegistration.prototype.showNotification;
  ServiceWorkerRegistration.prototype.showNotification = function (title, options) {
    shown.push({ title, body: (options && options.body) || '', tag: (options && options.tag) || '' });
    return original.call(this, title, options);
  };
})()`;

/**
 * What the page asked to show so far. The app shows a notification once
 * navigator.serviceWorker.getRegistration() answers; this asks it too and reads the record
 * after the answer, so every notification the app raised before this call is in it.
 */
export async function recordedNotifications(p: Person): Promise<ShownNotification[]> {
  return p.page.evaluate(async () => {
    await navigator.serviceWorker.getRegistration();
    const shown = (window as unknown as { __wispNotifications?: ShownNotification[] }).__wispNotifications;
    if (!shown) throw new Error('no notification recorder installed');
    return shown.map((n) => ({ ...n }));
  });
}

/** The notifications the service worker shows now (the latest per tag). */
export async function shownNotifications(p: Person): Promise<ShownNotification[]> {
  return p.page.evaluate(async () => {
    const registration = await navigator.serviceWorker.ready;
    return (await registration.getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag }));
  });
}

// ---- ordering barriers ------------------------------------------------------------------

/**
 * A test device, not something the app would do: writes a whisper frame straight into this
 * person's live link to `key`, past the app's trust checks. The link is ordered, so once the
 * other side shows `text`, everything this side sent on the link before has arrived there too.
 */
export async function sendBarrier(p: Person, key: string, text: string): Promise<void> {
  await p.page.evaluate(`(async ({ key, text }) => {
    const link = window.wisp.whispers.mesh.get(key);
    if (!link || !link.ready) throw new Error('no ready link to send the barrier on');
    const frame = { t: 'whisper', id: crypto.randomUUID(), text, kind: 'text', ts: Date.now() };
    await link.send(new Uint8Array([0, ...new TextEncoder().encode(JSON.stringify(frame))]));
  })(${JSON.stringify({ key, text })})`);
}

/**
 * An ordering barrier through the app's own path: `sender` whispers a fresh line in its
 * active conversation, sees it delivered, and `receiver` (its conversation with `sender`
 * active) shows it. The link is ordered, so once this returns, every whisper `sender` sent
 * on it before, and every receipt `receiver` sent for those, has arrived. Returns the text.
 */
export async function whisperBarrier(sender: Person, receiver: Person): Promise<string> {
  const text = marker(`barrier from ${sender.label}`);
  await sender.say(text);
  await waitWhisperDelivered(sender, text);
  await receiver.waitForLine(text);
  return text;
}

/**
 * A and B, each in their own browser context, who see each other in #lobby, with their
 * identity keys; `probes`: each page records the whispers it sends and receives.
 */
export async function whisperPair(
  scene: Scene,
  { probes = true, person = {}, prepareA }: { probes?: boolean; person?: Omit<PersonOptions, 'label'>; prepareA?: (a: Person) => Promise<void> } = {},
) {
  const a = await scene.person('A', person);
  await prepareA?.(a);
  const b = await scene.person('B', person);
  const [aName, bName] = [await a.myName(), await b.myName()];
  await a.waitForMembers([aName, bName]);
  await b.waitForMembers([aName, bName]);
  const [aKey, bKey] = [await ownKey(a), await ownKey(b)];
  if (probes) {
    await installProbe(a);
    await installProbe(b);
  }
  return { a, b, aName, bName, aKey, bKey };
}
