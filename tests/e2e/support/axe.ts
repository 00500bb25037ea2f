// axe-core in a person's page: every rule, every impact, open shadow roots included.
// The source goes in through page.evaluate (CDP), which the server's CSP does not block,
// where an inline <script> would be.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  /** One entry per failing node: its selector path (through shadow roots) and what axe says about it. */
  nodes: { target: string; summary: string }[];
}

/** Runs axe on the whole document (injecting it once per page) and returns its violations. */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  const loaded = await page.evaluate('typeof window.axe === "object"');
  if (!loaded) await page.evaluate(AXE_SOURCE);
  // A string, not a function: tsx would wrap a function in a __name() helper the page lacks.
  return page.evaluate(`(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact ?? null,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: JSON.stringify(n.target), summary: (n.failureSummary ?? '').replace(/\\s+/g, ' ').trim() })),
    }));
  })()`) as Promise<AxeViolation[]>;
}

/** What one scan found: where (screen, viewport, scheme) and the violations there. */
export interface AxeScan {
  where: string;
  violations: AxeViolation[];
}

/**
 * A failure message a person can act on: each rule (impact, help) once, then each failing
 * node's selector and reason, with every screen it failed on (one fix usually mends them all).
 */
export function describeAxe(scans: readonly AxeScan[]): string {
  const rules = new Map<string, { head: string; nodes: Map<string, { summary: string; where: string[] }> }>();
  for (const { where, violations } of scans) {
    for (const v of violations) {
      const rule = rules.get(v.id) ?? { head: `${v.id} (${v.impact ?? 'no impact'}): ${v.help}`, nodes: new Map() };
      rules.set(v.id, rule);
      for (const node of v.nodes) {
        const entry = rule.nodes.get(node.target) ?? { summary: node.summary, where: [] };
        rule.nodes.set(node.target, entry);
        entry.where.push(where);
      }
    }
  }
  return [...rules.values()]
    .map(({ head, nodes }) => `${head}\n${[...nodes].map(([target, n]) => `    ${target}: ${n.summary}\n      on: ${n.where.join('; ')}`).join('\n')}`)
    .join('\n');
}
