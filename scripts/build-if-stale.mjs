// `npm start` and `npm run release`: build the app and server only when a source, a
// config or package-lock.json changed since the last build (or dist/ is missing), so a
// start on a Raspberry Pi does not spend minutes rebuilding what is already built.
import { ensureFreshBuild } from './build-freshness.mjs';

try {
  ensureFreshBuild((message) => console.error(`wisp: ${message}`));
} catch (error) {
  console.error(`wisp: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
