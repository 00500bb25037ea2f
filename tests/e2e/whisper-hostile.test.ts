// A hostile server. A proxy sits between the browsers and the real signal server and
// tampers with what it relays:
//   (a) it changes one byte of the DTLS fingerprint (`a=fingerprint:sha-256 …`) in the SDP
//       inside `signal` frames, so the two apps see different fingerprints;
//   (b) it shows A a different (fresh, valid P-256) identity key for B in the `joined`
//       snapshot and in `presence` join events.
// (a): over at least 20 runs (fresh pairs of browser contexts, and a new link with a new
// whisper within each pair) DTLS refuses the rewritten fingerprint, so no whisper ever
// travels over that data channel; the link falls back to the server relay, where the secure
// channel (whose transcript binds fingerprints on a data channel only) still comes up: the
// whisper arrives end-to-end encrypted (the proxy never sees its text), with no false
// "tampered" alarm. A fingerprint rewrite that reaches the data-channel handshake (a DTLS
// man in the middle) fails the signatures: tests/app/crypto.test.ts.
// (b): over at least 20 runs the handshake fails every time, no whisper reaches the other
// side, the sender sees the sentence, and "End-to-end encrypted" never shows.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { WAIT_MS, launchBrowser, waitUntil, type Person } from './support/browser.ts';
import { closeAll, hostileWorld, personIn, type HostileWorld } from './support/hostile-world.ts';
import type { FrameHook } from './support/proxy.ts';
import { failure, freshIdentityKey, installProbe, marker, ownKey, ownLines, readProbe, secureChip, whisperInfo, whisperTab } from './support/whisper.ts';

const TEST_TIMEOUT = 240_000;
/** Fresh pairs of people per attack, and whisper attempts per pair (the first, then "Try again"). */
const PAIRS = 5;
const ATTEMPTS_PER_PAIR = 4;
/** Long enough for the relay fallback (4 s) plus the handshake timeout (15 s), with room to spare. */
const FAILURE_WAIT_MS = 30_000;

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** Someone who opens the proxy's URL, in this file's browser. */
const person = (world: HostileWorld, label: string): Promise<Person> => personIn(world, browser, label);

interface RunResult {
  failed: boolean;
  delivered: boolean;
  sentence: string;
  /** Link offers (SDP) the proxy relayed between the two during this attempt. */
  offers: number;
}

interface Tally {
  runs: number;
  /** Attempts in which the proxy relayed at least one link offer: a handshake was really attempted. */
  attempted: number;
  failedHandshakes: number;
  delivered: number;
  sentences: Map<string, number>;
}

function tally(): Tally {
  return { runs: 0, attempted: 0, failedHandshakes: 0, delivered: 0, sentences: new Map() };
}

function count(t: Tally, run: RunResult, name: string): void {
  t.runs++;
  if (run.offers > 0) t.attempted++;
  if (run.failed) t.failedHandshakes++;
  if (run.delivered) t.delivered++;
  const generic = run.sentence.replaceAll(name, '<name>');
  t.sentences.set(generic, (t.sentences.get(generic) ?? 0) + 1);
}

function report(title: string, t: Tally): void {
  console.log(`hostile server, ${title}: runs=${t.runs} attempted_links=${t.attempted} failed_handshakes=${t.failedHandshakes} delivered=${t.delivered}`);
  for (const [sentence, n] of t.sentences) console.log(`  ${n} x shown: "${sentence}"`);
}

/**
 * One pair of people; A whispers B `attempts` times (the first with /w, then "Try again" and
 * a new whisper), each attempt judged on its own. `expected` is the sentence A must show.
 */
async function whisperAttempts(
  a: Person,
  b: Person,
  names: { b: string },
  keys: { a: string; aViewOfB: string },
  expected: RegExp,
  attempts: number,
  offers: () => number,
): Promise<RunResult[]> {
  const [bName, aViewOfBKey] = [names.b, keys.aViewOfB];
  await installProbe(a);
  await installProbe(b);
  const results: RunResult[] = [];
  const texts: string[] = [];
  for (let attempt = 0; attempt < attempts; attempt++) {
    const before = (await readProbe(a)).failures.length;
    const offersBefore = offers();
    const text = marker(`hostile attempt ${attempt}`);
    texts.push(text);
    if (attempt === 0) {
      await a.say(`/w ${bName} ${text}`);
      await whisperTab(a, aViewOfBKey).waitFor({ timeout: WAIT_MS });
    } else {
      await failure(a).getByRole('button', { name: 'Try again' }).click();
      await a.say(text);
    }
    // The attempt ends when A's link closes with a sentence (or, if the attack failed, it would be delivered).
    await waitUntil(
      `A's attempt ${attempt} to end (failure or delivery)`,
      async () => {
        const probe = await readProbe(a);
        return probe.failures.length > before || probe.delivered.includes(text) || probe.ready.length > 0;
      },
      FAILURE_WAIT_MS,
    );
    // Nothing can arrive late once neither side has an open link (a whisper only travels over one).
    await waitUntil(`both sides' links to close after attempt ${attempt}`, async () => !(await hasOpenLink(a, aViewOfBKey)) && !(await hasOpenLink(b, keys.a)), FAILURE_WAIT_MS);
    const [pa, pb] = await Promise.all([readProbe(a), readProbe(b)]);
    const newFailures = pa.failures.slice(before);
    const shown = (await failure(a).count()) ? ((await failure(a).locator('span').textContent()) ?? '').trim() : '';
    // What the person sees at the end of the attempt (the tally counts these).
    const sentence = shown || '(no sentence shown)';
    const delivered = pb.received.some((r) => texts.includes(r)) || pa.delivered.some((d) => texts.includes(d)) || (await ownLines(a, text).locator('.delivered').count()) > 0;
    const secureShown = pa.ready.length > 0 || pb.ready.length > 0 || (await secureChip(a).count()) > 0;
    const failed = newFailures.length > 0 && expected.test(newFailures[0].failure) && expected.test(shown) && !secureShown;
    if (!failed || delivered) {
      console.log(`  attempt ${attempt}: sentences in order ${JSON.stringify(newFailures.map((f) => f.failure))}; shown "${shown}"; ready A=${pa.ready.length} B=${pb.ready.length}; delivered=${delivered}`);
    }
    results.push({ failed, delivered, sentence, offers: offers() - offersBefore });
  }
  // Anything arriving late still counts against the attempt that sent it.
  const [pa, pb] = await Promise.all([readProbe(a), readProbe(b)]);
  texts.forEach((text, i) => {
    if (pb.received.includes(text) || pa.delivered.includes(text)) results[i].delivered = true;
  });
  return results;
}

/** Whether this page's app has a link to `key` that is not closed. */
function hasOpenLink(p: Person, key: string): Promise<boolean> {
  return p.page.evaluate(`(() => {
    const link = window.wisp.whispers.mesh.get(${JSON.stringify(key)});
    return Boolean(link && !link.isClosed);
  })()`) as Promise<boolean>;
}

/** The SDP a relayed `signal` frame carries, if any, and whether it is an offer. */
function relayedSdp(json: unknown): { type?: string; sdp: string } | undefined {
  const frame = json as { type?: string; data?: string };
  if (frame?.type !== 'signal' || typeof frame.data !== 'string') return undefined;
  const payload = JSON.parse(frame.data) as { k: string; d?: { type?: string; sdp?: string } };
  if (payload.k !== 'sp' || typeof payload.d?.sdp !== 'string') return undefined;
  return { type: payload.d.type, sdp: payload.d.sdp };
}

/** Changes one byte of every sha-256 DTLS fingerprint in an SDP. */
function tamperFingerprint(sdp: string): string {
  return sdp.replace(/^(a=fingerprint:sha-256 )([0-9A-Fa-f]{2})/gm, (_m, head: string, byte: string) => {
    const changed = ((parseInt(byte, 16) ^ 0x5a) & 0xff).toString(16).toUpperCase().padStart(2, '0');
    return `${head}${changed}`;
  });
}

interface RelayedRun {
  /** Fingerprints the proxy rewrote during this attempt: the DTLS handshake it made fail. */
  rewrites: number;
  delivered: boolean;
  /** The path each side's link reported once the whisper was delivered. */
  paths: [string, string];
  /** Sentences shown when a link closed during the attempt, on either side. */
  failures: string[];
  /** The whisper's text appeared in a frame the proxy saw. */
  leaked: boolean;
}

/**
 * One pair under the fingerprint attack: A whispers B `attempts` times, each over a new link
 * (the first with /w, then after the app's reconnect, as "Try again" does it), each attempt
 * judged on its own once A sees the whisper delivered (or it never is).
 */
async function relayedAttempts(
  world: HostileWorld,
  a: Person,
  b: Person,
  names: { a: string; b: string },
  keys: { a: string; b: string },
  attempts: number,
  rewrites: () => number,
): Promise<RelayedRun[]> {
  await installProbe(a);
  await installProbe(b);
  const results: RelayedRun[] = [];
  for (let attempt = 0; attempt < attempts; attempt++) {
    const [failuresA, failuresB] = [(await readProbe(a)).failures.length, (await readProbe(b)).failures.length];
    const rewritesBefore = rewrites();
    const text = marker(`hostile attempt ${attempt}`);
    if (attempt === 0) {
      await a.say(`/w ${names.b} ${text}`);
      await whisperTab(a, keys.b).waitFor({ timeout: WAIT_MS });
    } else {
      await a.page.evaluate((key) => (window as unknown as { wisp: { reconnectWhisper(key: string): void } }).wisp.reconnectWhisper(key), keys.b);
      await a.say(text);
    }
    // The attempt ends when B has the whisper and A sees it delivered, or when a link closes with a sentence.
    const ending = await waitUntil(
      `attempt ${attempt} to end (delivered, or a failure)`,
      async () => {
        const [pa, pb] = await Promise.all([readProbe(a), readProbe(b)]);
        if (pb.received.includes(text) && pa.delivered.includes(text)) return 'delivered';
        return pa.failures.length > failuresA || pb.failures.length > failuresB ? 'failed' : undefined;
      },
      FAILURE_WAIT_MS,
    ).catch(() => 'timed out');
    const delivered = ending === 'delivered';
    const [pa, pb] = await Promise.all([readProbe(a), readProbe(b)]);
    const paths: [string, string] = [(await whisperInfo(a, keys.b))?.path ?? '(none)', (await whisperInfo(b, keys.a))?.path ?? '(none)'];
    const failures = [...pa.failures.slice(failuresA), ...pb.failures.slice(failuresB)].map((f) => f.failure.replaceAll(names.a, '<name>').replaceAll(names.b, '<name>'));
    const leaked = world.proxy.frames.some((f) => f.text.includes(text) || Boolean(f.forwarded?.includes(text)));
    const run: RelayedRun = { rewrites: rewrites() - rewritesBefore, delivered, paths, failures, leaked };
    if (!delivered || paths.some((p) => p !== 'relay') || failures.length || leaked) console.log(`  attempt ${attempt}: ${JSON.stringify(run)}`);
    results.push(run);
  }
  return results;
}

test('hostile server (a): a rewritten DTLS fingerprint in the relayed SDP never carries a whisper over that data channel; the relay does, end-to-end encrypted, with no false alarm', { timeout: TEST_TIMEOUT }, async (t) => {
  const world = await hostileWorld(t);
  let rewritten = 0;
  /** Which side gets the tampered SDP: the frames delivered to this identity key. */
  let victim = '';
  const hook: FrameHook = ({ json, conn, direction }) => {
    if (direction !== 'down' || conn.key !== victim) return undefined;
    const frame = json as { type?: string; data?: string };
    if (frame?.type !== 'signal' || typeof frame.data !== 'string') return undefined;
    const payload = JSON.parse(frame.data) as { k: string; d?: { type?: string; sdp?: string } };
    if (payload.k !== 'sp' || typeof payload.d?.sdp !== 'string' || !/^a=fingerprint:/m.test(payload.d.sdp)) return undefined;
    const sdp = tamperFingerprint(payload.d.sdp);
    assert.notEqual(sdp, payload.d.sdp, 'the proxy changed the fingerprint');
    rewritten++;
    return JSON.stringify({ ...frame, data: JSON.stringify({ ...payload, d: { ...payload.d, sdp } }) });
  };
  world.proxy.hooks.push(hook);

  const runs: RelayedRun[] = [];
  for (let pair = 0; pair < PAIRS; pair++) {
    // Every combination, in turn: the sender starts the link or answers it, and the SDP
    // delivered to the sender or to the other side is rewritten.
    const senderStarts = pair % 2 === 0;
    const senderIsVictim = Math.floor(pair / 2) % 2 === 1;
    const x = await person(world, `pair${pair}-first`);
    const y = await person(world, `pair${pair}-second`);
    const [xKey, yKey] = [await ownKey(x), await ownKey(y)];
    // The link is started by the side with the smaller identity key.
    const [a, b] = xKey < yKey === senderStarts ? [x, y] : [y, x];
    const aName = await a.myName();
    const bName = await b.myName();
    await a.waitForMembers([aName, bName]);
    await b.waitForMembers([aName, bName]);
    const aKey = await ownKey(a);
    const bKey = await ownKey(b);
    assert.equal(aKey < bKey, senderStarts);
    victim = senderIsVictim ? aKey : bKey;
    const rewrittenBefore = rewritten;
    console.log(`pair ${pair}: the sender ${senderStarts ? 'starts' : 'answers'} the link; the SDP delivered to the ${senderIsVictim ? 'sender' : 'other side'} is rewritten`);
    runs.push(...(await relayedAttempts(world, a, b, { a: aName, b: bName }, { a: aKey, b: bKey }, ATTEMPTS_PER_PAIR, () => rewritten)));
    assert.ok(rewritten - rewrittenBefore >= ATTEMPTS_PER_PAIR, `the proxy rewrote fingerprints in this pair's attempts (${rewritten - rewrittenBefore})`);
    await closeAll(world);
  }

  const count = (check: (run: RelayedRun) => boolean) => runs.filter(check).length;
  console.log(
    `hostile server, rewritten DTLS fingerprint: runs=${runs.length} with_rewrite=${count((r) => r.rewrites > 0)} delivered=${count((r) => r.delivered)} relayed_both_sides=${count((r) => r.paths.every((p) => p === 'relay'))} ` +
      `with_failure_sentence=${count((r) => r.failures.length > 0)} leaked=${count((r) => r.leaked)}`,
  );
  // Counted from what happened: attempts in which the proxy really rewrote a fingerprint.
  assert.ok(count((r) => r.rewrites > 0) >= 20, `at least 20 attempts with a rewritten fingerprint (${count((r) => r.rewrites > 0)} of ${runs.length})`);
  assert.equal(count((r) => r.rewrites > 0), runs.length, 'the proxy rewrote a fingerprint in every attempt');
  assert.equal(count((r) => r.paths.some((p) => p === 'direct' || p === 'turn')), 0, 'no link ever ran over the data channel with the rewritten fingerprint');
  assert.equal(count((r) => r.delivered && r.paths.every((p) => p === 'relay')), runs.length, 'every whisper arrived, over the relay on both sides');
  assert.deepEqual(runs.flatMap((r) => r.failures), [], 'no failure sentence (in particular no false "tampered") on either side');
  assert.equal(count((r) => r.leaked), 0, 'the proxy never saw a whisper in plaintext');
});

test('hostile server (b): a substituted identity key in joined/presence makes every handshake fail', { timeout: TEST_TIMEOUT }, async (t) => {
  const world = await hostileWorld(t);
  const totals = tally();
  /** The connection that is lied to is the next one to say hello after this is set. */
  let markNextViewer = false;
  const fakes = new Map<string, string>();
  const rewrites = { joined: 0, presence: 0 };
  /** Link offers (SDP) the proxy relayed to anyone: each new link starts with one. */
  let offers = 0;
  /**
   * A fake key for `real`, as seen by `viewer`. It sorts on the same side of the viewer's
   * key as the real one, so both apps agree on who starts the link and the data channel
   * opens: the handshake alone must catch the substitution.
   */
  const fakeFor = (real: string, viewer: string): string => {
    let fake = fakes.get(real);
    while (!fake || fake < viewer !== real < viewer) fake = freshIdentityKey();
    fakes.set(real, fake);
    return fake;
  };
  const hook: FrameHook = ({ json, conn, direction }) => {
    if (direction === 'up') {
      if (markNextViewer && (json as { type?: string })?.type === 'hello') {
        conn.data.viewer = true;
        markNextViewer = false;
      }
      return undefined;
    }
    if (relayedSdp(json)?.type === 'offer') offers++;
    if (!conn.data.viewer || !conn.key) return undefined;
    const viewer = conn.key;
    const frame = json as { type?: string; members?: { key: string }[]; events?: { k: string; member?: { key: string } }[] };
    if (frame?.type === 'joined' && frame.members?.some((m) => m.key !== viewer)) {
      rewrites.joined++;
      return JSON.stringify({ ...frame, members: frame.members.map((m) => (m.key === viewer ? m : { ...m, key: fakeFor(m.key, viewer) })) });
    }
    if (frame?.type === 'presence' && frame.events?.some((e) => e.k === 'join' && e.member && e.member.key !== viewer)) {
      rewrites.presence++;
      return JSON.stringify({
        ...frame,
        events: frame.events.map((e) => (e.k === 'join' && e.member && e.member.key !== viewer ? { ...e, member: { ...e.member, key: fakeFor(e.member.key, viewer) } } : e)),
      });
    }
    return undefined;
  };
  world.proxy.hooks.push(hook);

  for (let pair = 0; pair < PAIRS; pair++) {
    // Even pairs: B is there first, A gets B's fake key in the `joined` snapshot.
    // Odd pairs: A is there first, A gets it in a `presence` join event.
    // Pairs 0, 1 and 4: A (the sender) starts the link; pairs 2 and 3: A answers. People are
    // made again until the keys give the wanted roles (the smaller key starts).
    const senderStarts = Math.floor(pair / 2) % 2 === 0;
    let a: Person | undefined;
    let b: Person | undefined;
    for (let tries = 0; tries < 20; tries++) {
      if (pair % 2 === 0) {
        b = await person(world, `B${pair}`);
        markNextViewer = true;
        a = await person(world, `A${pair}`);
      } else {
        markNextViewer = true;
        a = await person(world, `A${pair}`);
        b = await person(world, `B${pair}`);
      }
      if ((await ownKey(a)) < (await ownKey(b)) === senderStarts) break;
      await closeAll(world);
    }
    assert.ok(a && b);
    const aName = await a.myName();
    const bName = await b.myName();
    await a.waitForMembers([aName, bName]);
    await b.waitForMembers([aName, bName]);
    const aKey = await ownKey(a);
    const bKey = await ownKey(b);
    assert.equal(aKey < bKey, senderStarts, 'A has the wanted role');
    const shownKey = await waitUntil("A's (tampered) view of B", async () => {
      const state = await a.state<{ rooms: Record<string, { members: Record<string, { name: string; key: string }> }> }>();
      return Object.values(state.rooms.lobby?.members ?? {}).find((m) => m.name === bName)?.key;
    });
    assert.notEqual(shownKey, bKey, 'A was shown another key for B');
    assert.equal(shownKey, fakes.get(bKey), 'A was shown the fake key');
    assert.equal(shownKey < aKey, bKey < aKey, 'the fake key sorts like the real one');
    // B sees A's real key: only A is lied to.
    assert.equal(
      await waitUntil("B's view of A", async () => {
        const state = await b.state<{ rooms: Record<string, { members: Record<string, { name: string; key: string }> }> }>();
        return Object.values(state.rooms.lobby?.members ?? {}).find((m) => m.name === aName)?.key;
      }),
      aKey,
    );
    console.log(`pair ${pair}: A ${senderStarts ? 'starts' : 'answers'} the link; A saw the fake key in ${pair % 2 === 0 ? 'the joined snapshot' : 'a presence event'}`);
    const results = await whisperAttempts(
      a,
      b,
      { b: bName },
      { a: aKey, aViewOfB: shownKey },
      new RegExp(`^The server announced a different key for ${escape(bName)} than ${escape(bName)}'s app holds`),
      ATTEMPTS_PER_PAIR,
      () => offers,
    );
    for (const run of results) count(totals, run, bName);
    await closeAll(world);
  }

  report('substituted identity key', totals);
  console.log(`  (rewritten frames delivered to A: ${rewrites.joined} joined snapshots, ${rewrites.presence} presence events)`);
  assert.ok(rewrites.joined >= 1 && rewrites.presence >= 1, 'both the joined snapshot and presence join events were rewritten');
  // Counted from what happened: attempts in which the proxy relayed a link offer (a handshake was attempted).
  assert.ok(totals.attempted >= 20, `at least 20 attempts that started a link (${totals.attempted} of ${totals.runs})`);
  assert.equal(totals.attempted, totals.runs, 'every attempt started a link');
  assert.equal(totals.delivered, 0, 'no whisper was delivered');
  assert.equal(totals.failedHandshakes, totals.runs, 'every handshake failed, with the key-mismatch sentence and no secure indicator');
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
