// The systemd unit in the README is the one an operator copies: it must keep the
// hardening, run the release from where the README unpacks it, with the data directory
// systemd makes for it and the Node flags `npm start` uses.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { SERVER_NODE_FLAGS } from '../../scripts/server-node-flags.mjs';
import { ROOT } from '../support/release-install.ts';

const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** The ```ini block that follows the mention of /etc/systemd/system/wisp.service. */
function unitFromReadme(): string {
  const mention = README.indexOf('/etc/systemd/system/wisp.service');
  assert.ok(mention >= 0, 'the README names /etc/systemd/system/wisp.service');
  const block = /```ini\n([\s\S]*?)```/.exec(README.slice(mention));
  assert.ok(block, 'an ```ini block follows it');
  return block[1]!;
}

/** Directive → its values (a directive may appear more than once), comments left out. */
function directives(unit: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const line of unit.split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (!match) continue;
    found.set(match[1]!, [...(found.get(match[1]!) ?? []), match[2]!]);
  }
  return found;
}

const REQUIRED: Record<string, string> = {
  User: 'wisp',
  WorkingDirectory: '/opt/wisp',
  StateDirectory: 'wisp',
  Restart: 'on-failure',
  StandardOutput: 'journal',
  MemoryMax: '256M',
  NoNewPrivileges: 'true',
  ProtectSystem: 'strict',
  ProtectHome: 'true',
  PrivateTmp: 'true',
  PrivateDevices: 'true',
  ProtectKernelTunables: 'true',
  ProtectControlGroups: 'true',
  LockPersonality: 'true',
  SystemCallArchitectures: 'native',
};

test('the README\'s unit keeps every hardening directive', () => {
  const unit = directives(unitFromReadme());
  for (const [name, value] of Object.entries(REQUIRED)) assert.deepEqual(unit.get(name), [value], `${name}=${value}`);
  const families = unit.get('RestrictAddressFamilies')?.join(' ').split(/\s+/) ?? [];
  for (const family of ['AF_INET', 'AF_INET6', 'AF_UNIX']) assert.ok(families.includes(family), `RestrictAddressFamilies has ${family}`);
  assert.deepEqual(families.filter((f) => !['AF_INET', 'AF_INET6', 'AF_UNIX', 'AF_NETLINK'].includes(f)), [], 'no other address family');
  assert.deepEqual(unit.get('CapabilityBoundingSet'), [''], 'no capabilities unless port 443 is wanted');
  assert.equal(unit.get('AmbientCapabilities'), undefined);
});

test('the README\'s unit says how to bind port 443', () => {
  const unit = unitFromReadme();
  assert.match(unit, /^#\s*AmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
  assert.match(unit, /^#\s*CapabilityBoundingSet=CAP_NET_BIND_SERVICE$/m);
});

test('the README\'s unit runs the release as npm start does, with the state directory as data directory', () => {
  const [execStart, ...more] = directives(unitFromReadme()).get('ExecStart') ?? [];
  assert.ok(execStart && more.length === 0, 'one ExecStart');
  const [node, ...args] = execStart.split(/\s+/);
  assert.equal(node, '/usr/bin/node');
  const entry = args.indexOf('dist/signal-server/main.js');
  assert.deepEqual(args.slice(0, entry), [...SERVER_NODE_FLAGS], 'the Node flags of npm start');
  const serverArgs = args.slice(entry + 1);
  assert.equal(serverArgs[serverArgs.indexOf('--data-dir') + 1], '/var/lib/wisp');
  assert.ok(serverArgs.includes('--data-dir'), '--data-dir is given');
  assert.match(README, /tar -xzf wisp-[^\s]+\.tgz -C \/opt\/wisp --strip-components=1/, 'the README unpacks the release where WorkingDirectory points');
});
