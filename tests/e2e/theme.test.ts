// The light theme: it follows the system's colour scheme, Settings can choose one for
// good (at once, and after a reload), and in both themes every text colour reads at
// WCAG AA (4.5:1) on the backgrounds it is used on, measured from the computed colours.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { WAIT_MS, launchBrowser, waitUntil, type Person } from './support/browser.ts';
import { Scene } from './support/scene.ts';

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

type Rgb = [number, number, number];

/** "rgb(1, 2, 3)" or an opaque "rgba(1, 2, 3, 1)" as numbers; anything else fails the test. */
function parseRgb(css: string): Rgb {
  const match = /^rgba?\((\d+), (\d+), (\d+)(?:, ([\d.]+))?\)$/.exec(css);
  assert.ok(match, `an rgb colour, got "${css}"`);
  assert.ok(match[4] === undefined || Number(match[4]) === 1, `an opaque colour, got "${css}"`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** WCAG 2 relative luminance. */
function luminance([r, g, b]: Rgb): number {
  const [R, G, B] = [r, g, b].map((v) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * R + 0.7152 * G + 0.0722 * B;
}

/** WCAG 2 contrast ratio of two colours as CSS computes them. */
function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(parseRgb(a)), luminance(parseRgb(b))].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** The page's own background and text colour (html, as page.css paints it). */
async function pageColours(page: Page): Promise<{ background: string; text: string }> {
  return page.evaluate(() => {
    const style = getComputedStyle(document.body);
    return { background: style.backgroundColor, text: style.color };
  });
}

/** The background an element sits on: its own, or the first ancestor's that is not transparent (across shadow roots). */
function backgroundOf(page: Page, selector: string): Promise<string> {
  return page.locator(selector).first().evaluate((element) => {
    let node: Element | null = element;
    while (node) {
      const background = getComputedStyle(node).backgroundColor;
      if (background !== 'rgba(0, 0, 0, 0)') return background;
      node = node.parentElement ?? ((node.getRootNode() as ShadowRoot).host || null);
    }
    return getComputedStyle(document.documentElement).backgroundColor;
  });
}

const TEXT_TOKENS = ['--text', '--muted', '--accent', '--danger', '--ok', '--warn'];
/** Every background a line of text sits on: the page, the bars and panels, menus and hints, own messages, warnings. */
const BACKGROUND_TOKENS = ['--bg', '--surface', '--surface-2', '--own', '--warn-bg', '--danger-bg'];

/**
 * Each text token on each background token, as the browser computes them now: a probe
 * element in the document takes the colours from the tokens the components inherit.
 */
async function tokenPairs(page: Page): Promise<{ fg: string; bg: string; color: string; background: string }[]> {
  return page.evaluate(
    ([fgs, bgs]) => {
      const probe = document.createElement('div');
      document.body.append(probe);
      const pairs = [];
      for (const fg of fgs) {
        for (const bg of bgs) {
          probe.style.color = `var(${fg})`;
          probe.style.backgroundColor = `var(${bg})`;
          const style = getComputedStyle(probe);
          pairs.push({ fg, bg, color: style.color, background: style.backgroundColor });
        }
      }
      probe.style.color = 'var(--accent-ink)';
      probe.style.backgroundColor = 'var(--accent)';
      pairs.push({ fg: '--accent-ink', bg: '--accent', color: getComputedStyle(probe).color, background: getComputedStyle(probe).backgroundColor });
      probe.remove();
      return pairs;
    },
    [TEXT_TOKENS, BACKGROUND_TOKENS] as const,
  );
}

/** Every pair reads at 4.5:1 or more; returns how many pairs were measured. */
async function assertReadable(page: Page, theme: string): Promise<number> {
  const pairs = await tokenPairs(page);
  const low = pairs.map((p) => ({ ...p, ratio: contrast(p.color, p.background) })).filter((p) => p.ratio < 4.5);
  assert.deepEqual(low.map((p) => `${p.fg} on ${p.bg}: ${p.ratio.toFixed(2)}`), [], `${theme}: every text colour reads at 4.5:1 on every background`);
  return pairs.length;
}

/** Tabs from the composer to Send and measures its focus ring: its style, width and contrast with what is around the button. */
async function sendFocusRing(person: Person): Promise<{ style: string; width: number; ratio: number }> {
  await person.textarea.focus();
  await person.page.keyboard.press('Tab');
  const send = person.page.locator('wisp-composer button[type=submit]');
  await waitUntil('Send to have keyboard focus', () => send.evaluate((el) => el.matches(':focus-visible')));
  const ring = await send.evaluate((el) => {
    const style = getComputedStyle(el);
    return { style: style.outlineStyle, width: parseFloat(style.outlineWidth), color: style.outlineColor };
  });
  const around = await backgroundOf(person.page, 'wisp-composer form');
  return { style: ring.style, width: ring.width, ratio: contrast(ring.color, around) };
}

/**
 * An init script: from the document's start, the page background at each animation frame
 * (each paint) until the app has mounted, in globalThis.__frames. Shows what was drawn
 * before the app's own code ran.
 */
const FRAME_RECORDER = `(() => {
  const frames = (globalThis.__frames = []);
  const tick = () => {
    if (document.body) frames.push(getComputedStyle(document.body).backgroundColor);
    if (!document.querySelector('wisp-app')) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})()`;

async function chooseTheme(person: Person, label: 'System' | 'Light' | 'Dark'): Promise<void> {
  await person.page.getByRole('button', { name: 'Settings' }).click();
  const dialog = person.page.locator('wisp-settings-dialog dialog');
  await dialog.waitFor({ state: 'visible', timeout: WAIT_MS });
  await dialog.getByRole('radio', { name: label, exact: true }).check();
  await dialog.getByRole('button', { name: 'Done' }).click();
  await dialog.waitFor({ state: 'hidden', timeout: WAIT_MS });
}

test('the theme follows the system: light colours with a light preference, dark with a dark one, all text at 4.5:1 and a visible focus ring in both', { timeout: 120_000 }, async (t) => {
  const scene = await Scene.open(t, browser);
  const ann = await scene.person('Ann');
  const page = ann.page;

  await page.emulateMedia({ colorScheme: 'dark' });
  const dark = await pageColours(page);
  await page.emulateMedia({ colorScheme: 'light' });
  const light = await pageColours(page);

  // Light: dark text on a light page; dark: the other way round.
  assert.ok(luminance(parseRgb(light.background)) > 0.8, `a light page background, got ${light.background}`);
  assert.ok(luminance(parseRgb(light.text)) < 0.05, `dark text on it, got ${light.text}`);
  assert.ok(luminance(parseRgb(dark.background)) < 0.05, `a dark page background, got ${dark.background}`);
  assert.ok(luminance(parseRgb(dark.text)) > 0.8, `light text on it, got ${dark.text}`);
  // The components take the same tokens: the message list sits on the page colour, the composer on the surface.
  assert.equal(await backgroundOf(page, 'wisp-message-list'), light.background, 'the conversation is on the light page colour');
  assert.equal(await page.locator('wisp-composer textarea').evaluate((el) => getComputedStyle(el).color), light.text, 'what is typed is in the light text colour');
  // And the browser's bar: the light meta applies.
  assert.equal(await page.evaluate(() => matchMedia(document.querySelector<HTMLMetaElement>('meta[name=theme-color][data-scheme=light]')!.media).matches), true);

  const lightPairs = await assertReadable(page, 'light');
  const lightRing = await sendFocusRing(ann);
  await page.emulateMedia({ colorScheme: 'dark' });
  const darkPairs = await assertReadable(page, 'dark');
  const darkRing = await sendFocusRing(ann);
  assert.equal(lightPairs, TEXT_TOKENS.length * BACKGROUND_TOKENS.length + 1);
  assert.equal(darkPairs, lightPairs);
  for (const [theme, ring] of [['light', lightRing], ['dark', darkRing]] as const) {
    assert.equal(ring.style, 'solid', `${theme}: the focused Send button has an outline`);
    assert.ok(ring.width >= 2, `${theme}: the focus outline is at least 2px wide, got ${ring.width}`);
    assert.ok(ring.ratio >= 3, `${theme}: the focus outline stands out at 3:1 from the composer, got ${ring.ratio.toFixed(2)}`);
  }
});

test('Dark chosen in Settings under a light system switches at once and survives a reload; Light under a dark system is the same light; System follows again', { timeout: 120_000 }, async (t) => {
  const scene = await Scene.open(t, browser);
  const bea = await scene.person('Bea', { init: (context) => context.addInitScript(FRAME_RECORDER) });
  const page = bea.page;
  await page.emulateMedia({ colorScheme: 'dark' });
  const dark = await pageColours(page);
  const darkPairs = await tokenPairs(page);
  await page.emulateMedia({ colorScheme: 'light' });
  const light = await pageColours(page);
  const lightPairs = await tokenPairs(page);
  assert.notDeepEqual(light, dark);

  await chooseTheme(bea, 'Dark');
  assert.deepEqual(await pageColours(page), dark, 'dark at once, though the system prefers light');
  assert.deepEqual(await tokenPairs(page), darkPairs, 'every token is the dark one');
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  assert.equal(
    await page.evaluate(() => [...document.querySelectorAll<HTMLMetaElement>('meta[name=theme-color]')].filter((m) => matchMedia(m.media).matches).map((m) => m.dataset.scheme).join()),
    'dark',
    "the browser's bar takes the dark colour only",
  );

  // Reloads: dark from the first frame drawn, before the app's modules ran (no flash of light).
  for (let i = 0; i < 3; i++) {
    await bea.reload();
    const frames = await page.evaluate(() => (globalThis as unknown as { __frames: string[] }).__frames);
    assert.ok(frames.length > 0, 'frames were drawn before the app mounted');
    assert.deepEqual([...new Set(frames)], [dark.background], `reload ${i + 1}: every frame before the app mounted is dark`);
    assert.deepEqual(await pageColours(page), dark, 'still dark after a reload');
  }
  await bea.waitOnline();
  assert.equal((await page.evaluate(() => (window as unknown as { wisp: { state: { settings: { theme: string } } } }).wisp.state.settings.theme)), 'dark');
  await page.getByRole('button', { name: 'Settings' }).click();
  assert.equal(await page.locator('wisp-settings-dialog').getByRole('radio', { name: 'Dark', exact: true }).isChecked(), true, 'Settings shows Dark chosen');
  await page.locator('wisp-settings-dialog').getByRole('button', { name: 'Done' }).click();

  // Light chosen under a dark system: exactly the colours a light system gets.
  await page.emulateMedia({ colorScheme: 'dark' });
  await chooseTheme(bea, 'Light');
  assert.deepEqual(await pageColours(page), light, 'light, though the system prefers dark');
  assert.deepEqual(await tokenPairs(page), lightPairs, 'every token is the light one');

  // System again: the page follows the system's preference, both ways.
  await chooseTheme(bea, 'System');
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), undefined);
  assert.deepEqual(await pageColours(page), dark);
  await page.emulateMedia({ colorScheme: 'light' });
  assert.deepEqual(await pageColours(page), light);
});
