/**
 * The read side of process rows: a run's processes as a list in start order, or handed over one row
 * at a time (a page of rows is garbage once handed on) with each one's argv as stored, for reports
 * that keep no process object.
 */
import type { Database } from "bun:sqlite";
import { gcAndSweep } from "bun:jsc";
import { dfgOnly } from "../core/jit-tier.ts";
import { youngCollector } from "../core/young.ts";
import { type ProcessRow, type ReportProcessRow, fromExact } from "./processes.ts";

/** Every process of a run in start order (an unknown start first, then row id). One pass over the rows, one object per row. */
export function listProcesses(db: Database, runId: string): ProcessRow[] {
  return readProcesses(db, runId, ALL_COLUMNS) as ProcessRow[];
}

/** listProcesses without the columns no report reads: less memory per process on a 100,000-process run. */
export function listReportProcesses(db: Database, runId: string): ReportProcessRow[] {
  return readProcesses(db, runId, REPORT_COLUMNS) as ReportProcessRow[];
}

export const REPORT_COLUMNS = `id, pid, parent_id AS parentId, comm, argv, cwd, started_at AS startedAt, ended_at AS endedAt,
  duration_us AS durationUs, exit_code AS exitCode, signal, oom_killed AS oomKilled, user_us AS userUs,
  system_us AS systemUs, peak_rss_kb AS peakRssKb, rchar, wchar, read_bytes AS readBytes, write_bytes AS writeBytes,
  oom_limit_kb AS oomLimitKb, exec_at AS execAt, exec_cpu_us AS execCpuUs, prior_argv AS priorArgv, prior_argv_bytes AS priorArgvBytes, exec_peak_rss_kb AS execPeakRssKb, argv_bytes AS argvBytes, argv_truncated AS argvTruncated, figures`;
const ALL_COLUMNS = `${REPORT_COLUMNS}, start_ticks AS startTicks, ppid, core_dumped AS coreDumped`;

/** rows read per query: one native call for many rows, while a page's raw JSON stays a few MB */
export const PAGE_ROWS = 10_000;
/**
 * argv characters a page holds about at most: a page of long command lines has fewer rows (10,000 rows
 * of 2 KB argv are 20 MB of JSON and as much again parsed, alive together), never fewer than PAGE_MIN
 */
const PAGE_CHARS = 4 << 20;
const PAGE_MIN = 64;
/** the first page's rows: the run's command lines not yet seen (10,000 of 64 KiB would be 640 MB) */
const FIRST_PAGE = 256;
/**
 * argv characters read between two full collections (none for a run of short command lines: 100,000
 * of ~30 characters are 3 M). A young collection after each page does not free what a collection in
 * the middle of a page promoted, and long command lines promote much: 100,000 processes of 2 KB argv
 * grew the report's peak RSS by ~60 MB before the last page; with a full collection every 16 Mi
 * characters it stayed at the live size, no slower (2 Dec 2026)
 */
const SWEEP_CHARS = 16 << 20;

/**
 * Each process row of a run selected with `columns` (which include id, comm, cwd, argv and
 * oomKilled), in row id order, to `each` with `argvText`: its argv as stored, JSON.stringify's text
 * of the array (one text per argv, so the same text is the same command line), null for none. A
 * page of rows at a time after the last row id read (the index's range): faster than a row at a time
 * through an iterator, and unlike all rows at once (100,000 rows: 22 MB more peak RSS) each page's
 * JSON argv strings are garbage before the next page is read; a page after one of long command lines
 * has fewer rows (PAGE_CHARS). `byStart`: in start order instead (SQLite's ORDER BY started_at, id),
 * each page the rows of the next ids in that order (only the ids are sorted and held). Returns how
 * many rows were read.
 */
export function eachProcessRow<R extends Partial<ProcessRow> = Partial<ProcessRow>>(
  db: Database,
  runId: string,
  columns: string,
  each: (row: R, argvText: string | null) => void,
  byStart = false,
): number {
  const byId = db.query(`SELECT ${columns} FROM processes WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?`);
  const starts = byStart ? idsByStart(db, runId) : undefined;
  const these = db.query(`SELECT ${columns} FROM processes WHERE id IN (SELECT value FROM json_each(?))`);
  /** the next `limit` rows after row id `after`, or after the first `read` ids in start order */
  const page = (after: number, read: number, limit: number) => {
    if (!starts) return byId.all(runId, after, limit) as { id: number }[];
    const ids = starts.subarray(read, read + limit);
    const at = new Map<number, number>();
    for (let k = 0; k < ids.length; k++) at.set(ids[k]!, k);
    const rows = these.all(JSON.stringify(Array.from(ids))) as { id: number }[];
    return rows.sort((a, b) => at.get(a.id)! - at.get(b.id)!);
  };
  // a page leaves little garbage (its JSON argv, comm and cwd copies): a young collection after each,
  // a full one after SWEEP_CHARS of command lines
  const tick = youngCollector(1);
  let unswept = 0;
  // a run repeats its comm and cwd values: one copy of each (bounded), not one per row
  const shared = new Map<string, string>();
  const one = (raw: string | Uint8Array | null) => {
    // a BLOB holds bytes that are not UTF-8 (./processes.ts exactText)
    const v = fromExact(raw);
    if (v === null) return v;
    const known = shared.get(v);
    if (known !== undefined) return known;
    if (shared.size < 4096) shared.set(v, v);
    return v;
  };
  // a row whose command line is the previous row's (a loop of /bin/true, a fork that did not exec)
  // shares its argv array: one JSON.parse and one array for a run of them (argv is never mutated)
  let lastRaw: string | null = null;
  let lastArgv: string[] | null = null;
  // one page, in a call of its own: once it returns, nothing on the stack holds the page's rows, so
  // the young collection after it frees them instead of promoting them to the old generation
  const readPage = (
    after: number,
    read: number,
    limit: number,
  ): { rows: number; last: number; chars: number } => {
    const rows = page(after, read, limit) as {
      id: number;
      comm: string | Uint8Array | null;
      cwd: string | Uint8Array | null;
      argv: string | null | string[];
      priorArgv?: string | null | string[];
      coreDumped?: number | boolean;
      argvTruncated?: number | boolean;
      oomKilled: number | boolean;
    }[];
    let chars = 0;
    for (const r of rows) {
      r.comm = one(r.comm);
      r.cwd = one(r.cwd);
      const raw = (r.argv as string | null) || null;
      if (raw !== null) chars += raw.length;
      if (raw === null) r.argv = null;
      else if (raw === lastRaw) r.argv = lastArgv;
      else {
        lastRaw = raw;
        lastArgv = r.argv = JSON.parse(raw) as string[];
      }
      // rare (a shell that exec'd its last command): parsed where present
      if (typeof r.priorArgv === "string") r.priorArgv = JSON.parse(r.priorArgv) as string[];
      if (r.coreDumped !== undefined) r.coreDumped = r.coreDumped === 1;
      if (r.argvTruncated !== undefined) r.argvTruncated = r.argvTruncated === 1;
      r.oomKilled = r.oomKilled === 1;
      each(r as unknown as R, raw);
    }
    return { rows: rows.length, last: rows.length ? rows[rows.length - 1]!.id : after, chars };
  };
  // each called once per row (src/core/jit-tier.ts)
  dfgOnly(one, page, readPage, each);
  let read = 0;
  for (let after = Number.MIN_SAFE_INTEGER, limit = FIRST_PAGE; ; ) {
    const got = readPage(after, read, limit);
    read += got.rows;
    if (got.rows < limit) break;
    after = got.last;
    // the next page's rows by this one's argv length (a run's command lines tend to be alike)
    limit = Math.max(
      PAGE_MIN,
      Math.min(PAGE_ROWS, Math.floor((PAGE_CHARS * got.rows) / Math.max(1, got.chars))),
    );
    unswept += got.chars;
    if (unswept < SWEEP_CHARS) tick();
    else {
      unswept = 0;
      gcAndSweep();
    }
  }
  return read;
}

/** A run's row ids in start order (SQLite's ORDER BY started_at, id: an unknown start first). */
function idsByStart(db: Database, runId: string): Float64Array {
  const rows = db
    .query("SELECT id FROM processes WHERE run_id = ? ORDER BY started_at, id")
    .values(runId) as [number][];
  const ids = new Float64Array(rows.length);
  for (let k = 0; k < rows.length; k++) ids[k] = rows[k]![0];
  return ids;
}

/**
 * Whether a run's rows in row id order are in start order (byStart): then listProcesses's list is
 * its rows as read, and eachProcess hands them over in that order. Reads two columns of each row.
 */
export function inStartOrder(db: Database, runId: string): boolean {
  const rows = db
    .query("SELECT id, started_at FROM processes WHERE run_id = ? ORDER BY id")
    .values(runId) as [number, number | null][];
  for (let i = 1; i < rows.length; i++) {
    const [a, x] = rows[i - 1]!;
    const [b, y] = rows[i]!;
    if (x === y ? a > b : x !== null && (y === null || x > y)) return false;
  }
  return true;
}

/**
 * Every process of a run as listProcesses gives each (the same row), in row id order, to `each`, a
 * page at a time: nothing kept. In listProcesses's order when inStartOrder, or when `byStart`. Returns how many.
 */
export const eachProcess = (
  db: Database,
  runId: string,
  each: (row: ProcessRow, argvText: string | null) => void,
  byStart = false,
): number => eachProcessRow<ProcessRow>(db, runId, ALL_COLUMNS, each, byStart);

function readProcesses(db: Database, runId: string, columns: string): Partial<ProcessRow>[] {
  // in row id order (the run's index gives it, no sort of every column in SQLite's temp b-tree), then
  // put in start order here: rows are written about in start order, so most runs need no sort
  const out: Partial<ProcessRow>[] = [];
  eachProcessRow(db, runId, columns, (r) => out.push(r));
  for (let i = 1; i < out.length; i++)
    if (byStart(out[i - 1]!, out[i]!) > 0) {
      out.sort(byStart);
      break;
    }
  return out;
}

/** SQLite's ORDER BY started_at, id: an unknown start (NULL) first, then by start, then by row id */
function byStart(a: Partial<ProcessRow>, b: Partial<ProcessRow>): number {
  const x = a.startedAt ?? null;
  const y = b.startedAt ?? null;
  if (x !== y) {
    if (x === null) return -1;
    if (y === null) return 1;
    return x - y;
  }
  return a.id! - b.id!;
}

/**
 * REPORT_COLUMNS with a row's cwd only where its argv holds ".command.run": the one thing a report
 * reads a cwd for is a Nextflow task's work dir (src/steps/_columns.ts, from such an argument), and
 * most rows' cwd would be a string made for nothing (SQLite's instr on the stored JSON text answers as
 * the text's own includes does).
 */
const REPORT_ROW_COLUMNS = REPORT_COLUMNS.replace(
  "cwd,",
  "CASE WHEN instr(argv, '.command.run') > 0 THEN cwd END AS cwd,",
);

/**
 * Each process of a run, in row id order (not start order: the caller orders what it keeps), to
 * `each` with `argvText` (see eachProcessRow); its cwd is null unless its argv holds ".command.run"
 * (REPORT_ROW_COLUMNS). Returns how many rows were read.
 */
export function eachReportRow(
  db: Database,
  runId: string,
  each: (row: ReportProcessRow, argvText: string | null) => void,
): number {
  const read = eachProcessRow<ReportProcessRow>(db, runId, REPORT_ROW_COLUMNS, each);
  // then, past one page, one full collection: what the young ones promoted (a page's rows reach the
  // old generation when a collection comes while the page is read) is freed, and what the caller
  // makes next (the steps) reuses that memory instead of growing the heap (100,000 processes, json:
  // peak RSS 139 → 126 MB with it)
  if (read >= PAGE_ROWS) gcAndSweep();
  return read;
}

/**
 * A reader of one process row's argv as stored (JSON.stringify's text; null: none, or no such row in
 * run `runId`), by row id: what a report keeping only a head of each (src/steps/_columns.ts) reads
 * again for the processes it names or prints. One indexed lookup each. Only the run's own rows: a run
 * pruned while reported frees its ids for another run's rows, whose command lines must never show as
 * its processes' (an attack). A caller that reads a run still being recorded holds one read
 * transaction over the rows and these reads (`tracer report`).
 */
export function argvTextById(db: Database, runId: string): (id: number) => string | null {
  const q = db.query("SELECT argv FROM processes WHERE id = ? AND run_id = ?");
  return (id) => ((q.get(id, runId) as { argv: string | null } | null)?.argv ?? null) || null;
}
