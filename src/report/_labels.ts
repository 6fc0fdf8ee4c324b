/** Display labels for steps: a name that several steps share is told apart by its ordinal ("sort #2"). */
import { dfgOnly } from "../core/jit-tier.ts";
import { sanitize } from "../core/sanitize.ts";
import type { Step } from "../steps/index.ts";

/**
 * One label per step (same index): its name, or `name #k` (k counted from 1 in start order) when more
 * than one step shows that name — as it is shown, escaped (src/core/sanitize.ts): a script named
 * "a<newline>b.sh" and one named "a\\nb.sh" both show as `a\nb.sh`, and are told apart the same way.
 */
export function stepLabels(steps: readonly Pick<Step, "name">[]): string[] {
  const total = new Map<string, number>();
  const shown = steps.map((s) => sanitize(s.name));
  for (const n of shown) total.set(n, (total.get(n) ?? 0) + 1);
  const seen = new Map<string, number>();
  const labelOf = (s: Pick<Step, "name">, i: number) => {
    const n = shown[i]!;
    if (total.get(n)! < 2) return s.name;
    const k = (seen.get(n) ?? 0) + 1;
    seen.set(n, k);
    return `${s.name} #${k}`;
  };
  // once per step (src/core/jit-tier.ts)
  dfgOnly(labelOf);
  return steps.map(labelOf);
}
