/**
 * Accessibility audits with axe-core in a Playwright page: WCAG 2.0 and 2.1, levels A and
 * AA. The web client's Content-Security-Policy refuses inline scripts, so axe's source is
 * evaluated through the DevTools protocol (`page.evaluate`), which the policy does not see.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const require = createRequire(import.meta.url);
let source: string | null = null;

/** The WCAG levels audited: 2.0 and 2.1, A and AA. */
export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[]; failureSummary: string }>;
}

/** Runs axe on the page as it is and returns its violations of WCAG 2.1 AA. */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  source ??= readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  const loaded = await page.evaluate(() => typeof (window as unknown as { axe?: unknown }).axe === 'object');
  if (!loaded) await page.evaluate(source);
  return page.evaluate(async (tags) => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.map(String), failureSummary: n.failureSummary })),
    }));
  }, WCAG_TAGS);
}

/** A readable list of violations: rule, impact, help, then each element and why. */
export function formatViolations(violations: AxeViolation[]): string {
  return violations.map((v) => [
    `${v.id} (${v.impact ?? 'unknown'}): ${v.help}`,
    ...v.nodes.map((n) => `  ${n.target.join(' ')}\n    ${n.failureSummary.replace(/\n/g, '\n    ')}`),
  ].join('\n')).join('\n');
}

/** Fails, listing every violation, unless the page meets WCAG 2.1 AA as axe checks it. */
export async function assertAccessible(page: Page, view: string): Promise<void> {
  const violations = await axeViolations(page);
  if (violations.length > 0) {
    throw new Error(`axe found ${violations.length} WCAG 2.1 AA violation(s) in ${view}:\n${formatViolations(violations)}`);
  }
}
