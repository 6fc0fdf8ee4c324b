/**
 * Store housekeeping: choose runs to remove (`runs rm`, `runs prune`), delete them in short
 * transactions, then give the space back to the file system with incremental vacuum in steps.
 *
 * Other writers (a recording's flush, `tracer run`'s start and end) wait up to busy_timeout (5 s) for
 * the write lock; every statement here commits on its own and touches at most BATCH_ROWS rows (or
 * VACUUM_PAGES pages), so none holds the lock for long. A store created by an older tracer (no
 * auto_vacuum) is converted by one full VACUUM, run only when no run is being recorded.
 * An interrupted removal leaves runs with part of their rows; removing them again finishes the job.
 */
import type { Database } from "bun:sqlite";
import { statSync } from "../../ffi/fs.ts";
import { type RunRow, activeRuns, isActive } from "./runs.ts";

/** rows (samples, metrics, processes) deleted per statement */
const BATCH_ROWS = 5000;
/** runs deleted per statement, once their rows are gone */
const BATCH_RUNS = 200;
/** pages freed per incremental_vacuum step (4 KiB pages: 16 MiB) */
const VACUUM_PAGES = 4096;

export interface PruneSelection {
  /** keep the newest N runs (of `pipeline` when given) */
  keep?: number;
  /** remove runs that started more than this many ms before `now` */
  olderThanMs?: number;
  pipeline?: string;
  now?: number;
}

/** A run chosen for removal, with what it holds. */
export interface RunSummary {
  id: string;
  name: string;
  pipeline: string;
  startedAt: number;
  status: string;
  processes: number;
}

const summary = (r: RunRow): RunSummary => ({
  id: r.id,
  name: r.name,
  pipeline: r.pipeline,
  startedAt: r.startedAt,
  status: r.status,
  processes: r.processes,
});

/**
 * The runs `prune` would remove, newest first, and the active runs it leaves alone though they match.
 * `runs` is every run of the store, newest first (listRuns).
 */
export function selectPrune(
  runs: RunRow[],
  sel: PruneSelection,
): { remove: RunSummary[]; active: RunSummary[] } {
  const now = sel.now ?? Date.now();
  const scope = sel.pipeline === undefined ? runs : runs.filter((r) => r.pipeline === sel.pipeline);
  const matched = scope.filter(
    (r, i) =>
      (sel.keep === undefined || i >= sel.keep) &&
      (sel.olderThanMs === undefined || r.startedAt < now - sel.olderThanMs),
  );
  return {
    remove: matched.filter((r) => !isActive(r)).map(summary),
    active: matched.filter(isActive).map(summary),
  };
}

export interface Reclaim {
  /** bytes of tracer.db (+ its WAL) before and after */
  bytesBefore: number;
  bytesAfter: number;
  /** the store had no auto_vacuum (an older tracer's) and was converted by one full VACUUM */
  converted: boolean;
  /** the conversion was due but skipped because a run is being recorded */
  conversionDeferred: boolean;
}

const fileBytes = (path: string) => {
  let n = 0;
  for (const f of [path, `${path}-wal`])
    try {
      n += statSync(f).size;
    } catch {}
  return n;
};

/** Bytes the store's files take now. */
export const storeBytes = (db: Database) => fileBytes(db.filename);

/**
 * Delete runs and everything recorded under them, BATCH_ROWS rows per statement (each its own
 * transaction). Samples, metrics and processes go first, the run row last. Returns the runs deleted.
 */
export function deleteRuns(db: Database, ids: string[]): number {
  db.exec("PRAGMA foreign_keys = ON");
  let deleted = 0;
  for (let i = 0; i < ids.length; i += BATCH_RUNS) {
    const chunk = ids.slice(i, i + BATCH_RUNS);
    const list = `(${chunk.map(() => "?").join(",")})`;
    const steps = [
      `DELETE FROM samples WHERE rowid IN (SELECT s.rowid FROM samples s JOIN processes p ON s.process_id = p.id
        WHERE p.run_id IN ${list} LIMIT ${BATCH_ROWS})`,
      `DELETE FROM system_metrics WHERE rowid IN (SELECT rowid FROM system_metrics WHERE run_id IN ${list} LIMIT ${BATCH_ROWS})`,
      `DELETE FROM processes WHERE id IN (SELECT id FROM processes WHERE run_id IN ${list} LIMIT ${BATCH_ROWS})`,
    ];
    for (const sql of steps) {
      const q = db.query(sql);
      while (q.run(...chunk).changes > 0) {}
    }
    deleted += db.query(`DELETE FROM runs WHERE id IN ${list}`).run(...chunk).changes;
  }
  return deleted;
}

const pragma = (db: Database, name: string) =>
  Object.values(db.query(`PRAGMA ${name}`).get() as Record<string, number>)[0] ?? 0;

/**
 * Give freed pages back to the file system: incremental_vacuum in steps of VACUUM_PAGES, then a
 * checkpoint that truncates the WAL. `active` says a run is being recorded: no full VACUUM then, and a
 * checkpoint that waits for no one.
 */
export function reclaim(db: Database, bytesBefore: number, active: boolean): Reclaim {
  let converted = false;
  let conversionDeferred = false;
  if (pragma(db, "auto_vacuum") !== 2) {
    if (active) conversionDeferred = true;
    else {
      db.exec("PRAGMA auto_vacuum = INCREMENTAL");
      db.exec("VACUUM");
      converted = true;
    }
  }
  if (pragma(db, "auto_vacuum") === 2)
    for (let free = pragma(db, "freelist_count"), guard = 0; free > 0 && guard < 1e6; guard++) {
      db.exec(`PRAGMA incremental_vacuum(${VACUUM_PAGES})`);
      const left = pragma(db, "freelist_count");
      if (left >= free) break;
      free = left;
    }
  // TRUNCATE waits for other connections (holding off writers meanwhile): only when nothing records
  db.exec(`PRAGMA wal_checkpoint(${active ? "PASSIVE" : "TRUNCATE"})`);
  return { bytesBefore, bytesAfter: storeBytes(db), converted, conversionDeferred };
}

export interface RemoveResult extends Reclaim {
  dryRun: boolean;
  /** the runs removed (or, with dryRun, that would be); `queued`: export units still in the outbox */
  removed: (RunSummary & { queued: number })[];
  /** active runs that matched and were left alone */
  skippedActive: RunSummary[];
  /** runs in the store afterwards */
  left: number;
  processes: number;
}

/**
 * Remove `remove` (none of them active) unless `dryRun`, then reclaim the space. `queued` tells how
 * many export units each run still has in the outbox (they stay there until sent).
 */
export function removeRuns(
  db: Database,
  remove: RunSummary[],
  o: { dryRun?: boolean; skippedActive?: RunSummary[]; queued?: (ids: string[]) => Map<string, number> },
): RemoveResult {
  const queued = o.queued?.(remove.map((r) => r.id)) ?? new Map<string, number>();
  const before = storeBytes(db);
  const total = () => (db.query("SELECT count(*) AS n FROM runs").get() as { n: number }).n;
  let reclaimed: Reclaim = {
    bytesBefore: before,
    bytesAfter: before,
    converted: false,
    conversionDeferred: false,
  };
  if (!o.dryRun && remove.length) {
    deleteRuns(
      db,
      remove.map((r) => r.id),
    );
    reclaimed = reclaim(db, before, activeRuns(db).length > 0);
  }
  return {
    ...reclaimed,
    dryRun: o.dryRun === true,
    removed: remove.map((r) => ({ ...r, queued: queued.get(r.id) ?? 0 })),
    skippedActive: o.skippedActive ?? [],
    left: total(),
    processes: remove.reduce((n, r) => n + r.processes, 0),
  };
}
