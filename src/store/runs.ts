/** Run-level rows: create, finish, list, find. */
import type { Database } from "bun:sqlite";
import { sanitize } from "../core/sanitize.ts";
import { Exit, TracerError } from "../errors.ts";
import { exactText, fromExact } from "./processes.ts";
import { plural } from "../core/plural.ts";
import { readFileSync } from "../../ffi/fs.ts";
import { readStat } from "../observe/procfs.ts";

export interface NewRun {
  id: string;
  name: string;
  pipeline: string;
  command: string[];
  cwd: string;
  host: string;
  mode: string;
  recorderPid: number;
  startedAt: number;
  /** why stronger capture modes were not used ("source: why", OpenedSources.skipped); empty: none */
  captureSkipped?: string[];
}

export interface RunRow extends NewRun {
  endedAt: number | null;
  exitCode: number | null;
  signal: number | null;
  eventsLost: number;
  /** events lost by reason (ENOBUFS, seq-gap, ...) */
  lossReasons?: Record<string, number>;
  /** processes known only from their taskstats figures (their connector events were lost) */
  recovered?: number;
  /** processes that exec'd but are recorded without argv (they ended before it could be read) */
  argvLost?: number;
  /**
   * running | done | failed | aborted (tracer was asked to stop, `stopSignal`, and CMD did not exit 0) |
   * interrupted (the recorder died before finishing the run)
   */
  status: string;
  /** the first SIGHUP, SIGINT, SIGQUIT or SIGTERM tracer got and passed on before CMD ended; null none */
  stopSignal?: number | null;
  /** who the recorder was beyond its pid ("BOOT_ID:START_TICKS", processStart); null: not kept */
  recorderStart?: string | null;
  processes: number;
}

/**
 * The run's row. With `end`, the row of a run that has already ended (one INSERT, where createRun then
 * finishRun take two statements: `tracer run` of a CMD that ended before the run row was due).
 */
export function createRun(db: Database, r: NewRun, end?: RunEnd): void {
  const values = [
    r.id,
    r.name,
    r.pipeline,
    JSON.stringify(r.command),
    exactText(r.cwd), // a BLOB of its bytes when they are not all UTF-8 (the argv JSON escapes them)
    r.host,
    r.recorderPid,
    // who the recorder is, when it is this process (tracer run, the daemon): recorderAlive
    r.recorderPid === process.pid ? (processStart(process.pid) ?? null) : null,
    r.startedAt,
    r.captureSkipped?.length ? JSON.stringify(r.captureSkipped) : null,
  ];
  if (!end) {
    db.query(
      `INSERT INTO runs (id, name, pipeline, command, cwd, host, recorder_pid, recorder_start, started_at,
         capture_skipped, mode)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(...values, r.mode);
    return;
  }
  db.query(
    `INSERT INTO runs (id, name, pipeline, command, cwd, host, recorder_pid, recorder_start, started_at,
       capture_skipped, ended_at, exit_code, signal, events_lost, loss_reasons, recovered, argv_lost, mode,
       stop_signal, status)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(...values, ...endValues(end));
}

export interface RunEnd {
  endedAt: number;
  exitCode?: number;
  signal?: number;
  eventsLost: number;
  lossReasons?: Record<string, number>;
  recovered?: number;
  argvLost?: number;
  mode: string;
  /** the run was asked to stop with this signal before CMD ended (ChildEnd.stopSignal) */
  stopSignal?: number;
}

/**
 * ended_at, exit_code, signal, events_lost, loss_reasons, recovered, argv_lost, mode, stop_signal, status.
 * A CMD that exits 0 is done even when asked to stop (it finished its work); otherwise a stop request makes
 * the run aborted rather than failed.
 */
function endValues(e: RunEnd) {
  const ok = e.exitCode === 0 && e.signal === undefined;
  return [
    e.endedAt,
    e.exitCode ?? null,
    e.signal ?? null,
    e.eventsLost,
    JSON.stringify(e.lossReasons ?? {}),
    e.recovered ?? 0,
    e.argvLost ?? 0,
    e.mode,
    e.stopSignal ?? null,
    ok ? "done" : e.stopSignal ? "aborted" : "failed",
  ] as const;
}

export function finishRun(db: Database, id: string, e: RunEnd): void {
  db.query(
    `UPDATE runs SET ended_at = ?, exit_code = ?, signal = ?, events_lost = ?, loss_reasons = ?, recovered = ?,
     argv_lost = ?, mode = ?, stop_signal = ?, status = ? WHERE id = ?`,
  ).run(...endValues(e), id);
}

/**
 * Is the run's recorder still alive: process `pid`, and (when the run kept it: `recorderStart`, its boot
 * and start as processStart gave them) the very process that wrote the run, not one given its pid
 * since? By pid alone a killed recorder's run stayed "running" for good once its pid was taken again (a
 * container's init, pid 1, with the store on a volume): never removable, followed by `top` (an attack,
 * 2 Dec 2026). Where /proc does not show the process (another pid namespace's store), its pid decides.
 */
export function recorderAlive(pid: number, recorderStart: string | null | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as { code?: string }).code !== "EPERM") return false;
  }
  if (!recorderStart) return true;
  const now = processStart(pid);
  return now === undefined || now === recorderStart;
}

let bootId: string | undefined;

/**
 * Who process `pid` is, across pid reuse and reboots: "BOOT_ID:START" (/proc/sys/kernel/random/boot_id,
 * /proc/PID/stat field 22, clock ticks since boot); undefined where /proc does not show it.
 */
export function processStart(pid: number): string | undefined {
  if (process.platform !== "linux") return undefined;
  try {
    bootId ??= readFileSync("/proc/sys/kernel/random/boot_id", "latin1").trim();
  } catch {
    return undefined;
  }
  const ticks = readStat(pid)?.startTicks;
  return bootId && ticks !== undefined ? `${bootId}:${ticks}` : undefined;
}

type RawRun = Omit<RunRow, "command" | "lossReasons" | "cwd" | "captureSkipped"> & {
  command: string;
  lossReasons: string;
  cwd: string | Uint8Array;
  captureSkipped: string | null;
};
const SELECT = `SELECT r.id, r.name, r.pipeline, r.command, r.cwd, r.host, r.mode, r.recorder_pid AS recorderPid,
  r.started_at AS startedAt, r.ended_at AS endedAt, r.exit_code AS exitCode, r.signal, r.events_lost AS eventsLost,
  r.loss_reasons AS lossReasons, r.recovered, r.argv_lost AS argvLost, r.stop_signal AS stopSignal,
  r.status, r.recorder_start AS recorderStart, r.capture_skipped AS captureSkipped,
  (SELECT count(*) FROM processes p WHERE p.run_id = r.id) AS processes FROM runs r`;

const decode = (r: RawRun): RunRow => ({
  ...r,
  command: JSON.parse(r.command) as string[],
  cwd: fromExact(r.cwd) ?? "",
  lossReasons: JSON.parse(r.lossReasons) as Record<string, number>,
  captureSkipped: r.captureSkipped === null ? [] : (JSON.parse(r.captureSkipped) as string[]),
  status:
    r.status === "running" && r.endedAt === null && !recorderAlive(r.recorderPid, r.recorderStart)
      ? "interrupted"
      : r.status,
});

/** How many runs the store holds. */
export const countRuns = (db: Database): number =>
  (db.query("SELECT count(*) AS n FROM runs").get() as { n: number }).n;

/**
 * A pipeline's finished runs, newest first, at most `limit`: those started before `before` (epoch ms;
 * `except` left out) when given, and with `recorded` only those with a process row. Reads only that
 * pipeline's runs (index runs_pipeline), whatever else the store holds.
 */
export function pipelineRuns(
  db: Database,
  pipeline: string,
  limit: number,
  o: { before?: number; except?: string; recorded?: boolean } = {},
): RunRow[] {
  const where = [
    "r.pipeline = ?1",
    "r.ended_at IS NOT NULL",
    ...(o.before === undefined ? [] : ["r.started_at < ?2"]),
    ...(o.except === undefined ? [] : ["r.id != ?3"]),
    ...(o.recorded ? ["EXISTS (SELECT 1 FROM processes q WHERE q.run_id = r.id)"] : []),
  ].join(" AND ");
  return (
    db
      .query(`${SELECT} WHERE ${where} ORDER BY r.started_at DESC LIMIT ?4`)
      .all(pipeline, o.before ?? null, o.except ?? null, limit) as RawRun[]
  ).map(decode);
}

/** The newest `limit` runs (-1: all), newest first. */
export function listRuns(db: Database, limit = 50): RunRow[] {
  return (db.query(`${SELECT} ORDER BY r.started_at DESC LIMIT ?`).all(limit) as RawRun[]).map(decode);
}

/**
 * An automatic run name, unique in practice: the UTC start to the second (readable, sortable) and 6
 * random hex digits from the run id (a UUIDv7's random tail), e.g. `run-20261129T133620-4f2a9c`.
 */
export const autoRunName = (id: string, d = new Date()) => {
  // string slicing, not regexes: a regex's first use costs ~0.05 ms of `tracer run`'s start (issue 15)
  const iso = d.toISOString(); // 2026-11-29T13:36:20.123Z (years 0–9999)
  const hex = id.split("-").join("");
  return `run-${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}-${hex.slice(-6)}`;
};

/** A run that is still being recorded (its recorder is alive): never removed, never pruned. */
export const isActive = (r: Pick<RunRow, "status">) => r.status === "running";

/** The runs being recorded now (their recorder is alive). */
export const activeRuns = (db: Database): RunRow[] =>
  (db.query(`${SELECT} WHERE r.status = 'running' AND r.ended_at IS NULL`).all() as RawRun[])
    .map(decode)
    .filter(isActive);

/** At most this many candidates are listed when a reference is ambiguous. */
const MAX_CANDIDATES = 10;

/**
 * A run by id, exact name or id prefix (≥ 4 characters); the newest run when `ref` is undefined.
 * Throws E_RUN_NOT_FOUND (exit 1), or E_RUN_AMBIGUOUS (exit 2) when a name or prefix fits several
 * runs: the error lists them (message, and `details.candidates` for --json).
 */
export function findRun(db: Database, ref?: string): RunRow {
  let row: unknown;
  if (ref === undefined) row = db.query(`${SELECT} ORDER BY r.started_at DESC LIMIT 1`).get();
  else {
    row = db.query(`${SELECT} WHERE r.id = ?`).get(ref);
    if (!row) {
      const named = db
        .query(`${SELECT} WHERE r.name = ? ORDER BY r.started_at DESC LIMIT ?`)
        .all(ref, MAX_CANDIDATES + 1) as RawRun[];
      if (named.length > 1) ambiguous(ref, `names ${count(db, "r.name = ?", ref)} runs`, named);
      // a name that is also an id prefix of other runs (`--name 01a23175`): which one was meant is unknown
      if (named.length === 1 && ref.length >= 4) {
        const byId = prefixRows(db, ref).filter((r) => r.id !== named[0]!.id);
        if (byId.length)
          ambiguous(ref, `names one run and is an id prefix of ${plural(byId.length, "other")}`, [
            ...named,
            ...byId,
          ]);
      }
      row = named[0] ?? prefixMatch(db, ref);
    }
  }
  if (!row)
    throw new TracerError(
      "E_RUN_NOT_FOUND",
      ref === undefined
        ? "no run recorded yet"
        : `no run "${ref.replace(/\r|\n/g, (c) => (c === "\n" ? "\\n" : "\\r"))}"`,
      Exit.error,
      { hint: notFoundHint(db, ref) },
    );
  return decode(row as RawRun);
}

const count = (db: Database, where: string, v: string) =>
  (db.query(`SELECT count(*) AS n FROM runs r WHERE ${where}`).get(v) as { n: number }).n;

function ambiguous(ref: string, what: string, rows: RawRun[]): never {
  const runs = rows.slice(0, MAX_CANDIDATES).map(decode);
  const more = rows.length > MAX_CANDIDATES ? ["  …"] : [];
  // one line each, whatever a stored name holds (a store written before names were checked, or by
  // hand): the message's own line breaks pass the error printer, so a name's would start a forged line
  const lines = runs.map((r) =>
    sanitize(`  ${r.id}  ${r.name}  ${new Date(r.startedAt).toISOString()}  ${r.status}`),
  );
  const head = sanitize(`"${ref}" ${what}:`);
  throw new TracerError("E_RUN_AMBIGUOUS", [head, ...lines, ...more].join("\n"), Exit.usage, {
    hint: "give one run's full id (or an id prefix only it has)",
    details: {
      candidates: runs.map((r) => ({ id: r.id, name: r.name, startedAt: r.startedAt, status: r.status })),
    },
  });
}

/** what to try when `ref` found no run: a prefix too short to be taken (ids share their first characters) */
function notFoundHint(db: Database, ref: string | undefined): string {
  if (ref === undefined) return "record one with: tracer run -- CMD";
  if (ref.length < 4 && count(db, "substr(r.id, 1, length(?1)) = ?1", ref) > 0)
    return "an id prefix needs at least 4 characters (list runs with: tracer runs)";
  return "list runs with: tracer runs";
}

const prefixRows = (db: Database, ref: string) =>
  db
    // the range first: the primary key's index finds them (ids are ASCII: all below the prefix followed
    // by U+10FFFF), not a scan of every run
    .query(
      `${SELECT} WHERE r.id >= ?1 AND r.id < ?1 || char(1114111) AND substr(r.id, 1, length(?1)) = ?1
       ORDER BY r.started_at DESC LIMIT ?2`,
    )
    .all(ref, MAX_CANDIDATES + 1) as RawRun[];

function prefixMatch(db: Database, ref: string) {
  if (ref.length < 4) return null;
  const rows = prefixRows(db, ref);
  if (rows.length > 1)
    ambiguous(ref, `matches several runs (${count(db, "substr(r.id, 1, length(?1)) = ?1", ref)})`, rows);
  return rows[0] ?? null;
}
