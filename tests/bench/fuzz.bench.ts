// Fuzzing at length: the protocol property tests (tests/support/protocol-properties.ts,
// the hub in process included) with 100,000+ cases, then the live fuzzer
// (tests/support/live-fuzzer.ts) with 10,000 frames (after a 2,000-frame warm-up)
// against the server from source in a child process while two honest clients chat.
// The seed is fixed (WISP_FUZZ_SEED overrides it) and printed.
import { type Benchmark, type Row } from './bench.ts';
import { runAllProperties, fuzzSeed } from '../support/protocol-properties.ts';
import { describeReport, runLiveFuzz } from '../support/live-fuzzer.ts';

const SCHEMA_CASES = 100_000;
const LIVE_FRAMES = 10_000;
const LIVE_WARMUP = 2_000;
/** Server memory growth over the live fuzzing, warm-up to end (measured: RSS 5-10 MB, heap well under that). */
const RSS_GROWTH_BUDGET_MB = 20;
const HEAP_GROWTH_BUDGET_MB = 10;
/** The server keeps up with the fuzzing: 12,000 frames within 120 s, the bound the test used to hold. */
const FRAMES_PER_S_BUDGET = 100;

const benchmark: Benchmark = {
  title: `fuzzing: protocol properties (${SCHEMA_CASES.toLocaleString('en-US')}+ cases) and ${LIVE_FRAMES.toLocaleString('en-US')} live frames`,
  async run(ctx) {
    const seed = fuzzSeed();
    ctx.log(`fuzz seed ${seed} (set WISP_FUZZ_SEED to replay another)`);
    const properties = await runAllProperties(SCHEMA_CASES, seed, (line) => ctx.log(line));
    const failures = properties.filter((p) => p.failure);
    const report = await runLiveFuzz({ frames: LIVE_FRAMES, warmupFrames: LIVE_WARMUP, seed, timeLimitMs: 300_000, log: (line) => ctx.log(line) });
    for (const line of describeReport(report).split('\n')) ctx.log(line);

    const protocolViolations = report.unknownErrorCodes.length + report.unknownCloseCodes.length + report.invalidServerFrames.length;
    const rows: Row[] = [
      { key: 'fuzz_schema_cases', label: 'protocol property cases run (schemas and the hub in process)', value: properties.reduce((s, p) => s + p.cases, 0), unit: 'cases', budget: { op: '>=', value: SCHEMA_CASES } },
      { key: 'fuzz_schema_failures', label: 'protocol properties that found a counterexample', value: failures.length, unit: 'properties', budget: { op: '<=', value: 0 } },
      { key: 'fuzz_live_frames', label: `fuzzed frames sent to the live server (${LIVE_WARMUP.toLocaleString('en-US')} of them warm-up)`, value: report.framesSent, unit: 'frames', budget: { op: '>=', value: LIVE_FRAMES } },
      { key: 'fuzz_live_connections', label: 'fuzzing connections opened (the server closes abusive ones)', value: report.connections, unit: 'connections' },
      { key: 'fuzz_crashes', label: 'server crashes (exited, or not serving afterwards)', value: report.crashes, unit: 'crashes', budget: { op: '<=', value: 0 } },
      // -1: the server could not be asked (it is gone); then the figure is not measured.
      { key: 'fuzz_uncaught_exceptions', label: 'uncaught exceptions in the server process', value: report.uncaughtExceptions < 0 ? NaN : report.uncaughtExceptions, unit: 'exceptions', budget: { op: '<=', value: 0 } },
      { key: 'fuzz_unhandled_rejections', label: 'unhandled rejections in the server process', value: report.unhandledRejections < 0 ? NaN : report.unhandledRejections, unit: 'rejections', budget: { op: '<=', value: 0 } },
      { key: 'fuzz_unanswered_frames', label: 'fuzzed frames without a typed error, a reply, a known close code or a reason to be silent', value: report.unanswered, unit: 'frames', budget: { op: '<=', value: 0 } },
      { key: 'fuzz_protocol_violations', label: 'unknown error codes, unknown close codes and invalid frames from the server', value: protocolViolations, unit: 'cases', budget: { op: '<=', value: 0 } },
      { key: 'fuzz_honest_problems', label: 'honest chat problems (lost, reordered or refused messages, disconnects)', value: report.honest.problems.length, unit: 'problems', budget: { op: '<=', value: 0 } },
      // Budgets tuned to measured values (with the flags `npm start` uses RSS grows 5 to 10 MB
      // and then stays); tests/server/live-fuzz.test.ts keeps only a bound several times these.
      { key: 'fuzz_rss_growth_mb', label: `server RSS growth, warm-up to end (${report.rssWarmMb} -> ${report.rssAfterMb} MB)`, value: report.rssGrowthMb, unit: 'MB', budget: { op: '<=', value: RSS_GROWTH_BUDGET_MB } },
      { key: 'fuzz_heap_growth_mb', label: `server heap in use after a collection, warm-up to end (${report.heapWarmMb} -> ${report.heapAfterMb} MB)`, value: Math.round((report.heapAfterMb - report.heapWarmMb) * 10) / 10, unit: 'MB', budget: { op: '<=', value: HEAP_GROWTH_BUDGET_MB } },
      { key: 'fuzz_live_frames_per_s', label: 'live fuzzing throughput (frames sent over the whole run, set-up and honest chat included)', value: Math.round(report.framesSent / (report.durationMs / 1000)), unit: 'frames/s', budget: { op: '>=', value: FRAMES_PER_S_BUDGET } },
    ];
    // A figure the run could not measure is left out rather than guessed.
    return rows.filter((row) => Number.isFinite(row.value));
  },
};

export default benchmark;
