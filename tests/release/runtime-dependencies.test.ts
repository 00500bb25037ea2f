// The scan that decides what the release installs: every way compiled ES modules name a
// package, and nothing that is not one.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { importSpecifiers, importedPackages, packageOf, runtimeDependencies } from '../../scripts/runtime-dependencies.mjs';

test('finds static, side-effect, re-export, dynamic and require specifiers', () => {
  const code = [
    `import { WebSocketServer } from 'ws';`,
    `import sirv from "sirv";`,
    `import 'reflect-metadata';`,
    `import * as v from 'valibot';`,
    `export { X509Certificate } from '@peculiar/x509';`,
    `export * from "./protocol/protocol.js";`,
    `const qr = await import('qrcode');`,
    `const atomic = require("write-file-atomic");`,
    `import { readFileSync } from 'node:fs';`,
  ].join('\n');
  assert.deepEqual(importSpecifiers(code), ['ws', 'sirv', 'reflect-metadata', 'valibot', '@peculiar/x509', './protocol/protocol.js', 'qrcode', 'write-file-atomic', 'node:fs']);
});

test('ignores specifiers in comments and words that only look like imports', () => {
  const code = `// import x from 'commented-out';\n/* import('also-not') */\nconst s = "imported from the list";\n`;
  assert.deepEqual(importSpecifiers(code), []);
});

test('maps specifiers to package names and leaves out relative, URL and built-in ones', () => {
  assert.equal(packageOf('ws'), 'ws');
  assert.equal(packageOf('ws/lib/sender.js'), 'ws');
  assert.equal(packageOf('@peculiar/x509'), '@peculiar/x509');
  assert.equal(packageOf('@peculiar/asn1-schema/build/index.js'), '@peculiar/asn1-schema');
  for (const notAPackage of ['./hub.js', '../protocol/protocol.js', '/abs/file.js', 'node:fs', 'fs', 'crypto', 'data:text/javascript,0', 'file:///x.js']) {
    assert.equal(packageOf(notAPackage), undefined, notAPackage);
  }
});

test('takes versions from the root package.json and refuses a package it does not list', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'wisp-runtime-deps-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(path.join(dir, 'protocol'));
  writeFileSync(path.join(dir, 'main.js'), `import { WebSocketServer } from 'ws';\nimport './protocol/protocol.js';\n`);
  writeFileSync(path.join(dir, 'protocol', 'protocol.js'), `import * as v from 'valibot';\n`);
  writeFileSync(path.join(dir, 'main.js.map'), `{"sources":["import x from 'not-code'"]}`);
  assert.deepEqual(importedPackages(dir), ['valibot', 'ws']);
  assert.deepEqual(runtimeDependencies(dir, { dependencies: { ws: '8.23.0', valibot: '1.5.0', lit: '3.3.3' } }), {
    dependencies: { valibot: '1.5.0', ws: '8.23.0' },
    optionalDependencies: {},
  });
  assert.throws(() => runtimeDependencies(dir, { dependencies: { ws: '8.23.0' } }), /imports valibot/);
});

test('a package the root lists as optional (ioredis, cluster mode only) stays optional in the release', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'wisp-runtime-deps-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(path.join(dir, 'cluster'));
  writeFileSync(path.join(dir, 'main.js'), `import { WebSocketServer } from 'ws';\n`);
  writeFileSync(path.join(dir, 'cluster', 'redis-client.js'), `export async function connect() { const { Redis } = await import('ioredis'); return Redis; }\n`);
  const root = { dependencies: { ws: '8.23.0' }, optionalDependencies: { ioredis: '6.0.0' } };
  assert.deepEqual(runtimeDependencies(dir, root), { dependencies: { ws: '8.23.0' }, optionalDependencies: { ioredis: '6.0.0' } });
  assert.throws(() => runtimeDependencies(dir, { dependencies: { ws: '8.23.0' } }), /imports ioredis/);
});
