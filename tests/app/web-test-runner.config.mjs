// @web/test-runner 0.20 config for the app tier: unit and component tests in Debian's
// Chromium. Run from the repository root:
//
//   npx wtr --config tests/app/web-test-runner.config.mjs
//
// Modules are served by Vite in middleware mode, mounted as a test-runner middleware:
// Vite transforms TypeScript and Lit's decorators exactly as the app build does and
// pre-bundles CommonJS dependencies (simple-peer), which WTR's esbuild plugin cannot.
// Vite reads tsconfig.app.json (experimentalDecorators, useDefineForClassFields: false);
// tests/app/smoke.test.ts proves decorated properties really work.
//
// With WTR_RESULTS_FILE set, a small reporter writes the counts as JSON to that file
// (tests/run-all.ts reads it): { passed, failed, skipped, failures: [...], skips: [...] }.
// The process exits nonzero when any test or test file fails.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultReporter } from '@web/test-runner';
import { chromeLauncher } from '@web/test-runner-chrome';
import { createServer } from 'vite';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const TEST_FILES = 'tests/app/**/*.test.ts';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless=new',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** @type {import('vite').ViteDevServer | undefined} */
let vite;

/**
 * Starts Vite with the dev server and stops it with it. `configFile: false`: the app's
 * vite.config.ts (root app/, PWA plugin) is for the app build; anything the tests also
 * need from it (aliases, `define`s) is repeated here.
 * @returns {import('@web/test-runner').TestRunnerPlugin}
 */
function vitePlugin() {
  return {
    name: 'wisp-vite',
    async serverStart() {
      vite = await createServer({
        configFile: false,
        root: repoRoot,
        tsconfig: 'tsconfig.app.json',
        appType: 'custom',
        publicDir: 'public',
        cacheDir: 'node_modules/.vite-wtr',
        logLevel: 'warn',
        clearScreen: false,
        server: { middlewareMode: true, hmr: false, watch: null },
        // Pre-bundle everything the tests import before the first page loads, so the
        // optimizer never re-runs (and reloads the page) in the middle of a run.
        optimizeDeps: { entries: [TEST_FILES] },
      });
    },
    async serverStop() {
      await vite?.close();
      vite = undefined;
    },
  };
}

/**
 * Koa middleware that lets Vite answer first. Vite's connect stack either ends the
 * response (then Koa must not touch it: ctx.respond = false) or calls next (then the
 * request goes on to WTR: its test pages and test-framework files).
 * @param {import('koa').Context} ctx
 * @param {() => Promise<unknown>} next
 */
async function viteMiddleware(ctx, next) {
  if (!vite || ctx.path.startsWith('/__web-dev-server') || ctx.path.startsWith('/__web-test-runner')) {
    return next();
  }
  const server = vite;
  const answered = await new Promise((resolve, reject) => {
    const onDone = () => resolve(true);
    ctx.res.once('finish', onDone);
    ctx.res.once('close', onDone);
    server.middlewares(ctx.req, ctx.res, (/** @type {unknown} */ error) => {
      ctx.res.off('finish', onDone);
      ctx.res.off('close', onDone);
      if (error) reject(error);
      else resolve(false);
    });
  });
  if (answered) {
    ctx.respond = false;
    return undefined;
  }
  return next();
}

/**
 * @param {import('@web/test-runner').TestSuiteResult | undefined} suite
 * @param {string[]} path
 * @param {(test: import('@web/test-runner').TestResult, path: string[]) => void} visit
 */
function walk(suite, path, visit) {
  if (!suite) return;
  for (const test of suite.tests) visit(test, path);
  for (const child of suite.suites) walk(child, [...path, child.name], visit);
}

/**
 * Counts results per test (not per file) and writes them for tests/run-all.ts.
 * A file that fails to load, throws outside a test, or has no test counts as a failure.
 * @returns {import('@web/test-runner').Reporter}
 */
function countsReporter() {
  const outFile = process.env.WTR_RESULTS_FILE;
  return {
    stop({ sessions }) {
      const counts = {
        passed: 0,
        failed: 0,
        skipped: 0,
        /** @type {{ file: string, name: string, reason?: string }[]} */
        failures: [],
        /** @type {{ file: string, name: string, reason?: string }[]} */
        skips: [],
      };
      for (const session of sessions) {
        const file = session.testFile.replace(repoRoot, '');
        let tests = 0;
        walk(session.testResults, [], (test, path) => {
          tests += 1;
          const name = [...path, test.name].join(' > ');
          if (test.skipped) {
            counts.skipped += 1;
            counts.skips.push({ file, name, reason: 'skipped' });
          } else if (test.passed) {
            counts.passed += 1;
          } else {
            counts.failed += 1;
            counts.failures.push({ file, name, reason: test.error?.message?.split('\n', 1)[0] });
          }
        });
        if (session.errors.length > 0) {
          counts.failed += 1;
          counts.failures.push({ file, name: '(test file)', reason: session.errors[0]?.message?.split('\n', 1)[0] });
        } else if (tests === 0) {
          counts.failed += 1;
          counts.failures.push({ file, name: '(test file)', reason: 'no tests in file' });
        } else if (session.passed === false && !counts.failures.some((f) => f.file === file)) {
          counts.failed += 1;
          counts.failures.push({ file, name: '(test file)', reason: `session ended with status ${session.status}` });
        }
      }
      if (outFile) {
        mkdirSync(dirname(outFile), { recursive: true });
        writeFileSync(outFile, `${JSON.stringify(counts)}\n`);
      }
    },
  };
}

/** @type {import('@web/test-runner').TestRunnerConfig} */
export default {
  rootDir: repoRoot,
  files: [TEST_FILES],
  nodeResolve: false,
  watch: false,
  concurrentBrowsers: 1,
  browserStartTimeout: 60_000,
  testsStartTimeout: 60_000,
  testsFinishTimeout: 120_000,
  browsers: [
    chromeLauncher({
      launchOptions: {
        executablePath: '/usr/bin/chromium',
        headless: true,
        args: CHROMIUM_ARGS,
      },
    }),
  ],
  // forbidOnly: a stray `.only` would silently drop every other test; Mocha fails the run instead.
  testFramework: { config: { ui: 'bdd', timeout: 10_000, forbidOnly: true } },
  // Lit announces its dev build in every page; everything else the page logs is shown.
  filterBrowserLogs: ({ args }) => !(typeof args[0] === 'string' && args[0].startsWith('Lit is in dev mode')),
  plugins: [vitePlugin()],
  middleware: [viteMiddleware],
  reporters: [defaultReporter(), countsReporter()],
};
