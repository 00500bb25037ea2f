// The one verdict on what went wrong beside a test's own assertions: page errors, console
// errors, CSP and Trusted Types violations in any person's browser, and errors or crashes
// of the server. A test that provokes one on purpose allow-lists it where it provokes it
// (Person.allowProblems / expectProblems, WispServer.expectErrors), with a comment why.
import type { Person } from './browser.ts';
import type { WispServer } from './server.ts';

/** Every unexpected problem, one line each, prefixed with whose it is. */
export function unexpectedProblems(people: readonly Person[], servers: readonly WispServer[]): string[] {
  return [
    ...people.flatMap((person) => person.unexpectedProblems().map((problem) => `${person.label}: ${problem}`)),
    ...servers.flatMap((server) => server.problems().map((problem) => `server: ${problem}`)),
  ];
}

/** Throws one error listing every unexpected problem, if there is any. */
export function assertNoProblems(people: readonly Person[], servers: readonly WispServer[]): void {
  const problems = unexpectedProblems(people, servers);
  if (problems.length === 0) return;
  const message = `unexpected problems (allow-list only what the test provokes on purpose):\n${problems.map((p) => `  ${p}`).join('\n')}`;
  // Also on stderr: when the test body failed too, node:test reports only the body's error.
  console.error(`# ${message.replaceAll('\n', '\n# ')}`);
  throw new Error(message);
}
