/** Each step's heaviest processes (by CPU time) for the HTML report's process tree; the rest counted. */
import { or0 } from "../steps/_columns.ts";
import { type ProcessFigures, rowOf } from "../steps/_rollup.ts";
import type { Step, StepProcess } from "../steps/index.ts";

/** One step's shown processes in start order, each with its depth below the step's root (capped). */
export interface StepTop {
  processes: StepProcess[];
  depth: number[];
  /** processes of the step not shown */
  more: number;
}

/** Steps in the HTML report's process tree at most (every step: --format csv). */
export const MAX_TREE_STEPS = 300;

/** depths past this are shown at this depth (a chain can be 100,000 deep) */
const MAX_DEPTH = 8;

/**
 * For each of `steps` (same index): its root and up to `n - 1` other processes with the most CPU time,
 * in start order. Linear in the processes plus n per step; only the processes shown are made objects.
 */
export function heaviestByStep(f: ProcessFigures, steps: Step[], n = 6): StepTop[] {
  // only the processes of these steps are indexed (the report shows the first MAX_TREE_STEPS steps)
  const wanted = new Set<number>();
  for (const s of steps) for (const id of s.processIds) wanted.add(id);
  const byId = new Map<number, number>();
  for (let i = 0; i < f.n; i++) if (wanted.has(f.id[i]!)) byId.set(f.id[i]!, i);
  wanted.clear();
  const cpu = (i: number) => or0(f.userUs[i]!) + or0(f.systemUs[i]!);
  const start = (i: number) => or0(f.startedAt[i]!);
  const tops = steps.map((s) => {
    const root = byId.get(s.rootId);
    const top: number[] = [];
    for (const id of s.processIds) {
      const p = byId.get(id);
      if (p === undefined || p === root) continue;
      if (top.length < n - 1) top.push(p);
      else if (cpu(p) > cpu(top[top.length - 1]!)) top[top.length - 1] = p;
      else continue;
      top.sort((a, b) => cpu(b) - cpu(a));
    }
    const shown = [...(root === undefined ? [] : [root]), ...top].sort(
      (a, b) => start(a) - start(b) || f.id[a]! - f.id[b]!,
    );
    const depth = shown.map((p) => {
      let d = 0;
      for (let q = p; f.id[q] !== s.rootId && !Number.isNaN(f.parentId[q]) && d < MAX_DEPTH; d++) {
        const up = byId.get(f.parentId[q]!);
        if (up === undefined) break;
        q = up;
      }
      return d;
    });
    return { shown, depth, more: s.processIds.length - shown.length };
  });
  return tops.map((t) => ({
    processes: t.shown.map((i) => rowOf(f, i)),
    depth: t.depth,
    more: t.more,
  }));
}
