// Chat conventions between two people in real browsers, through the real server and a
// real WebRTC whisper: lines from one person in a row read as one group (one name, one
// picture), a reply starts another, each person's picture is the same markup on both
// devices (drawn from their identity key), and a picture sent in a whisper shows on the
// sender's own card as a thumbnail, as well as on the receiver's as a preview.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import type { Browser, Locator } from 'playwright-core';
import { launchBrowser, tag, waitUntil, type Person } from './support/browser.ts';
import { watchCsp } from './support/csp.ts';
import { Scene } from './support/scene.ts';
import { TempFiles, accept, attach, card, cardStatus, converse, meet, pngBytes, showConversation, waitTransfer } from './support/files.ts';

const TEST_TIMEOUT = 180_000;
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's violations in the message list and the member list (inside the app's shadow roots). */
async function axeViolations(p: Person): Promise<string[]> {
  await p.page.evaluate(AXE_SOURCE);
  return p.page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: { id: string; nodes: { target: unknown }[] }[] }> } }).axe;
    const result = await axe.run({ include: [{ fromShadowDom: ['wisp-app', 'wisp-message-list'] }, { fromShadowDom: ['wisp-app', 'wisp-member-list'] }] }, { resultTypes: ['violations'] });
    return result.violations.map((v) => `${v.id}: ${JSON.stringify(v.nodes.map((n) => n.target))}`);
  });
}

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

interface ShownLine {
  key: string;
  head: boolean;
  name: string | null;
  text: string | null;
  pictures: number;
}

/** The message lines of the active conversation: grouped or not, the name shown, the text. */
async function shown(p: Person): Promise<ShownLine[]> {
  return p.lines.evaluateAll((items) =>
    items
      .filter((li) => (li as HTMLElement).dataset.key !== undefined)
      .map((li) => ({
        key: (li as HTMLElement).dataset.key!,
        head: li.classList.contains('head'),
        name: li.querySelector('.name')?.textContent ?? null,
        text: li.querySelector('.text')?.textContent ?? null,
        pictures: li.querySelectorAll('svg.avatar').length,
      })),
  );
}

/** The lines with these texts, in order. */
async function linesOf(p: Person, texts: string[]): Promise<ShownLine[]> {
  return (await shown(p)).filter((l) => l.text !== null && texts.includes(l.text));
}

/** An element's markup without Lit's comment markers (their numbers differ per page). */
function pictureMarkup(picture: Locator): Promise<string> {
  return picture.evaluate((svg) => {
    const copy = svg.cloneNode(true) as Element;
    const walker = document.createTreeWalker(copy, NodeFilter.SHOW_COMMENT);
    const comments: Node[] = [];
    while (walker.nextNode()) comments.push(walker.currentNode);
    for (const c of comments) c.parentNode!.removeChild(c);
    return copy.outerHTML;
  });
}

function linePicture(p: Person, text: string): Locator {
  return p.linesWith(text).first().locator('svg.avatar');
}

function memberPicture(p: Person, name: string): Locator {
  return p.page.locator('wisp-member-list li[data-id]').filter({ has: p.page.locator('.name', { hasText: name }) }).locator('svg.avatar');
}

/** Waits until an <img> has loaded a picture; its natural size and source. */
function loaded(img: Locator, what: string) {
  return waitUntil(what, () => img.evaluate((el: HTMLImageElement) => (el.complete && el.naturalWidth > 0 ? { w: el.naturalWidth, h: el.naturalHeight, src: el.src } : undefined)));
}

test('lines group by sender, pictures match across devices, and the sender sees a thumbnail of the picture they whisper', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const files = new TempFiles();
  t.after(() => files.dispose());
  const pair = await meet(await scene.person('Alice', { init: watchCsp }), await scene.person('Bob', { init: watchCsp }));
  const { a: alice, b: bob, aName, bName } = pair;

  // Alice says three lines in a row: Bob sees one header (her name and picture) and three texts.
  const three = [1, 2, 3].map((i) => `line ${i} ${tag()}`);
  for (const text of three) await alice.say(text);
  for (const text of three) await bob.waitForLine(text);
  assert.deepEqual(
    (await linesOf(bob, three)).map(({ head, name, text, pictures }) => ({ head, name, text, pictures })),
    [
      { head: true, name: aName, text: three[0], pictures: 1 },
      { head: false, name: null, text: three[1], pictures: 0 },
      { head: false, name: null, text: three[2], pictures: 0 },
    ],
    "Bob sees Alice's three lines as one group",
  );
  for (const text of three) await alice.waitDelivered(text);
  assert.deepEqual((await linesOf(alice, three)).map((l) => [l.head, l.name]), [[true, 'You'], [false, null], [false, null]], 'Alice sees her own three lines as one group');

  // Bob replies: a new group under his name; Alice's next line starts another.
  const reply = `reply ${tag()}`;
  await bob.say(reply);
  await alice.waitForLine(reply);
  const after = `after the reply ${tag()}`;
  await alice.say(after);
  await bob.waitForLine(after);
  assert.deepEqual(
    (await linesOf(bob, [three[2], reply, after])).map((l) => [l.text, l.head, l.name]),
    [[three[2], false, null], [reply, true, 'You'], [after, true, aName]],
    'a reply starts a new group, and so does the line after it',
  );
  assert.deepEqual((await linesOf(alice, [reply])).map((l) => [l.head, l.name, l.pictures]), [[true, bName, 1]]);

  // One day on screen: one separator, "Today", as a list item of the log's list.
  for (const p of [alice, bob]) {
    const days = p.page.locator('wisp-message-list [role=log] > ol > li[data-day]');
    assert.deepEqual((await days.allTextContents()).map((d) => d.trim()), ['Today'], `${p.label} sees one day separator`);
  }

  // The log, its list, the day and the pictures pass axe-core.
  for (const p of [alice, bob]) assert.deepEqual(await axeViolations(p), [], `${p.label}: no axe-core violations in the message and member lists`);
  // Control: the old structure (the list itself as the log) is what axe flags, in this very page.
  const logOnList = (on: boolean) =>
    bob.page.evaluate((set) => {
      const list = document.querySelector('wisp-app')!.shadowRoot!.querySelector('wisp-message-list')!.shadowRoot!;
      const ol = list.querySelector('[role=log] > ol')!;
      if (set) ol.setAttribute('role', 'log');
      else ol.removeAttribute('role');
    }, on);
  await logOnList(true);
  const flagged = await axeViolations(bob);
  await logOnList(false);
  assert.ok(flagged.some((v) => v.startsWith('listitem:')), `axe flags list items outside a list: ${JSON.stringify(flagged)}`);

  // Each person's picture is the same markup on both devices, in the lines and in the member list.
  const aliceOnAlice = await pictureMarkup(linePicture(alice, three[0]));
  const aliceOnBob = await pictureMarkup(linePicture(bob, three[0]));
  assert.equal(aliceOnBob, aliceOnAlice, "Alice's picture is the same on Alice's and Bob's devices");
  assert.equal(await pictureMarkup(memberPicture(alice, aName)), aliceOnAlice, "Alice's picture in Alice's member list");
  assert.equal(await pictureMarkup(memberPicture(bob, aName)), aliceOnAlice, "Alice's picture in Bob's member list");
  const bobOnAlice = await pictureMarkup(linePicture(alice, reply));
  assert.equal(await pictureMarkup(linePicture(bob, reply)), bobOnAlice, "Bob's picture is the same on both devices");
  assert.notEqual(bobOnAlice, aliceOnAlice, 'two people, two pictures');
  assert.match(aliceOnAlice, /^<svg class="avatar"[^>]* aria-hidden="true"/);
  assert.doesNotMatch(aliceOnAlice, /href|<image|url\(/, 'the picture refers to nothing outside itself');

  // A picture in a whisper: Alice's own card shows it; Bob's shows the preview once received.
  await converse(pair);
  const picture = files.write(`sunset-${tag()}.png`, pngBytes(64, 48));
  await attach(alice, picture);
  const thumb = card(alice, picture.name).locator('img.thumb');
  await thumb.waitFor();
  const own = await loaded(thumb, "Alice's thumbnail to load");
  assert.deepEqual({ w: own.w, h: own.h }, { w: 64, h: 48 }, "Alice's thumbnail is the picture she picked");
  assert.match(own.src, /^blob:/);
  await waitTransfer(bob, picture.name, 'in', ['offered']);
  await accept(bob, picture.name);
  const preview = card(bob, picture.name).locator('img');
  await preview.waitFor();
  const received = await loaded(preview, "Bob's preview to load");
  assert.deepEqual({ w: received.w, h: received.h }, { w: 64, h: 48 }, 'Bob sees the preview');
  await cardStatus(card(alice, picture.name)).filter({ hasText: 'Delivered to' }).waitFor();
  assert.equal(await thumb.count(), 1, 'the thumbnail stays on the delivered card');

  // The card goes off screen: its URL is revoked (a new picture from it no longer loads).
  // Back in the conversation, the thumbnail shows again.
  const probe = (url: string) =>
    alice.page.evaluate(
      (u) =>
        new Promise<string>((resolve) => {
          const img = new Image();
          img.onload = () => resolve('loads');
          img.onerror = () => resolve('revoked');
          img.src = u;
        }),
      url,
    );
  assert.equal(await probe(own.src), 'loads', 'the probe loads the thumbnail while its card is on screen');
  await alice.selectRoom('lobby');
  await waitUntil('the card to go', async () => (await card(alice, picture.name).count()) === 0);
  // The probe's failed load is what this step provokes.
  alice.allowProblems(/^console: Failed to load resource: net::ERR_FILE_NOT_FOUND$/);
  assert.equal(await probe(own.src), 'revoked', 'the thumbnail URL is revoked once its card is gone');
  await showConversation(alice, pair.bKey);
  const again = await loaded(card(alice, picture.name).locator('img.thumb'), "Alice's thumbnail to show again");
  assert.equal(again.w, 64);
  assert.notEqual(again.src, own.src, 'a fresh URL for the card on screen again');
});
