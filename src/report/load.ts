/**
 * Read what a report needs from the store (D1's schema, src/store/_migrations.ts): the run, its
 * processes, RSS samples and system metrics. Read-only queries; the store owns every write. The
 * processes are read once, row by row, into columns (src/steps/_columns.ts): no object per process.
 */
import type { Database } from "bun:sqlite";
import type { RuleSet } from "../rules/index.ts";
import { ColumnsBuilder, type StepColumns, groupColumns } from "../steps/index.ts";
import type { RssSamples } from "../steps/index.ts";
import { findRun } from "../store/index.ts";
import { eachReportRow } from "../store/scan.ts";
import { mark } from "../core/timing.ts";
import { buildReport } from "./build.ts";
import type { Report, SystemPoint } from "./types.ts";

/**
 * The run's RSS samples (what its steps' peaks are made of; src/top/watch.ts reads them so too). A
 * run's process row ids are about contiguous: its samples are then read as
 * the samples index's range of those ids, each checked against its process's row (a 100,000-process run:
 * 10,000 samples ~11 ms; the index probed once per process, ~40 ms). Ids spread among other runs'
 * (a daemon's long run): probed per process.
 */
export function rssSamples(db: Database, runId: string, ids: Float64Array): RssSamples {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const id of ids) {
    if (id < lo) lo = id;
    if (id > hi) hi = id;
  }
  if (!ids.length) return new Map();
  const range = hi - lo < 4 * ids.length;
  const rows = (
    range
      ? db
          .query(
            `SELECT s.process_id AS id, s.at, s.rss_kb AS rssKb FROM samples s CROSS JOIN processes p ON p.id = s.process_id
             WHERE s.process_id BETWEEN ? AND ? AND p.run_id = ? AND s.rss_kb IS NOT NULL ORDER BY s.at, s.process_id`,
          )
          .all(lo, hi, runId)
      : db
          .query(
            `SELECT s.process_id AS id, s.at, s.rss_kb AS rssKb FROM samples s JOIN processes p ON p.id = s.process_id
             WHERE p.run_id = ? AND s.rss_kb IS NOT NULL ORDER BY s.at, s.process_id`,
          )
          .all(runId)
  ) as { id: number; at: number; rssKb: number }[];
  const out: RssSamples = new Map();
  for (const r of rows) {
    const list = out.get(r.id) ?? [];
    if (!list.length) out.set(r.id, list);
    list.push({ at: r.at, rssKb: r.rssKb });
  }
  return out;
}

function systemPoints(db: Database, runId: string): SystemPoint[] {
  return db
    .query(
      `SELECT at, cpu_pct AS cpuPct, mem_used_kb AS memUsedKb, mem_total_kb AS memTotalKb FROM system_metrics
       WHERE run_id = ? ORDER BY at`,
    )
    .all(runId) as SystemPoint[];
}

/**
 * A run's processes as columns, classified by `rules`, in start order (as listReportProcesses orders
 * them); `count`: how many it has (the run row's, findRun: the columns are made that size at once).
 */
export function runColumns(db: Database, runId: string, rules: RuleSet, count: number): StepColumns {
  const b = new ColumnsBuilder(rules, count);
  eachReportRow(db, runId, (row, argvText) => b.add(row, argvText));
  return b.finish(true);
}

/** A run's report and the processes it was built from, as columns (the table lists them). */
export function loadRun(
  db: Database,
  ref: string | undefined,
  rules: RuleSet,
  pricePerHour?: number,
  detail = false,
): { report: Report; processes: StepColumns } {
  const run = findRun(db, ref);
  mark("report: run found");
  const processes = runColumns(db, run.id, rules, run.processes);
  mark("report: processes read");
  const samples = rssSamples(db, run.id, processes.id);
  mark("report: samples read");
  const steps = groupColumns(processes, samples);
  mark("report: steps grouped");
  const report = buildReport(
    {
      run,
      processes,
      steps,
      samples,
      system: systemPoints(db, run.id),
      pricePerHour,
    },
    detail,
  );
  mark("report: built");
  return { report, processes };
}

export const loadReport = (
  db: Database,
  ref: string | undefined,
  rules: RuleSet,
  pricePerHour?: number,
  detail = false,
): Report => loadRun(db, ref, rules, pricePerHour, detail).report;
