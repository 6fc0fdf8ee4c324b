/**
 * Reports of many runs, one at a time: a run's steps against its pipeline's history (for each step key,
 * the min–max of wall, CPU and peak RSS over up to `last` earlier finished runs of the same pipeline:
 * the HTML report's cross-run view), `tracer advise`'s fold over a pipeline's last runs, and `tracer
 * diff`'s two sides (src/insight/diff.ts runSide). Each run's
 * report is built, folded into what is kept, and collected before the next is loaded: memory is one
 * report and the figures kept, whatever the number of runs (10 runs of 100,000 processes held at once
 * were 513 MB for `advise`).
 */
import type { Database } from "bun:sqlite";
import { loadReport } from "../report/index.ts";
import type { Report, StepRange } from "../report/types.ts";
import type { RuleSet } from "../rules/index.ts";
import { type RunRow, pipelineRuns } from "../store/index.ts";
import type { Adviser } from "./advise.ts";

/**
 * processes from which a folded report is collected before the next is loaded: its memory is then
 * reused by the next instead of the heap growing by it (advise of 10 × 100,000 processes: 228 → 168
 * MB; ~20 ms each, what a small run's report would only pay)
 */
const COLLECT_FROM = 10_000;

/** Each run's report, in the order given, to `each`; nothing of it kept here. */
export function eachReport(
  db: Database,
  runs: readonly RunRow[],
  rules: RuleSet,
  each: (r: Report) => void,
): void {
  // the report made and handed over in a call of its own: once it returns no frame holds it, and the
  // collection after it frees the report (JavaScriptCore scans the stack conservatively)
  const one = (id: string) => each(loadReport(db, id, rules));
  for (const run of runs) {
    one(run.id);
    if (run.processes >= COLLECT_FROM) Bun.gc(true);
  }
}

/** `runs` (newest first) folded into `adviser`, one report at a time; its advice. */
export function adviseRuns(db: Database, adviser: Adviser, runs: readonly RunRow[], rules: RuleSet) {
  eachReport(db, runs, rules, (r) => adviser.add(r));
  return adviser.finish();
}

const widen = (r: { min: number; max: number } | null, v: number) =>
  r === null ? { min: v, max: v } : { min: Math.min(r.min, v), max: Math.max(r.max, v) };

/** Widen `out` (ranges by step key) by one earlier report's steps. */
export function addRanges(out: Map<string, StepRange>, r: Report): void {
  for (const s of r.steps) {
    const cur = out.get(s.key);
    out.set(s.key, {
      runs: (cur?.runs ?? 0) + 1,
      wallMs: s.durationMs === null ? (cur?.wallMs ?? null) : widen(cur?.wallMs ?? null, s.durationMs),
      cpuUs: widen(cur?.cpuUs ?? null, s.cpuUs),
      peakRssKb: widen(cur?.peakRssKb ?? null, s.peakRssKb),
    });
  }
}

/** The history of `report`'s pipeline before it: up to `last` earlier finished runs. */
export function pipelineHistory(db: Database, report: Report, rules: RuleSet, last = 10): Report["history"] {
  const earlier = pipelineRuns(db, report.run.pipeline, last, {
    before: report.run.startedAt,
    except: report.run.id,
  });
  if (!earlier.length) return undefined;
  // one earlier run's report at a time (each can hold 100,000 processes' steps): folded, then garbage
  const steps = new Map<string, StepRange>();
  eachReport(db, earlier, rules, (r) => addRanges(steps, r));
  return { runs: earlier.length, steps };
}
