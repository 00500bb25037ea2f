// Invite links that carry the inviter's key (issue 17, part 3), with the real build, the
// real server and real browsers:
// (i) Olga makes an invite; Pat opens it in a fresh browser context: Pat sees Olga as
//     verified (the badge, and a verified pin of Olga's real key) without comparing
//     numbers, and whispers her over a secure link. Olga's device does nothing special. A
//     link from before (room only) and a damaged one still open the room, vouching for nobody.
// (ii) The same through a hostile server (a proxy in front of the real one) that shows Pat
//     another identity key under Olga's name, in the `joined` snapshot: Pat's app catches
//     it at once (a sentence on screen, the name marked), before Pat types anything; Pat
//     then tries to whisper Olga, and the recorded frames prove that nothing of it left
//     Pat's connection (no `signal` or `relay` frame, the text in no frame). Ten runs, one
//     browser and one server, fresh contexts and identities each run.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test, type TestContext } from 'node:test';
import type { Browser } from 'playwright-core';
import { WAIT_MS, launchBrowser, newPerson, tag, waitUntil, type Person } from './support/browser.ts';
import { Scene } from './support/scene.ts';
import { noticesSeen, waitNoticeSeen } from './support/notices.ts';
import { WispServer } from './support/server.ts';
import { WsProxy, type FrameHook, type RecordedFrame } from './support/proxy.ts';
import { assertNoProblems } from './support/problems.ts';
import { failure, freshIdentityKey, header, marker, memberButton, ownKey, pins, waitSecure, waitWhisperDelivered, whisperTab } from './support/whisper.ts';
import { roomAction } from './support/room-menu.ts';

const TEST_TIMEOUT = 240_000;
const HOSTILE_RUNS = 10;

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** SHA-256 of the key's SPKI bytes, base64url: what the link must carry, computed here independently of the app. */
function fingerprintOf(key: string): string {
  return createHash('sha256').update(Buffer.from(key, 'base64url')).digest('base64url');
}

function mismatchSentence(name: string): string {
  return `The server showed a different key for ${name} than the invite link you opened. Someone may be interfering; nothing is sent to ${name}.`;
}

/** Olga opens the invite dialog for #lobby and reads the link (checking the line that says what it does). */
async function inviteLinkOf(olga: Person): Promise<string> {
  await roomAction(olga, 'Invite…');
  const line = olga.page.locator('wisp-invite-dialog p[data-inviter]');
  await line.waitFor({ state: 'visible' });
  assert.equal((await line.textContent())?.trim(), 'People who join with this link can be sure they are talking to you.');
  const link = await waitUntil('the invite link', async () => (await olga.page.locator('wisp-invite-dialog .link').getAttribute('data-invite-link')) ?? undefined);
  await olga.page.locator('wisp-invite-dialog button', { hasText: 'Done' }).click();
  return link;
}

function checkLink(link: string, origin: string, name: string, key: string): void {
  assert.ok(link.startsWith(`${origin}/#`), `the link is for this server: ${link}`);
  assert.equal(new URL(link).search, '', 'nothing in the query string (it would reach the server)');
  const fragment = new URLSearchParams(new URL(link).hash.slice(1));
  assert.equal(fragment.get('join'), 'lobby');
  assert.equal(fragment.get('by'), name, "the inviter's name is in the fragment");
  assert.equal(fragment.get('fp'), fingerprintOf(key), "the fingerprint of the inviter's key is in the fragment");
}

test('invite with key (i): Pat opens Olga\'s invite and sees Olga verified without comparing numbers', { timeout: TEST_TIMEOUT }, async (t) => {
  const scene = await Scene.open(t, browser);
  const olga = await scene.person('Olga');
  const olgaName = await olga.myName();
  const olgaKey = await ownKey(olga);
  const link = await inviteLinkOf(olga);
  checkLink(link, scene.url, olgaName, olgaKey);

  const pat = await newPerson(browser, link, { label: 'Pat' });
  scene.people.push(pat);
  const patName = await pat.myName();
  await pat.waitForMembers([olgaName, patName].sort());
  assert.equal(await pat.page.evaluate(() => location.hash), '', 'the fragment left the address bar');

  // Verified from the link alone: a verified pin of Olga's real key, and the badge by her name.
  const pinned = await waitUntil("Pat's pin of Olga", async () => (await pins(pat))[olgaName.toLowerCase()]);
  assert.deepEqual({ key: pinned.key, verified: pinned.verified }, { key: olgaKey, verified: true });
  await memberButton(pat, olgaName).locator('.badge.verified').waitFor({ state: 'visible' });
  assert.deepEqual(await noticesSeen(pat), [], 'no warning');

  // And the whisper goes over a secure link, Olga's name still marked verified in the header.
  await memberButton(pat, olgaName).click();
  await whisperTab(pat, olgaKey).waitFor();
  await waitSecure(pat);
  await header(pat).locator('.badge.verified').waitFor({ state: 'visible' });
  const text = `hello Olga ${tag()}`;
  await pat.say(text);
  await waitWhisperDelivered(pat, text);

  // Olga's own device does nothing special: Pat is pinned there on first use, not verified.
  const patKey = await ownKey(pat);
  const olgaPins = await waitUntil("Olga's pin of Pat", async () => (await pins(olga))[patName.toLowerCase()]);
  assert.deepEqual({ key: olgaPins.key, verified: olgaPins.verified }, { key: patKey, verified: false });

  // A link from before (room only) still opens the room, and vouches for nobody.
  const fragment = new URLSearchParams(new URL(link).hash.slice(1));
  const old = await newPerson(browser, `${scene.url}/#join=lobby`, { label: 'Old' });
  scene.people.push(old);
  await old.waitForMembers([olgaName, patName, await old.myName()].sort());
  assert.equal(await memberButton(old, olgaName).locator('.badge.verified').count(), 0, 'an old link: Olga is not marked verified');
  assert.equal(await memberButton(old, olgaName).locator('.badge.unverified').count(), 1, 'an old link: Olga shows as not verified yet');
  assert.deepEqual(await pins(old), {});
  assert.deepEqual(await noticesSeen(old), []);

  // A damaged one (the fingerprint cut short) opens the room too, pins nobody, and says why.
  fragment.set('fp', fingerprintOf(olgaKey).slice(0, 20));
  const damaged = await newPerson(browser, `${scene.url}/#${fragment}`, { label: 'Damaged' });
  scene.people.push(damaged);
  await waitNoticeSeen(damaged, 'This invite link is damaged: it cannot show who sent it, so nobody is marked as verified.');
  await damaged.waitForMembers([olgaName, patName, await old.myName(), await damaged.myName()].sort());
  assert.equal(await memberButton(damaged, olgaName).locator('.badge.verified').count(), 0, 'a damaged link: Olga is not marked verified');
  assert.equal(await memberButton(damaged, olgaName).locator('.badge.unverified').count(), 1, 'a damaged link: Olga shows as not verified yet');
  assert.deepEqual(await pins(damaged), {});
});

interface HostileRun {
  /** Before Pat typed anything: the sentence on screen, Olga's name marked, the app's trust "mismatch". */
  detectedBeforeSend: boolean;
  /** `signal` or `relay` frames Pat's connection sent during the run. */
  whisperFrames: number;
  /** The whisper's text appeared in a frame the proxy saw. */
  leaked: boolean;
  /** After the attempt, the conversation said why nothing was sent. */
  saidWhy: boolean;
}

test('invite with key (ii): a hostile server shows Pat another key under Olga\'s name; caught before any whisper leaves Pat\'s device', { timeout: TEST_TIMEOUT * 2 }, async (t: TestContext) => {
  const proxy = await WsProxy.listen();
  const server = await WispServer.start({ args: ['--origin', proxy.url] });
  proxy.setTarget(server.url);
  const people: Person[] = [];
  t.after(async () => {
    await Promise.all(people.map((p) => p.close()));
    await proxy.close();
    await server.close();
    assertNoProblems([], [server]);
  });

  /** The next connection to say hello is Pat's: the one the proxy lies to. */
  let markNextViewer = false;
  /** Olga's real key, and the fake the proxy shows Pat instead (both change each run). */
  const lie = { real: '', fake: '', rewritten: 0 };
  const hook: FrameHook = ({ json, conn, direction }) => {
    if (direction === 'up') {
      if (markNextViewer && (json as { type?: string })?.type === 'hello') {
        conn.data.viewer = true;
        markNextViewer = false;
      }
      return undefined;
    }
    if (!conn.data.viewer || !lie.real) return undefined;
    const frame = json as { type?: string; members?: { key: string }[]; events?: { k: string; member?: { key: string } }[] };
    const swap = <M extends { key: string }>(m: M): M => (m.key === lie.real ? { ...m, key: lie.fake } : m);
    if (frame?.type === 'joined' && frame.members?.some((m) => m.key === lie.real)) {
      lie.rewritten++;
      return JSON.stringify({ ...frame, members: frame.members.map(swap) });
    }
    if (frame?.type === 'presence' && frame.events?.some((e) => e.member?.key === lie.real)) {
      lie.rewritten++;
      return JSON.stringify({ ...frame, events: frame.events.map((e) => (e.member ? { ...e, member: swap(e.member) } : e)) });
    }
    return undefined;
  };
  proxy.hooks.push(hook);

  const runs: HostileRun[] = [];
  for (let run = 0; run < HOSTILE_RUNS; run++) {
    const olga = await newPerson(browser, proxy.url, { label: `Olga${run}` });
    people.push(olga);
    const olgaName = await olga.myName();
    const olgaKey = await ownKey(olga);
    Object.assign(lie, { real: olgaKey, fake: freshIdentityKey(), rewritten: 0 });
    const link = await inviteLinkOf(olga);
    checkLink(link, proxy.url, olgaName, olgaKey);

    markNextViewer = true;
    const pat = await newPerson(browser, link, { label: `Pat${run}` });
    people.push(pat);
    const patName = await pat.myName();
    const patKey = await ownKey(pat);
    await pat.waitForMembers([olgaName, patName].sort());
    assert.ok(lie.rewritten >= 1, 'the proxy rewrote what Pat was shown');
    const shownKey = await waitUntil("Pat's (tampered) view of Olga", async () => {
      const state = await pat.state<{ rooms: Record<string, { members: Record<string, { name: string; key: string }> }> }>();
      return Object.values(state.rooms.lobby?.members ?? {}).find((m) => m.name === olgaName)?.key;
    });
    assert.equal(shownKey, lie.fake, 'Pat was shown the fake key under Olga\'s name');
    const framesOfPat = () => proxy.frames.filter((f) => f.direction === 'up' && f.key === patKey);
    /** Whisper content can only leave in these: WebRTC signalling and the secure channel over the relay. */
    const isWhisperFrame = (f: RecordedFrame) => ['signal', 'relay'].includes((JSON.parse(f.text) as { type?: string }).type ?? '');
    const upBefore = framesOfPat().length;

    // Caught at once, before Pat types anything.
    await waitNoticeSeen(pat, mismatchSentence(olgaName));
    const badge = await memberButton(pat, olgaName).locator('.badge.changed').count();
    const trust = await pat.page.evaluate((key) => (window as unknown as { wisp: { whispers: { trust(k: string): string } } }).wisp.whispers.trust(key), shownKey);
    const pinned = (await pins(pat))[olgaName.toLowerCase()] as { key: string; verified: boolean; fingerprint?: string } | undefined;
    const signalledBefore = framesOfPat().filter(isWhisperFrame).length;
    const detectedBeforeSend = badge === 1 && trust === 'mismatch' && pinned?.fingerprint === fingerprintOf(olgaKey) && pinned.key === '' && signalledBefore === 0;

    // Pat tries anyway.
    const text = marker(`whisper for Olga, run ${run}`);
    await pat.say(`/w ${olgaName} ${text}`);
    await whisperTab(pat, shownKey).waitFor({ timeout: WAIT_MS });
    const said = await waitUntil('the sentence in the conversation', async () => ((await failure(pat).count()) ? ((await failure(pat).locator('span').textContent()) ?? '').trim() : undefined));
    // No link object exists for the key, so nothing can go out later either; a room message
    // Olga receives is a barrier for anything Pat's connection had queued before it.
    const noLink = await pat.page.evaluate((key) => !(window as unknown as { wisp: { whispers: { mesh: { get(k: string): unknown } } } }).wisp.whispers.mesh.get(key), shownKey);
    const barrier = `barrier ${tag()}`;
    await pat.selectRoom('lobby');
    await pat.say(barrier);
    await olga.waitForLine(barrier);
    const sent = framesOfPat().slice(upBefore);
    const whisperFrames = sent.filter(isWhisperFrame).length;
    const leaked = proxy.allTexts().some((frame) => frame.includes(text));
    const result: HostileRun = { detectedBeforeSend, whisperFrames, leaked, saidWhy: said === mismatchSentence(olgaName) && noLink };
    if (!result.detectedBeforeSend || result.whisperFrames || result.leaked || !result.saidWhy) {
      console.log(`  run ${run}: ${JSON.stringify({ ...result, badge, trust, pinned, said, noLink, sentFrames: sent.map((f) => f.text.slice(0, 60)) })}`);
    }
    runs.push(result);
    await Promise.all([olga.close(), pat.close()]);
    assertNoProblems([olga, pat], []);
    people.length = 0;
  }

  const count = (check: (run: HostileRun) => boolean) => runs.filter(check).length;
  const frames = runs.reduce((n, r) => n + r.whisperFrames, 0);
  console.log(`invite with key: runs=${runs.length} detected_before_send=${count((r) => r.detectedBeforeSend)} whisper_frames_sent=${frames} leaked=${count((r) => r.leaked)} said_why=${count((r) => r.saidWhy)}`);
  assert.equal(runs.length, HOSTILE_RUNS);
  assert.equal(count((r) => r.detectedBeforeSend), runs.length, 'every run caught the other key before Pat sent anything');
  assert.equal(frames, 0, 'no signal or relay frame left Pat\'s connection');
  assert.equal(count((r) => r.leaked), 0, 'the whisper text appeared in no frame');
  assert.equal(count((r) => r.saidWhy), runs.length, 'every attempt said why nothing was sent');
});
