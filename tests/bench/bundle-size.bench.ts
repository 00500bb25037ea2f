// Size of the built app as the browser receives it, gzip level 9:
// - first_load_js_gzip_kb: the JavaScript loaded before first paint, that is the module
//   scripts and modulepreload links of dist/app/index.html plus whatever those chunks
//   import statically (normally already the modulepreload list);
// - precache_gzip_kb: every entry of the precache manifest injected into dist/app/sw.js
//   (each URL once), plus sw.js itself.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, posix, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type Benchmark, PartialError, type Row, ensureAppBuilt, round1 } from './bench.ts';

const KIB = 1024;

export function gzipSize(file: string): number {
  return gzipSync(readFileSync(file), { level: 9 }).length;
}

/** Maps a URL from index.html or the precache manifest to a file under dist. */
function distFile(dist: string, url: string, fromDir = dist): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:|^\/\//i.test(url)) return undefined; // another origin: not ours to measure
  const path = decodeURIComponent(url.split(/[?#]/, 1)[0]!);
  const file = normalize(path.startsWith('/') ? join(dist, path) : join(fromDir, path));
  if (relative(dist, file).startsWith('..')) throw new Error(`"${url}" points outside dist/app`);
  return file;
}

function attr(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
  return match ? (match[1] ?? match[2] ?? match[3]) : undefined;
}

/** URLs of `<script src>` (module or classic) and `<link rel="modulepreload" href>` in an HTML page. */
export function entryScripts(html: string): string[] {
  const urls: string[] = [];
  const withoutComments = html.replace(/<!--[\s\S]*?-->/g, '');
  for (const [tag] of withoutComments.matchAll(/<script\b[^>]*>/gi)) {
    const src = attr(tag, 'src');
    // Module scripts, and classic ones (the blocking theme script in <head> runs before first paint too).
    const type = attr(tag, 'type')?.toLowerCase() ?? 'text/javascript';
    if (src && (type === 'module' || type === 'text/javascript')) urls.push(src);
  }
  for (const [tag] of withoutComments.matchAll(/<link\b[^>]*>/gi)) {
    const rel = attr(tag, 'rel')?.toLowerCase().split(/\s+/) ?? [];
    const href = attr(tag, 'href');
    if (href && rel.includes('modulepreload')) urls.push(href);
  }
  return urls;
}

/**
 * Relative specifiers of the static imports of a built chunk (`import{a}from"./x.js"`,
 * `import"./y.js"`, `export*from"./z.js"`). Dynamic `import("...")` is left out: it loads
 * later, not before first paint.
 */
export function staticImports(code: string): string[] {
  const found = new Set<string>();
  const re = /(?:^|[;}\n])\s*(?:import|export)\s*(?:[\w$*{}\s,]+?\s*from\s*)?["'](\.{1,2}\/[^"']+)["']/g;
  for (const match of code.matchAll(re)) found.add(match[1]!);
  return [...found];
}

export interface FirstLoad {
  files: string[];
  gzipBytes: number;
}

export function measureFirstLoad(dist: string): FirstLoad {
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  const queue = entryScripts(html)
    .map((url) => distFile(dist, url))
    .filter((f): f is string => f !== undefined);
  if (queue.length === 0) throw new Error('dist/app/index.html loads no module script');
  const seen = new Set<string>();
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    if (!existsSync(file)) throw new Error(`${relative(dist, file)} is referenced but missing from dist/app`);
    seen.add(file);
    for (const specifier of staticImports(readFileSync(file, 'utf8'))) {
      const next = distFile(dist, specifier, dirname(file));
      if (next) queue.push(next);
    }
  }
  const files = [...seen];
  return { files: files.map((f) => relative(dist, f)), gzipBytes: files.reduce((sum, f) => sum + gzipSize(f), 0) };
}

/**
 * The precache manifest that workbox-build injected into sw.js: a JSON array of
 * `{ revision, url }` objects. Finds every `[{` in the file, takes the balanced
 * bracket span and keeps the ones that parse as such an array.
 */
export function precacheUrls(swSource: string): string[] {
  const urls = new Set<string>();
  let found = false;
  for (const match of swSource.matchAll(/\[\s*\{/g)) {
    const start = match.index!;
    let depth = 0;
    let inString = false;
    let end = -1;
    for (let i = start; i < swSource.length; i++) {
      const c = swSource[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '[' || c === '{') depth++;
      else if (c === ']' || c === '}') {
        depth--;
        if (depth === 0) {
          end = i + 1;
          break;
        }
      }
    }
    if (end < 0) continue;
    let entries: unknown;
    try {
      entries = JSON.parse(swSource.slice(start, end));
    } catch {
      continue;
    }
    if (!Array.isArray(entries) || entries.length === 0) continue;
    if (!entries.every((e) => typeof e === 'object' && e !== null && typeof (e as { url?: unknown }).url === 'string' && 'revision' in e)) continue;
    found = true;
    for (const entry of entries as { url: string }[]) urls.add(entry.url);
  }
  if (!found) throw new Error('found no injected precache manifest ([{"revision":...,"url":...}]) in sw.js');
  return [...urls];
}

export interface Precache {
  files: string[];
  gzipBytes: number;
}

export function measurePrecache(dist: string): Precache {
  const sw = join(dist, 'sw.js');
  if (!existsSync(sw)) throw new Error('dist/app/sw.js is missing');
  const files = new Set<string>([sw]);
  for (const url of precacheUrls(readFileSync(sw, 'utf8'))) {
    const file = distFile(dist, posix.normalize(url));
    if (!file) continue;
    if (!existsSync(file)) throw new Error(`precached ${url} is missing from dist/app`);
    files.add(file);
  }
  return { files: [...files].map((f) => relative(dist, f)), gzipBytes: [...files].reduce((sum, f) => sum + gzipSize(f), 0) };
}

const bundleSize: Benchmark = {
  title: 'bundle size (dist/app, gzip -9)',
  async run(ctx) {
    const dist = await ensureAppBuilt(ctx);
    const rows: Row[] = [];
    const errors: string[] = [];
    // Each figure on its own: one that cannot be measured leaves the other standing.
    try {
      const firstLoad = measureFirstLoad(dist);
      ctx.log(`first load: ${firstLoad.files.join(', ')}`);
      rows.push({
        key: 'first_load_js_gzip_kb',
        label: 'JS loaded before first paint (gzip)',
        value: round1(firstLoad.gzipBytes / KIB),
        unit: 'KiB',
        budget: { op: '<=', value: 60 },
      });
    } catch (error) {
      errors.push(`first_load_js_gzip_kb: ${(error as Error).message}`);
    }
    try {
      const precache = measurePrecache(dist);
      ctx.log(`precache: ${precache.files.length} files incl. sw.js`);
      rows.push({
        key: 'precache_gzip_kb',
        label: 'service-worker precache total (gzip)',
        value: round1(precache.gzipBytes / KIB),
        unit: 'KiB',
        budget: { op: '<=', value: 300 },
      });
    } catch (error) {
      errors.push(`precache_gzip_kb: ${(error as Error).message}`);
    }
    if (errors.length > 0) throw new PartialError(rows, errors);
    return rows;
  },
};

export default bundleSize;
