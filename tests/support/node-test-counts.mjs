// A node:test reporter that counts results for tests/run-all.ts and writes one JSON
// object at the end of the run:
//   { passed, failed, skipped, failures: [{ file, name, reason }], skips: [...] }
// Plain JavaScript on purpose: node loads reporters before tsx's hooks are in place.
// Use it next to a human reporter:
//
//   node --import tsx --test \
//     --test-reporter=spec --test-reporter-destination=stdout \
//     --test-reporter=./tests/support/node-test-counts.mjs --test-reporter-destination=counts.json \
//     tests/server/*.test.ts
//
// Counting rules (checked against node 20.20's event stream):
// - a test counts once, at its own level: a test or suite whose children were reported
//   is not counted itself when it passed or when it failed only because a child failed
//   (failureType "subtestsFailed"); any other failure of a parent (a failing hook, code
//   after the subtests) counts as one more failure;
// - `skip` and `todo` tests are counted as skipped;
// - a file that crashes, exits early or fails to load is reported by node as a failing
//   test named after the file: one failure;
// - a file that registers no test at all is reported by node as a passing test named
//   after the file: counted as a failure ("no tests in file"), since it proves nothing.

/** @param {unknown} error */
function firstLine(error) {
  const cause = /** @type {{ cause?: unknown } | undefined} */ (error)?.cause ?? error;
  const message = cause instanceof Error ? cause.message : String(cause ?? '');
  return message.split('\n', 1)[0].slice(0, 300);
}

/** @param {AsyncIterable<{ type: string, data: any }>} source */
export default async function* nodeTestCounts(source) {
  const counts = { passed: 0, failed: 0, skipped: 0, failures: [], skips: [] };
  /** @type {Map<string, number[]>} per file: tests seen at each nesting level since their parent was reported */
  const childrenSeen = new Map();

  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const data = event.data;
    const file = data.file ?? '(unknown file)';
    let seen = childrenSeen.get(file);
    if (!seen) childrenSeen.set(file, (seen = []));
    const n = data.nesting;
    const hadChildren = (seen[n + 1] ?? 0) > 0;
    seen[n + 1] = 0;
    seen[n] = (seen[n] ?? 0) + 1;

    const isSuite = data.details?.type === 'suite';
    const isFileLevel = n === 0 && data.file !== undefined && data.name === data.file;
    const result = { file, name: data.name };

    if (data.skip !== undefined || data.todo !== undefined) {
      if (!hadChildren && !isSuite) {
        counts.skipped += 1;
        counts.skips.push({ ...result, reason: data.skip !== undefined ? 'skipped' : 'todo' });
      }
      continue;
    }

    if (event.type === 'test:pass') {
      if (hadChildren || isSuite) continue;
      if (isFileLevel) {
        counts.failed += 1;
        counts.failures.push({ ...result, reason: 'no tests in file' });
      } else {
        counts.passed += 1;
      }
      continue;
    }

    const error = data.details?.error;
    if (hadChildren && error?.failureType === 'subtestsFailed') continue;
    counts.failed += 1;
    counts.failures.push({ ...result, reason: firstLine(error) });
  }

  yield `${JSON.stringify(counts)}\n`;
}
