// The Node flags `npm start` runs the server with (package.json), so tests and benches
// that run the server in a process of its own measure the process people run.
import { readFileSync } from 'node:fs';

const PACKAGE_JSON = new URL('../../package.json', import.meta.url);

export const SERVER_NODE_FLAGS: readonly string[] = (() => {
  const start = (JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { scripts: { start: string } }).scripts.start;
  const match = /\bnode((?:\s+--[\w-]+(?:=\S+)?)*)\s+dist\/signal-server\/main\.js/.exec(start);
  // A start script of another shape would silently drop the flags: say so instead.
  if (!match) throw new Error(`server-node-flags: no "node [--flags] dist/signal-server/main.js" in the start script: ${start}`);
  return match[1]!.split(/\s+/).filter(Boolean);
})();
