// What the app and the server share lives in signal-server/protocol/, and only there: the
// app imports nothing else from the server's folder, and the shared folder imports no
// Node module and nothing outside itself (but the schema library), so it runs in a browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SHARED = path.join(ROOT, 'signal-server', 'protocol');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => path.join(entry.parentPath, entry.name));
}

/** Every module specifier a file imports or re-exports, statically or dynamically. */
function specifiers(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  return [...source.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]!);
}

test('the app and the service worker import from the server only what signal-server/protocol/ shares', () => {
  const crossings: string[] = [];
  for (const file of [...tsFiles(path.join(ROOT, 'app')), ...tsFiles(path.join(ROOT, 'sw'))]) {
    for (const spec of specifiers(file)) {
      if (!spec.startsWith('.')) continue;
      const target = path.resolve(path.dirname(file), spec);
      if (target.startsWith(path.join(ROOT, 'signal-server')) && !target.startsWith(SHARED + path.sep)) crossings.push(`${path.relative(ROOT, file)} -> ${spec}`);
    }
  }
  assert.deepEqual(crossings, []);
});

test('signal-server/protocol/ imports no Node module and nothing outside itself but the schema library', () => {
  const files = tsFiles(SHARED);
  assert.ok(files.length >= 2, 'the shared folder holds the protocol and the token bucket');
  const outside: string[] = [];
  for (const file of files) {
    for (const spec of specifiers(file)) {
      const inside = spec.startsWith('.') && path.resolve(path.dirname(file), spec).startsWith(SHARED + path.sep);
      if (!inside && spec !== 'valibot') outside.push(`${path.relative(ROOT, file)} -> ${spec}`);
    }
  }
  assert.deepEqual(outside, []);
});
