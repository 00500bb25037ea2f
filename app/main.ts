// Boot: check the browser can run Wisp here, start the Session, mount the shell, and
// register the service worker (offline start and update prompts).
import './styles/page.css';
import { applyTheme } from './styles/theme.ts';
import { Session } from './state/session.ts';
import { defaultSignalUrl } from './net/signal-client.ts';
import { parseInvite } from './state/invite.ts';
import './components/wisp-app.ts';
import { afterPaint } from './after-paint.ts';

const root = document.getElementById('root')!;

function missingCapability(): string | undefined {
  if (!window.isSecureContext || !crypto?.subtle) return 'Web Crypto API';
  if (!('serviceWorker' in navigator)) return 'service worker';
  if (!('indexedDB' in window)) return 'IndexedDB storage';
  return undefined;
}

/**
 * The service worker's URL as a Trusted Type: the page requires Trusted Types, and this
 * policy allows exactly one script URL.
 */
function serviceWorkerUrl(): string {
  const trustedTypes = (window as unknown as { trustedTypes?: { createPolicy(name: string, rules: { createScriptURL(url: string): string }): { createScriptURL(url: string): string } } }).trustedTypes;
  if (!trustedTypes) return '/sw.js';
  const policy = trustedTypes.createPolicy('wisp-sw', {
    createScriptURL: (url) => {
      if (url !== '/sw.js') throw new TypeError(`unexpected service worker URL ${url}`);
      return url;
    },
  });
  return policy.createScriptURL('/sw.js');
}

async function registerServiceWorker(session: Session): Promise<void> {
  if (import.meta.env.DEV) return;
  const { Workbox } = await import('workbox-window');
  const workbox = new Workbox(serviceWorkerUrl());
  workbox.addEventListener('waiting', () => {
    session.offerUpdate(() => {
      workbox.addEventListener('controlling', () => location.reload());
      workbox.messageSkipWaiting();
    });
  });
  // A clicked notification asks the page to show a conversation.
  navigator.serviceWorker.addEventListener('message', (event) => {
    const data = event.data as { type?: string; tab?: string } | undefined;
    if (data?.type === 'open-tab' && data.tab) session.activate(data.tab);
  });
  await workbox.register();
  // A server that was down and is back may have been upgraded: look for a new version.
  let wasOnline = true;
  session.store.subscribe((state) => {
    const online = state.connection.status === 'online';
    // The check can fail while a restarted server is still coming up: the next reconnect looks again.
    if (online && !wasOnline) workbox.update().catch(() => undefined);
    wasOnline = online;
  });
}

async function boot(): Promise<void> {
  const missing = missingCapability();
  if (missing) {
    await import('./components/insecure-context.ts');
    const screen = document.createElement('wisp-insecure-context');
    screen.missing = missing;
    root.replaceChildren(screen);
    return;
  }
  const params = new URLSearchParams(location.search);
  const session = await Session.start({ url: defaultSignalUrl(location), shared: params.get('share') === '1' });
  if (params.has('share')) history.replaceState(null, '', '/');
  // A theme chosen in Settings is on <html> since before the first paint (/theme.js reads the
  // mirror); from here it follows Settings at once, the browser's bar (theme-color) too.
  applyTheme(session.state.settings.theme);
  session.store.subscribe((state) => applyTheme(state.settings.theme));
  const app = document.createElement('wisp-app');
  app.session = session;
  root.replaceChildren(app);
  const opened = new URLSearchParams(location.search).get('open');
  if (opened) session.activate(opened);
  // An invite link: its fragment names the room (and maybe the passphrase). It leaves the
  // address bar and the history at once, so the passphrase does not linger there.
  acceptInviteInAddressBar(session);
  // One pasted into the address bar of a tab already open arrives as a hashchange.
  window.addEventListener('hashchange', () => acceptInviteInAddressBar(session));
  afterPaint(() => void registerServiceWorker(session).catch((error: unknown) => console.warn('wisp: service worker not registered', error)));
  exposeForTests(session);
}

function acceptInviteInAddressBar(session: Session): void {
  const invite = parseInvite(location.hash);
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);
  if (invite) session.acceptInvite(invite);
}

declare global {
  /** Set to true by a test's init script, before the page loads, to get window.wisp. */
  var __WISP_TEST_HOOKS__: boolean | undefined;
  interface Window {
    /** The Session (state, commands, bench timings): only for pages that opted in. */
    wisp?: Session;
  }
}

/**
 * The end-to-end tests and benchmarks drive the real build and read the Session's state
 * as window.wisp. A page gets it only when it asked before loading (an init script sets
 * globalThis.__WISP_TEST_HOOKS__) or from the dev server; an ordinary page has no window.wisp.
 */
function exposeForTests(session: Session): void {
  if (import.meta.env.DEV || globalThis.__WISP_TEST_HOOKS__ === true) window.wisp = session;
}

void boot();
