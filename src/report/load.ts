/**
 * Read what a report needs from the store (D1's schema, src/store/_migrations.ts): the run, its
 * processes, RSS samples and system metrics. Read-only queries; the store owns every write. The
 * processes are read once, row by row, into columns (src/steps/_columns.ts): no object per process.
 */
import type { Database } from "bun:sqlite";
import type { RuleSet } from "../rules/index.ts";
import {
  ColumnsBuilder,
  type SampleScan,
  type SampleSource,
  type StepColumns,
  groupColumns,
  sampleSteps,
} from "../steps/index.ts";
import { findRun } from "../store/index.ts";
import { argvTextById, eachReportRow } from "../store/scan.ts";
import { mark } from "../core/timing.ts";
import { MAX_MEMORY_POINTS, buildReport } from "./build.ts";
import type { Report, SystemPoint } from "./types.ts";

/**
 * The run's RSS samples as a source for one pass (src/steps/_sampled.ts): `stored` reads the rows the
 * run's samples lie among in the order they were written (the sampler writes instant after instant:
 * time order, no sort), skipping other runs' rows among them; `sorted` sorts them by instant, for a
 * store whose rows are not in time order. Nothing is held: 4 million samples read in ~0.5 s and
 * ~50 MB (as objects: 7.6 s and 488 MB, issue 15). `ids`: the run's process row ids.
 */
export function runSamples(db: Database, runId: string, ids: Float64Array): SampleSource {
  if (!ids.length) return { stored: () => {} };
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const id of ids) {
    if (id < lo) lo = id;
    if (id > hi) hi = id;
  }
  // A run's process row ids are about contiguous: its samples are those of the index's range of
  // them (other runs' rows among them are told apart by id); spread among other runs' (a daemon's long
  // run), those of its processes' rows
  const range = hi - lo < 4 * ids.length;
  const mine = range
    ? "FROM samples s WHERE s.process_id BETWEEN ?1 AND ?2"
    : "FROM processes p JOIN samples s ON s.process_id = p.id WHERE p.run_id = ?1";
  const args = range ? [lo, hi] : [runId];
  const span = db
    .query(`SELECT min(s.rowid) AS a, max(s.rowid) AS b, count(*) AS n ${mine}`)
    .get(...args) as {
    a: number | null;
    b: number | null;
    n: number;
  };
  if (span.a === null || span.b === null) return { stored: () => {} };
  const { a, b, n } = span;
  type Row = { id: number; at: number; kb: number };
  const each = (rows: Iterable<Row>, f: (id: number, at: number, kb: number) => boolean) => {
    for (const r of rows) if (!f(r.id, r.at, r.kb)) return;
  };
  const scan =
    (sql: string, ...params: (string | number)[]): SampleScan =>
    (f) =>
      each(db.query(sql).iterate(...params) as Iterable<Row>, f);
  const cols = "SELECT s.process_id AS id, s.at, s.rss_kb AS kb";
  // its rows sorted by instant: what SQLite sorts is the run's own samples
  const sorted = scan(`${cols} ${mine} AND s.rss_kb IS NOT NULL ORDER BY s.at`, ...args);
  // the rows between its first and last are mostly other runs' (a daemon's run of days beside many
  // runs): reading them all would cost what the store holds, not what the run does
  if (b - a + 1 > 4 * n + 4096) return { stored: sorted };
  return {
    // (rows of processes outside the run's id range skipped by SQLite; those inside it, by id)
    stored: range
      ? scan(
          `${cols} FROM samples s WHERE s.rowid BETWEEN ? AND ? AND s.process_id BETWEEN ? AND ? AND s.rss_kb IS NOT NULL`,
          a,
          b,
          lo,
          hi,
        )
      : scan(`${cols} FROM samples s WHERE s.rowid BETWEEN ? AND ? AND s.rss_kb IS NOT NULL`, a, b),
    sorted,
  };
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
 * Each argv text is kept as a head (ColumnsBuilder's `whole`): a long one is read again from the store
 * for the processes a report names or prints, not held for every process.
 */
export function runColumns(db: Database, runId: string, rules: RuleSet, count: number): StepColumns {
  const b = new ColumnsBuilder(rules, count, argvTextById(db, runId));
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
  const steps = groupColumns(processes);
  mark("report: steps grouped");
  // the memory plot's points only for the HTML report (`detail`)
  const sampled = sampleSteps(
    steps,
    processes.id,
    runSamples(db, run.id, processes.id),
    detail ? MAX_MEMORY_POINTS : 0,
  );
  mark("report: samples read");
  const report = buildReport(
    {
      run,
      processes,
      steps,
      sampled,
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
