/**
 * A run's steps against its pipeline's history: for each step key, the min–max of wall, CPU and peak
 * RSS over up to `last` earlier finished runs of the same pipeline (the HTML report's cross-run view).
 */
import type { Database } from "bun:sqlite";
import { loadReport } from "../report/index.ts";
import type { Report, StepRange } from "../report/types.ts";
import type { RuleSet } from "../rules/index.ts";
import { pipelineRuns } from "../store/index.ts";

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
  for (const r of earlier) addRanges(steps, loadReport(db, r.id, rules));
  return { runs: earlier.length, steps };
}
