/** Run-level rows: create, finish, list, find. */
import type { Database } from "bun:sqlite";
import { Exit, TracerError } from "../errors.ts";

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
  /** running | done | failed | interrupted (the recorder died before finishing the run) */
  status: string;
  processes: number;
}

export function createRun(db: Database, r: NewRun): void {
  db.query(
    `INSERT INTO runs (id, name, pipeline, command, cwd, host, mode, recorder_pid, started_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    r.id,
    r.name,
    r.pipeline,
    JSON.stringify(r.command),
    r.cwd,
    r.host,
    r.mode,
    r.recorderPid,
    r.startedAt,
  );
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
}

export function finishRun(db: Database, id: string, e: RunEnd): void {
  const ok = e.exitCode === 0 && e.signal === undefined;
  db.query(
    `UPDATE runs SET ended_at = ?, exit_code = ?, signal = ?, events_lost = ?, loss_reasons = ?, recovered = ?,
     argv_lost = ?, mode = ?, status = ? WHERE id = ?`,
  ).run(
    e.endedAt,
    e.exitCode ?? null,
    e.signal ?? null,
    e.eventsLost,
    JSON.stringify(e.lossReasons ?? {}),
    e.recovered ?? 0,
    e.argvLost ?? 0,
    e.mode,
    ok ? "done" : "failed",
    id,
  );
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === "EPERM";
  }
};

type RawRun = Omit<RunRow, "command" | "lossReasons"> & { command: string; lossReasons: string };
const SELECT = `SELECT r.id, r.name, r.pipeline, r.command, r.cwd, r.host, r.mode, r.recorder_pid AS recorderPid,
  r.started_at AS startedAt, r.ended_at AS endedAt, r.exit_code AS exitCode, r.signal, r.events_lost AS eventsLost,
  r.loss_reasons AS lossReasons, r.recovered, r.argv_lost AS argvLost,
  r.status, (SELECT count(*) FROM processes p WHERE p.run_id = r.id) AS processes FROM runs r`;

const decode = (r: RawRun): RunRow => ({
  ...r,
  command: JSON.parse(r.command) as string[],
  lossReasons: JSON.parse(r.lossReasons) as Record<string, number>,
  status: r.status === "running" && r.endedAt === null && !alive(r.recorderPid) ? "interrupted" : r.status,
});

export function listRuns(db: Database, limit = 50): RunRow[] {
  return (db.query(`${SELECT} ORDER BY r.started_at DESC LIMIT ?`).all(limit) as RawRun[]).map(decode);
}

/** A run by id, id prefix or name (the newest of that name); the newest run when `ref` is undefined. */
export function findRun(db: Database, ref?: string): RunRow {
  const row =
    ref === undefined
      ? db.query(`${SELECT} ORDER BY r.started_at DESC LIMIT 1`).get()
      : (db.query(`${SELECT} WHERE r.id = ?`).get(ref) ??
        db.query(`${SELECT} WHERE r.name = ? ORDER BY r.started_at DESC LIMIT 1`).get(ref) ??
        prefixMatch(db, ref));
  if (!row)
    throw new TracerError(
      "E_RUN_NOT_FOUND",
      ref === undefined ? "no run recorded yet" : `no run "${ref}"`,
      Exit.error,
      { hint: ref === undefined ? "record one with: tracer run -- CMD" : "list runs with: tracer runs" },
    );
  return decode(row as RawRun);
}

function prefixMatch(db: Database, ref: string) {
  if (ref.length < 4) return null;
  const rows = db.query(`${SELECT} WHERE r.id LIKE ? || '%' LIMIT 2`).all(ref);
  if (rows.length > 1) throw new TracerError("E_RUN_AMBIGUOUS", `"${ref}" matches several runs`, Exit.usage);
  return rows[0] ?? null;
}
