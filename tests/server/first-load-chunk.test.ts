// The whisper machinery (links, secure channel, outbox, simple-peer) loads after the first
// paint, in a chunk of its own: none of it may come back into the JavaScript loaded before
// the first paint. Builds the real app (with source maps, into a temporary folder) and reads
// which source modules the first-load files hold, found the way `npm run bench` finds them.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { measureFirstLoad } from '../bench/bundle-size.bench.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** What only whispers need: none of it before the first paint. */
const WHISPER_MODULES = [
  'app/state/whispers.ts',
  'app/state/undelivered-whispers.ts',
  'app/storage/whisper-outbox.ts',
  'app/net/peer-mesh.ts',
  'app/net/peer-link.ts',
  'app/net/direct-channel.ts',
  'app/net/backpressure.ts',
  'app/net/peer-frames.ts',
  'app/crypto/secure-channel.ts',
].map((file) => path.join(ROOT, file));

let dist: string;
before(async () => {
  dist = mkdtempSync(path.join(tmpdir(), 'wisp-first-load-'));
  await build({
    configFile: path.join(ROOT, 'vite.config.ts'),
    logLevel: 'error',
    build: { outDir: dist, emptyOutDir: true, sourcemap: true },
  });
});
after(() => {
  if (dist) rmSync(dist, { recursive: true, force: true });
});

/** The source files a built chunk was made from, as absolute paths (Rolldown's own runtime chunk has none). */
function sourcesOf(file: string): string[] {
  const map = `${file}.map`;
  if (path.basename(file).startsWith('rolldown-runtime-')) return [];
  // Copied as it is from public/ (the blocking theme script): it is its own source.
  const copied = path.join(ROOT, 'public', path.relative(dist, file));
  if (existsSync(copied)) return [copied];
  assert.ok(existsSync(map), `${path.relative(dist, file)} has a source map`);
  const { sources } = JSON.parse(readFileSync(map, 'utf8')) as { sources: string[] };
  return sources.map((source) => path.resolve(path.dirname(map), source));
}

const isSimplePeer = (source: string) => source.includes(`${path.sep}simple-peer${path.sep}`);

test('the JavaScript loaded before the first paint holds no whisper module and no simple-peer', () => {
  const firstLoad = measureFirstLoad(dist).files.map((file) => path.join(dist, file));
  assert.ok(firstLoad.length > 0, 'index.html loads at least one module');
  const sources = firstLoad.flatMap(sourcesOf);
  assert.ok(sources.includes(path.join(ROOT, 'app/main.ts')), 'the first load is the shell: main.ts is in it');
  assert.ok(sources.includes(path.join(ROOT, 'app/state/session.ts')), 'the Session is in it');
  const found = sources.filter((source) => WHISPER_MODULES.includes(source) || isSimplePeer(source)).map((source) => path.relative(ROOT, source));
  assert.deepEqual(found, [], 'whisper modules in the first load');
});

test('the whisper modules are still in the build, in chunks loaded later', () => {
  const firstLoad = new Set(measureFirstLoad(dist).files.map((file) => path.join(dist, file)));
  const assets = path.join(dist, 'assets');
  const later = readdirSync(assets)
    .filter((name) => name.endsWith('.js'))
    .map((name) => path.join(assets, name))
    .filter((file) => !firstLoad.has(file));
  const sources = new Set(later.flatMap(sourcesOf));
  for (const module of WHISPER_MODULES) assert.ok(sources.has(module), `${path.relative(ROOT, module)} is in a chunk loaded after the first paint`);
  assert.ok([...sources].some(isSimplePeer), 'simple-peer is in a chunk loaded after the first paint');
});
