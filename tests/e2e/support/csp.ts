// Content-Security-Policy and Trusted Types violations, as the browser reports them: every
// `securitypolicyviolation` event in every document of a person's browser context (the app
// page, its reloads, any frame), recorded in Node through an exposed binding.
import type { BrowserContext } from 'playwright-core';
import type { Person } from './browser.ts';

export interface CspViolation {
  /** The effective directive, e.g. "script-src-elem" or "require-trusted-types-for". */
  directive: string;
  blockedURI: string;
  /** The first characters of the blocked inline script or sink value, when the browser gives them. */
  sample: string;
  source: string;
  line: number;
  disposition: string;
  frameUrl: string;
}

const BINDING = '__wispCspViolation';

// A string, not a function: tsx would wrap named helpers in a __name() the page lacks.
const LISTENER = `(() => {
  if (window.__wispCspWatched) return;
  window.__wispCspWatched = true;
  document.addEventListener('securitypolicyviolation', (e) => {
    window.${BINDING}({
      directive: e.effectiveDirective || e.violatedDirective || '',
      blockedURI: e.blockedURI || '',
      sample: e.sample || '',
      source: e.sourceFile || '',
      line: e.lineNumber || 0,
      disposition: e.disposition || '',
    });
  }, true);
})()`;

const watched = new WeakMap<BrowserContext, Promise<CspViolation[]>>();

/**
 * Starts recording CSP and Trusted Types violations in every page and frame of this
 * person's context (documents loaded later included) and returns the live list. Calling
 * it again returns the same list. newPerson and newProfilePerson watch every person from
 * before the app loads, and every violation counts as a problem of that person (see
 * Person.unexpectedProblems), which fails a Scene's test.
 */
export function watchCsp(target: Person | BrowserContext): Promise<CspViolation[]> {
  // A Person has a page; a BrowserContext has none (checked by shape: browser.ts imports this module).
  const context = 'page' in target ? target.context : target;
  let list = watched.get(context);
  if (!list) {
    list = start(context);
    watched.set(context, list);
  }
  return list;
}

async function start(context: BrowserContext): Promise<CspViolation[]> {
  const violations: CspViolation[] = [];
  await context.exposeBinding(BINDING, ({ frame }, v: Omit<CspViolation, 'frameUrl'>) => {
    violations.push({ ...v, frameUrl: frame.url() });
  });
  await context.addInitScript(LISTENER);
  // Documents already open (a person made before watching began).
  for (const page of context.pages()) {
    for (const frame of page.frames()) await frame.evaluate(LISTENER).catch(() => undefined);
  }
  return violations;
}

/** One line per violation, for assertion messages. */
export function describeViolations(violations: CspViolation[]): string[] {
  return violations.map((v) => `${v.directive} blocked ${v.blockedURI || '(inline)'} ${v.sample ? `"${v.sample}"` : ''} at ${v.source || v.frameUrl}:${v.line}`.trim());
}
