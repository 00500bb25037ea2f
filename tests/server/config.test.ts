// Flags and environment -> Config: defaults, precedence, and clear errors for bad input.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ConfigError, helpText, parseConfig, serveMode, testConfig, type Config } from '../../signal-server/config.ts';
import { LIMITS } from '../../signal-server/protocol/protocol.ts';

const STATIC = '/srv/wisp/app';

function config(argv: string[], env: NodeJS.ProcessEnv = {}): Config {
  const parsed = parseConfig(argv, env, STATIC);
  assert.equal(parsed.help, false);
  if (parsed.help) throw new Error('unreachable');
  return parsed.config;
}

function refused(argv: string[], env: NodeJS.ProcessEnv = {}, message?: RegExp): void {
  assert.throws(
    () => parseConfig(argv, env, STATIC),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
      assert.equal(error.code, 'config-invalid');
      if (message) assert.match(error.message, message);
      return true;
    },
  );
}

describe('config defaults', () => {
  test('no flags and no environment give the documented defaults', () => {
    const c = config([]);
    assert.equal(c.port, 8080);
    assert.equal(c.host, '::');
    assert.equal(c.staticDir, path.resolve(STATIC));
    assert.equal(c.dataDir, path.resolve('./data'));
    assert.deepEqual(c.origins, []);
    assert.equal(c.tlsCert, undefined);
    assert.equal(c.tlsKey, undefined);
    assert.equal(c.heartbeatMs, LIMITS.heartbeatMs);
    assert.equal(c.maxConnectionsPerIp, LIMITS.connectionsPerIp);
    assert.equal(c.sayPerMinute, 30);
    assert.equal(c.sayBurst, LIMITS.sayBurst);
    assert.equal(c.quiet, false);
  });

  test('the config is frozen', () => {
    const c = config([]);
    assert.ok(Object.isFrozen(c));
    assert.throws(() => {
      (c as { port: number }).port = 1;
    }, TypeError);
  });

  test('testConfig listens on 127.0.0.1 port 0, quietly, and applies overrides', () => {
    const c = testConfig({ sayBurst: 3 });
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.port, 0);
    assert.equal(c.quiet, true);
    assert.equal(c.sayBurst, 3);
  });
});

describe('config flags and environment', () => {
  test('every value flag is read', () => {
    const c = config([
      '--host', '127.0.0.1',
      '--port', '9090',
      '--data-dir', '/var/lib/wisp',
      '--static-dir', '/opt/wisp/app',
      '--tls-cert', '/etc/wisp/cert.pem',
      '--tls-key', '/etc/wisp/key.pem',
      '--origin', 'https://chat.example.org/some/path',
      '--origin', 'http://localhost:5173',
      '--heartbeat-ms', '5000',
      '--max-conn-per-ip', '7',
      '--rate-per-minute', '60',
      '--rate-burst', '4',
      '--quiet',
    ]);
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.port, 9090);
    assert.equal(c.dataDir, '/var/lib/wisp');
    assert.equal(c.staticDir, '/opt/wisp/app');
    assert.equal(c.tlsCert, '/etc/wisp/cert.pem');
    assert.equal(c.tlsKey, '/etc/wisp/key.pem');
    // Origins are normalised to scheme://host[:port].
    assert.deepEqual(c.origins, ['https://chat.example.org', 'http://localhost:5173']);
    assert.equal(c.heartbeatMs, 5000);
    assert.equal(c.maxConnectionsPerIp, 7);
    assert.equal(c.sayPerMinute, 60);
    assert.equal(c.sayBurst, 4);
    assert.equal(c.quiet, true);
  });

  test('PORT and HOST are honoured', () => {
    const c = config([], { PORT: '3000', HOST: '0.0.0.0' });
    assert.equal(c.port, 3000);
    assert.equal(c.host, '0.0.0.0');
  });

  test('flags beat the environment', () => {
    const c = config(['--port', '4000', '--host', '::1', '--origin', 'https://flag.example'], {
      PORT: '3000',
      HOST: '0.0.0.0',
      WISP_ORIGINS: 'https://env.example',
    });
    assert.equal(c.port, 4000);
    assert.equal(c.host, '::1');
    assert.deepEqual(c.origins, ['https://flag.example']);
  });

  test('an empty environment variable counts as unset', () => {
    assert.equal(config([], { PORT: '' }).port, 8080);
  });

  test('the other environment variables are read too', () => {
    const c = config([], {
      WISP_DATA_DIR: '/d',
      WISP_STATIC_DIR: '/s',
      WISP_ORIGINS: 'https://a.example, https://b.example',
      WISP_HEARTBEAT_MS: '1000',
      WISP_MAX_CONN_PER_IP: '9',
      WISP_RATE_PER_MINUTE: '12',
      WISP_RATE_BURST: '2',
      WISP_QUIET: '1',
    });
    assert.equal(c.dataDir, '/d');
    assert.equal(c.staticDir, '/s');
    assert.deepEqual(c.origins, ['https://a.example', 'https://b.example']);
    assert.equal(c.heartbeatMs, 1000);
    assert.equal(c.maxConnectionsPerIp, 9);
    assert.equal(c.sayPerMinute, 12);
    assert.equal(c.sayBurst, 2);
    assert.equal(c.quiet, true);
  });

  test('port 0 is allowed (pick a free port)', () => {
    assert.equal(config(['--port', '0']).port, 0);
  });

  test('room history: defaults from LIMITS, flags and environment read, 0 allowed for each', () => {
    const defaults = config([]);
    assert.equal(defaults.historyMessages, LIMITS.historyMessages);
    assert.equal(defaults.historyMaxAgeMs, LIMITS.historyMaxAgeMs);
    assert.equal(defaults.historyMaxBytes, LIMITS.historyMaxBytes);
    const c = config(['--history-messages', '1000', '--history-hours', '2', '--history-mb', '8']);
    assert.deepEqual([c.historyMessages, c.historyMaxAgeMs, c.historyMaxBytes], [1000, 2 * 3600_000, 8 * 1024 * 1024]);
    const env = config([], { WISP_HISTORY_MESSAGES: '0', WISP_HISTORY_HOURS: '0', WISP_HISTORY_MB: '0' });
    assert.deepEqual([env.historyMessages, env.historyMaxAgeMs, env.historyMaxBytes], [0, 0, 0]);
    const max = config(['--history-messages', String(LIMITS.historyMessagesMax)]);
    assert.equal(max.historyMessages, LIMITS.historyMessagesMax);
  });

  test('--help asks for help', () => {
    assert.deepEqual(parseConfig(['--help'], {}, STATIC), { help: true });
    // Even with otherwise bad values in the environment.
    assert.deepEqual(parseConfig(['--help'], { PORT: 'abc' }, STATIC), { help: true });
  });

  test('the help text lists every flag with its environment variable', () => {
    const help = helpText();
    for (const flag of ['--host', '--port', '--data-dir', '--static-dir', '--tls-cert', '--tls-key', '--origin', '--quiet', '--help', '--history-messages', '--history-hours', '--history-mb']) {
      assert.ok(help.includes(flag), `help lacks ${flag}`);
    }
    assert.match(help, /\[PORT\]/);
    assert.match(help, /\[HOST\]/);
    assert.match(help, /default 8080/);
    assert.match(help, new RegExp(`--history-messages.*default ${LIMITS.historyMessages}\\).*\\[WISP_HISTORY_MESSAGES\\]`));
    assert.match(help, /--history-hours.*default 24\).*\[WISP_HISTORY_HOURS\]/);
    assert.match(help, /--history-mb.*default 32\).*\[WISP_HISTORY_MB\]/);
  });
});

describe('local CA flags', () => {
  test('defaults: the local CA on, HTTPS on 8443, no extra names', () => {
    const c = config([]);
    assert.equal(c.localCa, true);
    assert.equal(c.httpsPort, LIMITS.httpsPort);
    assert.equal(c.httpsPort, 8443);
    assert.deepEqual(c.tlsNames, []);
    assert.equal(serveMode(c), 'local-ca');
  });

  test('flags, environment and the repeatable --tls-name', () => {
    const c = config(['--local-ca', 'off', '--https-port', '0', '--tls-name', 'Chat.LAN', '--tls-name', '192.168.1.5'], { WISP_TLS_NAMES: 'ignored.lan' });
    assert.equal(c.localCa, false);
    assert.equal(c.httpsPort, 0);
    assert.deepEqual(c.tlsNames, ['chat.lan', '192.168.1.5']);
    const e = config([], { WISP_LOCAL_CA: 'off', WISP_HTTPS_PORT: '9443', WISP_TLS_NAMES: 'a.lan, b.lan' });
    assert.equal(e.localCa, false);
    assert.equal(e.httpsPort, 9443);
    assert.deepEqual(e.tlsNames, ['a.lan', 'b.lan']);
  });

  test('serveMode: the local CA gives way to --tls-cert, --local-ca off and a loopback --host', () => {
    assert.equal(serveMode(config(['--tls-cert', '/c.pem', '--tls-key', '/k.pem'])), 'own-certificate');
    assert.equal(serveMode(config(['--local-ca', 'off'])), 'plain');
    for (const host of ['127.0.0.1', '127.0.1.1', '::1', 'localhost']) assert.equal(serveMode(config(['--host', host])), 'plain', host);
    for (const host of ['::', '0.0.0.0', '192.168.1.20']) assert.equal(serveMode(config(['--host', host])), 'local-ca', host);
  });

  test('the same port twice is fine when the local CA is not in use', () => {
    assert.equal(config(['--local-ca', 'off', '--port', '9000', '--https-port', '9000']).port, 9000);
  });

  test('the help text lists the new flags', () => {
    const help = helpText();
    assert.match(help, /--local-ca <value>.*\(default on\).*\[WISP_LOCAL_CA\]/);
    assert.match(help, /--https-port <value>.*\(default 8443\).*\[WISP_HTTPS_PORT\]/);
    assert.match(help, /--tls-name <value>.*\[WISP_TLS_NAMES\]/);
  });
});

describe('config errors', () => {
  const bad: [string, string[], NodeJS.ProcessEnv, RegExp][] = [
    ['a port that is not a number', ['--port', 'abc'], {}, /--port must be a whole number, got "abc"/],
    ['a negative port', ['--port', '-1'], {}, /--port/],
    ['a port above 65535', ['--port', '65536'], {}, /--port must be between 0 and 65535/],
    ['a fractional port', ['--port', '80.5'], {}, /--port/],
    ['an empty port flag', ['--port', ''], {}, /--port/],
    ['a bad PORT in the environment', [], { PORT: 'eighty' }, /--port/],
    ['an unknown flag', ['--prot', '80'], {}, /--help/],
    ['a positional argument', ['serve'], {}, /--help/],
    ['a value flag without a value', ['--port'], {}, /port/],
    ['a host with spaces', ['--host', 'my host'], {}, /--host/],
    ['a host with a scheme', ['--host', 'http://x'], {}, /--host/],
    ['an origin that is not a URL', ['--origin', 'chat.example.org'], {}, /--origin must be an http\(s\) origin/],
    ['an origin with another scheme', ['--origin', 'ftp://chat.example.org'], {}, /--origin/],
    ['a bad origin in WISP_ORIGINS', [], { WISP_ORIGINS: 'https://ok.example,javascript:alert(1)' }, /--origin/],
    ['a certificate without a key', ['--tls-cert', '/c.pem'], {}, /--tls-cert and --tls-key must be given together/],
    ['a key without a certificate', ['--tls-key', '/k.pem'], {}, /together/],
    ['a heartbeat below the minimum', ['--heartbeat-ms', '10'], {}, /--heartbeat-ms/],
    ['a zero connection cap', ['--max-conn-per-ip', '0'], {}, /--max-conn-per-ip/],
    ['a zero rate', ['--rate-per-minute', '0'], {}, /--rate-per-minute/],
    ['a zero burst', ['--rate-burst', '0'], {}, /--rate-burst/],
    ['more history messages than the maximum', ['--history-messages', String(LIMITS.historyMessagesMax + 1)], {}, /--history-messages must be between 0 and/],
    ['a negative history count', ['--history-messages', '-1'], {}, /--history-messages/],
    ['fractional history hours', ['--history-hours', '1.5'], {}, /--history-hours must be a whole number/],
    ['history hours past the maximum', ['--history-hours', String(LIMITS.historyMaxAgeMaxMs / 3600_000 + 1)], {}, /--history-hours must be between 0 and/],
    ['history MiB that are not a number', ['--history-mb', 'lots'], {}, /--history-mb must be a whole number/],
    ['history MiB past the maximum', [], { WISP_HISTORY_MB: String(LIMITS.historyMaxBytesMax / 1024 / 1024 + 1) }, /--history-mb must be between 0 and/],
    ['--local-ca neither on nor off', ['--local-ca', 'yes'], {}, /--local-ca must be "on" or "off", got "yes"/],
    ['a bad WISP_LOCAL_CA', [], { WISP_LOCAL_CA: '1' }, /--local-ca must be "on" or "off"/],
    ['an HTTPS port that is not a number', ['--https-port', 'x'], {}, /--https-port must be a whole number/],
    ['an HTTPS port above 65535', [], { WISP_HTTPS_PORT: '70000' }, /--https-port must be between 0 and 65535/],
    ['the HTTPS port equal to --port', ['--port', '9000', '--https-port', '9000'], {}, /--https-port must differ from --port/],
    ['a --tls-name with an underscore', ['--tls-name', 'my_box'], {}, /--tls-name must be a host name/],
    ['a --tls-name with a scheme', ['--tls-name', 'https://box.lan'], {}, /--tls-name/],
    ['a bad name in WISP_TLS_NAMES', [], { WISP_TLS_NAMES: 'box.lan,-bad-' }, /--tls-name/],
    ['too many --tls-name', Array.from({ length: LIMITS.tlsNamesMax + 1 }, (_, i) => ['--tls-name', `n${i}.lan`]).flat(), {}, /--tls-name may be given at most/],
  ];
  for (const [why, argv, env, message] of bad) {
    test(`ConfigError: ${why}`, () => refused(argv, env, message));
  }
});
