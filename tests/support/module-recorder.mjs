// `node --import <this file>`: records the URL of every module the process resolves, one
// per line, in the file named by MODULE_RECORD_FILE (and, at exit, every CommonJS module
// in require's cache), so a test can tell which packages a real run loaded.
// Plain JavaScript: it may be loaded before tsx's hooks are in place.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';

const file = process.env.MODULE_RECORD_FILE;
if (!file) throw new Error('module-recorder: set MODULE_RECORD_FILE to the file to record into');

const { port1, port2 } = new MessageChannel();
port1.on('message', (url) => appendFileSync(file, `${url}\n`));
// The recorder must not keep a finished process alive.
port1.unref();
register('./module-recorder-hooks.mjs', import.meta.url, { data: { port: port2 }, transferList: [port2] });

process.on('exit', () => {
  const cached = Object.keys(createRequire(import.meta.url).cache);
  if (cached.length > 0) appendFileSync(file, `${cached.join('\n')}\n`);
});
