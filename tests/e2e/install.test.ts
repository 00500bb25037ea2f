// Installability: Chromium's own check over CDP, and the manifest with its icons.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchBrowser } from './support/browser.ts';
import { Scene } from './support/scene.ts';

let browser: Browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

interface InstallabilityError {
  errorId: string;
  errorArguments: { name: string; value: string }[];
}

test("Chromium's installability check (Page.getInstallabilityErrors) finds no errors", { timeout: 120_000 }, async (t) => {
  const scene = await Scene.open(t, browser);
  // A normal profile: Chromium never calls a page in an incognito context installable.
  const a = await scene.profilePerson('A');
  await a.waitForServiceWorkerControl();
  await a.waitOnline();

  const cdp = await a.context.newCDPSession(a.page);
  const manifest = (await cdp.send('Page.getAppManifest')) as { url: string; errors: { message: string; critical: number }[] };
  assert.equal(manifest.url, `${scene.url}/manifest.webmanifest`, 'the page links the manifest');
  assert.deepEqual(manifest.errors, [], `manifest parse errors: ${JSON.stringify(manifest.errors)}`);

  const { installabilityErrors } = (await cdp.send('Page.getInstallabilityErrors')) as { installabilityErrors: InstallabilityError[] };
  const described = installabilityErrors.map((e) => `${e.errorId}${e.errorArguments.length ? ` (${e.errorArguments.map((a) => `${a.name}=${a.value}`).join(', ')})` : ''}`);
  if (described.length) console.log(`# installability errors:\n${described.map((d) => `#   ${d}`).join('\n')}`);
  assert.deepEqual(described, [], 'Chromium reports no installability errors');
  await cdp.detach();
});

test('the manifest has name, short name, standalone display, start URL and 192/512/maskable PNG icons', { timeout: 60_000 }, async (t) => {
  const scene = await Scene.open(t, browser);

  const html = await (await fetch(scene.url)).text();
  assert.match(html, /<link[^>]+rel="manifest"[^>]+href="\/manifest\.webmanifest"/, 'index.html links /manifest.webmanifest');

  const response = await fetch(`${scene.url}/manifest.webmanifest`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^application\/manifest\+json/);
  const manifest = (await response.json()) as {
    name?: string;
    short_name?: string;
    display?: string;
    start_url?: string;
    scope?: string;
    theme_color?: string;
    background_color?: string;
    icons?: { src: string; sizes: string; type?: string; purpose?: string }[];
  };
  assert.equal(manifest.name, 'Wisp');
  assert.ok(manifest.short_name && manifest.short_name.length <= 12, `a short name (${manifest.short_name})`);
  assert.equal(manifest.display, 'standalone');
  assert.equal(manifest.start_url, '/');
  assert.equal(manifest.scope, '/');
  assert.match(manifest.theme_color ?? '', /^#[0-9a-f]{6}$/i);
  assert.match(manifest.background_color ?? '', /^#[0-9a-f]{6}$/i);

  const icons = manifest.icons ?? [];
  const purposes = (icon: { purpose?: string }) => (icon.purpose ?? 'any').split(/\s+/);
  const find = (size: string, purpose: string) => icons.find((i) => i.sizes.split(/\s+/).includes(size) && purposes(i).includes(purpose));
  assert.ok(find('192x192', 'any'), 'a 192x192 icon');
  assert.ok(find('512x512', 'any'), 'a 512x512 icon');
  assert.ok(icons.some((i) => purposes(i).includes('maskable')), 'a maskable icon');

  for (const icon of icons) {
    const url = new URL(icon.src, `${scene.url}/manifest.webmanifest`);
    const got = await fetch(url);
    assert.equal(got.status, 200, `${icon.src} is served`);
    assert.equal(got.headers.get('content-type'), 'image/png', `${icon.src} is a PNG`);
    const bytes = Buffer.from(await got.arrayBuffer());
    assert.equal(bytes.subarray(1, 4).toString('latin1'), 'PNG', `${icon.src} has a PNG signature`);
    // The IHDR chunk holds width and height: they must match what the manifest says.
    const size = `${bytes.readUInt32BE(16)}x${bytes.readUInt32BE(20)}`;
    assert.ok(icon.sizes.split(/\s+/).includes(size), `${icon.src} is ${size}, the manifest says ${icon.sizes}`);
  }
});
