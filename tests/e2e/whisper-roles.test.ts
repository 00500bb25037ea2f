// A hostile server that plays with who starts a whisper link. The two apps derive their
// roles from the two identity keys (the smaller key makes the offer), so a proxy between
// the browsers and the real server rewrites the keys each side sees of the other:
//   (c) both-initiator: each side is shown a fake key for the other that sorts above its
//       own, so both make offers; both-responder: below its own, so both wait for one.
//       In every run the sender sees "The connection to X could not be verified: the server
//       may be interfering." (never "did not answer") and no whisper reaches the other side.
//   (d) every `signal` frame is dropped: the side that answers (the larger key) whispers,
//       and its whisper still goes through the server relay, end-to-end encrypted.
// Fresh browser contexts per run; one browser, one server and one proxy per test.
import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import type { Browser } from 'playwright-core';
import { WAIT_MS, launchBrowser, newPerson, waitUntil, type Person } from './support/browser.ts';
import { closeAll, hostileWorld, type HostileWorld } from './support/hostile-world.ts';
import { frameType, type FrameHook } from './support/proxy.ts';
import { failure, freshIdentityKey, installProbe, keyOf, marker, ownKey, readProbe, secureChip, whisperInfo, whisperTab } from './support/whisper.ts';

const TEST_TIMEOUT = 600_000;
const RUNS = 10;
/** Long enough for the responder's relay fallback (8 s) plus the handshake timeout (15 s), with room to spare. */
const END_WAIT_MS = 40_000;
const DID_NOT_ANSWER = /did not answer/;

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

async function pairOfPeople(world: HostileWorld, run: number): Promise<{ a: Person; b: Person; aName: string; bName: string }> {
  const a = await newPerson(browser, world.proxy.url, { label: `run${run}-A` });
  world.people.push(a);
  const b = await newPerson(browser, world.proxy.url, { label: `run${run}-B` });
  world.people.push(b);
  const [aName, bName] = [await a.myName(), await b.myName()];
  await a.waitForMembers([aName, bName]);
  await b.waitForMembers([aName, bName]);
  return { a, b, aName, bName };
}

type Conflict = 'both-initiator' | 'both-responder';

/**
 * Rewrites, in every frame the server sends to a browser, each other person's identity key
 * to a fake one (a fresh valid P-256 key, the same for that viewer every time) that sorts
 * above the viewer's own key (both-initiator) or below it (both-responder).
 */
function keySwapper(mode: () => Conflict | undefined): { hook: FrameHook; rewritten: () => number } {
  const known = new Set<string>();
  const fakes = new Map<string, string>();
  let rewritten = 0;
  const fakeFor = (viewer: string, real: string, wanted: Conflict): string => {
    const id = `${viewer}|${real}`;
    let fake = fakes.get(id);
    while (!fake || (wanted === 'both-initiator' ? !(viewer < fake) : !(fake < viewer))) fake = freshIdentityKey();
    fakes.set(id, fake);
    return fake;
  };
  const hook: FrameHook = ({ text, conn, direction }) => {
    if (direction === 'up') {
      if (conn.key) known.add(conn.key);
      return undefined;
    }
    const wanted = mode();
    const viewer = conn.key;
    if (!wanted || !viewer) return undefined;
    let out = text;
    for (const real of known) if (real !== viewer && out.includes(real)) out = out.replaceAll(real, fakeFor(viewer, real, wanted));
    if (out === text) return undefined;
    rewritten++;
    return out;
  };
  return { hook, rewritten: () => rewritten };
}

interface ConflictRun {
  interference: boolean;
  didNotAnswer: boolean;
  leaked: boolean;
  shown: string;
}

const interferenceFor = (name: string) => `The connection to ${name} could not be verified: the server may be interfering.`;

async function conflictRuns(t: TestContext, conflict: Conflict): Promise<ConflictRun[]> {
  const world = await hostileWorld(t);
  const swapper = keySwapper(() => conflict);
  world.proxy.hooks.push(swapper.hook);
  const runs: ConflictRun[] = [];
  for (let run = 0; run < RUNS; run++) {
    const { a, b, aName, bName } = await pairOfPeople(world, run);
    const [aKey, bKey] = [await ownKey(a), await ownKey(b)];
    // What each side was shown of the other: the role each derives comes out the same.
    const [aViewOfB, bViewOfA] = [await keyOf(a, bName), await keyOf(b, aName)];
    assert.notEqual(aViewOfB, bKey, 'A was shown a fake key for B');
    assert.notEqual(bViewOfA, aKey, 'B was shown a fake key for A');
    const startsA = aKey < aViewOfB;
    const startsB = bKey < bViewOfA;
    assert.equal(startsA, conflict === 'both-initiator', 'A holds the conflicting role');
    assert.equal(startsB, conflict === 'both-initiator', 'B holds the conflicting role');
    // Alternate the sender: the one with the smaller real key, then the other.
    const [sender, receiver, receiverName, senderViewOfReceiver, receiverViewOfSender] = (aKey < bKey) === (run % 2 === 0) ? [a, b, bName, aViewOfB, bViewOfA] : [b, a, aName, bViewOfA, aViewOfB];
    await installProbe(sender);
    await installProbe(receiver);
    const text = marker(`roles ${conflict} run ${run}`);
    await sender.say(`/w ${receiverName} ${text}`);
    await whisperTab(sender, senderViewOfReceiver).waitFor({ timeout: WAIT_MS });
    await waitUntil(`run ${run}: the sender's link to end`, async () => (await readProbe(sender)).failures.length > 0 || (await readProbe(sender)).delivered.includes(text), END_WAIT_MS);
    // Nothing can arrive late once neither side has a link that is not closed.
    await waitUntil(`run ${run}: both links to close`, async () => !(await hasOpenLink(sender, senderViewOfReceiver)) && !(await hasOpenLink(receiver, receiverViewOfSender)), END_WAIT_MS);
    const [ps, pr] = await Promise.all([readProbe(sender), readProbe(receiver)]);
    const shown = (await failure(sender).count()) ? ((await failure(sender).locator('span').textContent()) ?? '').trim() : '';
    const sentences = [...ps.failures, ...pr.failures].map((f) => f.failure);
    const leaked = pr.received.includes(text) || ps.delivered.includes(text) || world.proxy.allTexts().some((f) => f.includes(text));
    const expected = interferenceFor(receiverName);
    const secure = ps.ready.length > 0 || (await secureChip(sender).count()) > 0;
    const result: ConflictRun = {
      interference: ps.failures[0]?.failure === expected && shown === expected && !secure,
      didNotAnswer: sentences.some((s) => DID_NOT_ANSWER.test(s)) || DID_NOT_ANSWER.test(shown),
      leaked,
      shown,
    };
    if (!result.interference || result.didNotAnswer || leaked) console.log(`  run ${run}: ${JSON.stringify({ ...result, sentences, ready: ps.ready.length })}`);
    const link = await whisperInfo(sender, senderViewOfReceiver);
    assert.equal(link?.link, 'closed', 'the sender has no link to them');
    runs.push(result);
    await closeAll(world);
  }
  assert.ok(swapper.rewritten() > 0, 'the proxy rewrote keys');
  return runs;
}

/** Whether this page's app has a link to `key` that is not closed. */
function hasOpenLink(p: Person, key: string): Promise<boolean> {
  return p.page.evaluate(`(() => {
    const link = window.wisp.whispers.mesh.get(${JSON.stringify(key)});
    return Boolean(link && !link.isClosed);
  })()`) as Promise<boolean>;
}

for (const conflict of ['both-initiator', 'both-responder'] as const) {
  test(`role conflict (${conflict}): keys rewritten so both sides take the same role; the sender is told the server may be interfering, and nothing is delivered`, { timeout: TEST_TIMEOUT }, async (t) => {
    const runs = await conflictRuns(t, conflict);
    const count = (check: (run: ConflictRun) => boolean) => runs.filter(check).length;
    console.log(`role conflict ${conflict}: runs=${runs.length} interference_shown=${count((r) => r.interference)} did_not_answer=${count((r) => r.didNotAnswer)} leaked=${count((r) => r.leaked)}`);
    assert.equal(runs.length, RUNS);
    assert.equal(count((r) => r.interference), runs.length, 'the sender saw the interference sentence, and no secure indicator, in every run');
    assert.equal(count((r) => r.didNotAnswer), 0, 'never "did not answer"');
    assert.equal(count((r) => r.leaked), 0, 'no whisper reached the other side or the server');
  });
}

interface DroppedRun {
  delivered: boolean;
  paths: [string, string];
  failures: string[];
  leaked: boolean;
  relayFrames: number;
}

test('every signal frame dropped: whispers from the side that answers go through the relay, end-to-end encrypted', { timeout: TEST_TIMEOUT }, async (t) => {
  const world = await hostileWorld(t);
  let dropped = 0;
  world.proxy.hooks.push(({ direction, json }) => {
    if (direction !== 'up' || (json as { type?: string })?.type !== 'signal') return undefined;
    dropped++;
    return null;
  });
  const runs: DroppedRun[] = [];
  for (let run = 0; run < RUNS; run++) {
    const pair = await pairOfPeople(world, run);
    const [aKey, bKey] = [await ownKey(pair.a), await ownKey(pair.b)];
    // The larger key answers the link: it whispers.
    const [responder, initiator, initiatorName, responderKey, initiatorKey] = aKey > bKey ? [pair.a, pair.b, pair.bName, aKey, bKey] : [pair.b, pair.a, pair.aName, bKey, aKey];
    await installProbe(responder);
    await installProbe(initiator);
    const framesBefore = world.proxy.frames.length;
    const droppedBefore = dropped;
    const text = marker(`dropped signalling run ${run}`);
    await responder.say(`/w ${initiatorName} ${text}`);
    await whisperTab(responder, initiatorKey).waitFor({ timeout: WAIT_MS });
    const ending = await waitUntil(
      `run ${run}: the whisper delivered, or a failure`,
      async () => {
        const [pr, pi] = await Promise.all([readProbe(responder), readProbe(initiator)]);
        if (pi.received.includes(text) && pr.delivered.includes(text)) return 'delivered';
        return pr.failures.length || pi.failures.length ? 'failed' : undefined;
      },
      END_WAIT_MS,
    ).catch(() => 'timed out');
    const [pr, pi] = await Promise.all([readProbe(responder), readProbe(initiator)]);
    const frames = world.proxy.frames.slice(framesBefore);
    const relayFrames = frames.filter((f) => frameType(f.text) === 'relay');
    const result: DroppedRun = {
      delivered: ending === 'delivered',
      paths: [(await whisperInfo(responder, initiatorKey))?.path ?? '(none)', (await whisperInfo(initiator, responderKey))?.path ?? '(none)'],
      failures: [...pr.failures, ...pi.failures].map((f) => f.failure),
      leaked: frames.some((f) => f.text.includes(text) || Boolean(f.forwarded?.includes(text))),
      relayFrames: relayFrames.length,
    };
    assert.ok(dropped > droppedBefore, `run ${run}: the proxy dropped signal frames`);
    if (!result.delivered || result.paths.some((p) => p !== 'relay') || result.failures.length || result.leaked) console.log(`  run ${run}: ${JSON.stringify(result)}`);
    runs.push(result);
    await closeAll(world);
  }
  const count = (check: (run: DroppedRun) => boolean) => runs.filter(check).length;
  console.log(
    `dropped signalling, responder whispers: runs=${runs.length} delivered=${count((r) => r.delivered)} relayed_both_sides=${count((r) => r.paths.every((p) => p === 'relay'))} ` +
      `with_failure_sentence=${count((r) => r.failures.length > 0)} leaked=${count((r) => r.leaked)} signal_frames_dropped=${dropped}`,
  );
  assert.equal(runs.length, RUNS);
  assert.equal(count((r) => r.delivered), runs.length, 'every whisper from the responder arrived');
  assert.equal(count((r) => r.paths.every((p) => p === 'relay')), runs.length, 'over the relay on both sides');
  assert.equal(count((r) => r.relayFrames > 0), runs.length, 'relay frames carried it');
  assert.deepEqual(runs.flatMap((r) => r.failures), [], 'no failure sentence on either side');
  assert.equal(count((r) => r.leaked), 0, 'no frame through the server held the whisper in plaintext');
});
