/**
 * The read side for reports that keep no process object: a run's processes handed over one row at a
 * time (a page of rows is garbage once handed on), each with its argv's stored text.
 */
import type { Database } from "bun:sqlite";
import { gcAndSweep } from "bun:jsc";
import { youngCollector } from "../core/young.ts";
import { REPORT_COLUMNS, type ReportProcessRow, fromExact } from "./processes.ts";

/** rows read per query: one native call for many rows, while a page's raw JSON stays a few MB */
const PAGE = 10_000;
/** How many processes a run has (the run's index: no row read). */
export const countProcesses = (db: Database, runId: string): number =>
  (db.query("SELECT count(*) AS n FROM processes WHERE run_id = ?").get(runId) as { n: number }).n;

/**
 * Each process of a run, in row id order (not start order: the caller orders what it keeps), to
 * `each` with `argvText`: its argv as stored, JSON.stringify's text of the array (src/store/processes.ts;
 * one text per argv, so the same text is the same command line), null for none. A repeated command
 * line (the previous row's) is the same argv array. Returns how many rows were read.
 */
export function eachReportRow(
  db: Database,
  runId: string,
  each: (row: ReportProcessRow, argvText: string | null) => void,
): number {
  const page = db.query(
    `SELECT ${REPORT_COLUMNS} FROM processes WHERE run_id = ? AND id > ? ORDER BY id LIMIT ${PAGE}`,
  );
  const tick = youngCollector(1);
  // a run repeats its comm and cwd values: one copy of each (bounded), not one per row
  const shared = new Map<string, string>();
  const one = (raw: string | Uint8Array | null) => {
    // a BLOB holds bytes that are not UTF-8 (src/store/processes.ts exactText)
    const v = fromExact(raw);
    if (v === null) return v;
    const known = shared.get(v);
    if (known !== undefined) return known;
    if (shared.size < 4096) shared.set(v, v);
    return v;
  };
  let lastRaw: string | null = null;
  let lastArgv: string[] | null = null;
  let read = 0;
  // one page, in a call of its own: once it returns, nothing on the stack holds the page's rows, so
  // the young collection after it frees them instead of promoting them to the old generation
  const readPage = (after: number): { rows: number; last: number } => {
    const rows = page.all(runId, after) as (Omit<ReportProcessRow, "comm" | "cwd" | "argv" | "oomKilled"> & {
      comm: string | Uint8Array | null;
      cwd: string | Uint8Array | null;
      argv: string | null | string[];
      oomKilled: number | boolean;
    })[];
    for (const r of rows) {
      r.comm = one(r.comm);
      r.cwd = one(r.cwd);
      let raw = r.argv as string | null;
      if (!raw) raw = r.argv = null;
      else if (raw === lastRaw) {
        raw = lastRaw;
        r.argv = lastArgv;
      } else {
        lastRaw = raw;
        lastArgv = r.argv = JSON.parse(raw) as string[];
      }
      r.oomKilled = r.oomKilled === 1;
      each(r as ReportProcessRow, raw);
    }
    return { rows: rows.length, last: rows.length ? rows[rows.length - 1]!.id : after };
  };
  for (let after = Number.MIN_SAFE_INTEGER; ; ) {
    const got = readPage(after);
    read += got.rows;
    if (got.rows < PAGE) break;
    after = got.last;
    tick();
  }
  // then, past one page, one full collection: what the young ones promoted (a page's rows reach the
  // old generation when a collection comes while the page is read) is freed, and what the caller
  // makes next (the steps) reuses that memory instead of growing the heap (100,000 processes, json:
  // peak RSS 139 → 126 MB with it)
  if (read >= PAGE) gcAndSweep();
  return read;
}
