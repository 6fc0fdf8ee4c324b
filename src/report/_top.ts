/** Each step's heaviest processes (by CPU time) for the HTML report's process tree; the rest counted. */
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

const cpu = (p: StepProcess) => (p.userUs ?? 0) + (p.systemUs ?? 0);
/** depths past this are shown at this depth (a chain can be 100,000 deep) */
const MAX_DEPTH = 8;

/**
 * For each of `steps` (same index): its root and up to `n - 1` other processes with the most CPU time,
 * in start order. Linear in the processes plus n per step; keeps references, copies no process.
 */
export function heaviestByStep(procs: StepProcess[], steps: Step[], n = 6): StepTop[] {
  // only the processes of these steps are indexed (the report shows the first MAX_TREE_STEPS steps)
  const wanted = new Set<number>();
  for (const s of steps) for (const id of s.processIds) wanted.add(id);
  const byId = new Map<number, StepProcess>();
  for (const p of procs) if (wanted.has(p.id)) byId.set(p.id, p);
  wanted.clear();
  return steps.map((s) => {
    const root = byId.get(s.rootId);
    const top: StepProcess[] = [];
    for (const id of s.processIds) {
      const p = byId.get(id);
      if (!p || p === root) continue;
      if (top.length < n - 1) top.push(p);
      else if (cpu(p) > cpu(top[top.length - 1]!)) top[top.length - 1] = p;
      else continue;
      top.sort((a, b) => cpu(b) - cpu(a));
    }
    const shown = [...(root ? [root] : []), ...top].sort(
      (a, b) => (a.startedAt ?? 0) - (b.startedAt ?? 0) || a.id - b.id,
    );
    const depth = shown.map((p) => {
      let d = 0;
      for (let q = p; q.id !== s.rootId && q.parentId !== null && d < MAX_DEPTH; d++) {
        const up = byId.get(q.parentId);
        if (!up) break;
        q = up;
      }
      return d;
    });
    return { processes: shown, depth, more: s.processIds.length - shown.length };
  });
}
