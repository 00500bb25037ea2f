// The app's notices as the tests read them. A notice goes by itself after a few seconds
// (NOTICE_MS), so a test that reads the screen late could miss it: every page records each
// notice the app shows, in order, from its first moment (NOTICE_RECORDER runs with the test
// hooks, before the app loads), and the tests read that record instead of the screen.
import { WAIT_MS, waitUntil, type Person } from './browser.ts';

/**
 * An init script: when the app exposes window.wisp, subscribe to its store and keep every
 * notice's sentence in window.__notices. A new notice is a new object in the state (the
 * same sentence again, even with the same id after a dismiss, is recorded again).
 */
export const NOTICE_RECORDER = `(() => {
  const seen = (globalThis.__notices = []);
  let session;
  Object.defineProperty(globalThis, 'wisp', {
    configurable: true,
    get: () => session,
    set(value) {
      session = value;
      let last;
      const record = (state) => {
        if (state.notice && state.notice !== last) seen.push(state.notice.text);
        last = state.notice;
      };
      record(value.state);
      value.store.subscribe(record);
    },
  });
})();`;

/** Every notice this page has shown, oldest first. */
export async function noticesSeen(p: Person): Promise<string[]> {
  return (await p.page.evaluate('globalThis.__notices ?? []')) as string[];
}

/** Waits until a notice shown after the first `since` ones contains `text`; returns its sentence. */
export async function waitNoticeSeen(p: Person, text: string, { since = 0, timeoutMs = WAIT_MS } = {}): Promise<string> {
  let seen: string[] = [];
  try {
    return await waitUntil(
      `${p.label}'s notice to say "${text}"`,
      async () => {
        seen = await noticesSeen(p);
        return seen.slice(since).find((sentence) => sentence.includes(text));
      },
      timeoutMs,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; the notices said: ${JSON.stringify(seen.slice(since))}`);
  }
}
