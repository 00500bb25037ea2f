// The Node flags `npm start` runs the server with (package.json), in one place: the
// release's own start script, and the tests and benches that run the server in a
// process of its own, use exactly these.
import { readFileSync } from 'node:fs';

const PACKAGE_JSON = new URL('../package.json', import.meta.url);

/** @type {readonly string[]} */
export const SERVER_NODE_FLAGS = (() => {
  /** @type {{ scripts: { start: string } }} */
  const pkg = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8'));
  const start = pkg.scripts.start;
  const match = /\bnode((?:\s+--[\w-]+(?:=\S+)?)*)\s+dist\/signal-server\/main\.js/.exec(start);
  // A start script of another shape would silently drop the flags: say so instead.
  if (!match) throw new Error(`server-node-flags: no "node [--flags] dist/signal-server/main.js" in the start script: ${start}`);
  return match[1].split(/\s+/).filter(Boolean);
})();
