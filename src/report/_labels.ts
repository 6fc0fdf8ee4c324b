/** Display labels for steps: a name that several steps share is told apart by its ordinal ("sort #2"). */
import { dfgOnly } from "../core/jit-tier.ts";
import type { Step } from "../steps/index.ts";

/**
 * One label per step (same index): its name, or `name #k` (k counted from 1 in start order) when more
 * than one step has that name.
 */
export function stepLabels(steps: readonly Pick<Step, "name">[]): string[] {
  const total = new Map<string, number>();
  for (const s of steps) total.set(s.name, (total.get(s.name) ?? 0) + 1);
  const seen = new Map<string, number>();
  const labelOf = (s: Pick<Step, "name">) => {
    if (total.get(s.name)! < 2) return s.name;
    const k = (seen.get(s.name) ?? 0) + 1;
    seen.set(s.name, k);
    return `${s.name} #${k}`;
  };
  // once per step (src/core/jit-tier.ts)
  dfgOnly(labelOf);
  return steps.map(labelOf);
}
