/**
 * The read side of `tracer top`: what one run looks like now, polled from the store the recorder writes
 * (processes upserted and samples appended every 500 ms flush). No channel into the recorder.
 *
 * Cheap on a big run, in time and memory: steps are grouped as a report groups them (src/report/load.ts
 * runColumns, groupColumns, then sampleSteps (runSamples): the run's processes read into columns, no object each,
 * garbage once grouped), only when something changed, and at most every ten times the last grouping's
 * cost, so regrouping a 100,000-process run stays a small share of a second. Between groupings a poll
 * reads only the rows added since (`id > last`), the rows that were live (or just ended) at the
 * previous poll, their newest samples and the newest host metrics. Objects are kept only for the
 * processes watched (alive, or just ended) and the steps: an ended process is a row id in the
 * grouping's index, and one newer than the grouping its parent's id (it joins the step of its nearest
 * grouped ancestor) until the next grouping.
 */
import type { Database } from "bun:sqlite";
import { decodeLossless } from "../core/lossless.ts";
import { runColumns, runSamples } from "../report/load.ts";
import type { RuleSet } from "../rules/index.ts";
import { rowOf } from "../steps/_rollup.ts";
import { type Step, groupColumns, sampleSteps } from "../steps/index.ts";
import { recorderAlive } from "../store/runs.ts";
import type { HostNow, LiveFigures, RunState, WatchedProcess, WatchedRun } from "./types.ts";

/** what top keeps of a watched process (WatchedProcess) */
const COLUMNS = `id, pid, parent_id AS parentId, comm, argv, started_at AS startedAt, ended_at AS endedAt,
  exit_code AS exitCode, signal, rchar, wchar`;

type RawProcess = Omit<WatchedProcess, "comm" | "argv"> & {
  comm: string | Uint8Array | null;
  argv: string | null;
};

const decode = (r: RawProcess): WatchedProcess => ({
  ...r,
  comm: r.comm === null || typeof r.comm === "string" ? r.comm : decodeLossless(r.comm),
  argv: r.argv ? (JSON.parse(r.argv) as string[]) : null,
});

/** position of `id` in the ascending `ids`, -1 when absent */
function search(ids: Float64Array, id: number): number {
  let lo = 0;
  let hi = ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = ids[mid]!;
    if (v === id) return mid;
    if (v < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** polls a process stays watched after it ended: its final figures may land a flush later */
const GRACE_POLLS = 3;
/** samples older than this are not "now" (the sampler samples every second) */
const SAMPLE_WINDOW_MS = 3000;

/** the processes of a run's RSS samples in a row id range (CROSS JOIN: samples scanned first, by its rowid range) */
const SAMPLED_SINCE = `SELECT DISTINCT s.process_id FROM samples s CROSS JOIN processes p ON p.id = s.process_id
  WHERE s.rowid > ? AND s.rowid <= ? AND p.run_id = ? AND s.rss_kb IS NOT NULL`;

const RUN_COLUMNS = `id, name, pipeline, mode, recorder_pid AS recorderPid, recorder_start AS recorderStart,
  started_at AS startedAt,
  ended_at AS endedAt, exit_code AS exitCode, signal, status`;

/** Ids of the runs being recorded now (status running, recorder alive), oldest first. */
export function activeRunIds(db: Database): string[] {
  const rows = db
    .query(
      `SELECT id, recorder_pid AS pid, recorder_start AS start FROM runs
       WHERE ended_at IS NULL AND status = 'running' ORDER BY started_at`,
    )
    .all() as { id: string; pid: number; start: string | null }[];
  return rows.filter((r) => recorderAlive(r.pid, r.start)).map((r) => r.id);
}

/** The newest run's id, or undefined when the store holds none. */
export const newestRunId = (db: Database): string | undefined =>
  (db.query("SELECT id FROM runs ORDER BY started_at DESC LIMIT 1").get() as { id: string } | null)?.id;

/** One run followed from poll to poll. */
export class RunWatch {
  /** the processes watched: live, or ended less than GRACE_POLLS polls ago */
  private readonly procs = new Map<number, WatchedProcess>();
  /** watched process id → polls left to watch it after it ended */
  private readonly watched = new Map<number, number>();
  /** processes recorded so far, and the newest row id read */
  private count = 0;
  private maxId = 0;
  /** parent ids of the processes newer than the grouping that are not watched (what stepIndexOf walks) */
  private readonly pending = new Map<number, number | null>();
  /** rchar+wchar at the newest sample instant, for the I/O rate */
  private readonly io = new Map<number, { at: number; bytes: number; rate: number | null }>();
  /** the newest sample row seen: a later one of a process that ended regroups */
  private sampleRow = 0;
  private steps: Step[] = [];
  /** the grouped processes' row ids, ascending, and the position in `steps` of each one's step */
  private groupedIds = new Float64Array(0);
  private groupedStep = new Int32Array(0);
  private dirty = true;
  private groupedAt = 0;
  private groupCostMs = 0;
  /** the instant a run that is no longer recorded stops at (its end, else its newest recorded time) */
  private endAt: number | undefined;
  /** process rows read (by a poll or a grouping) and step groupings done so far (what each poll cost) */
  readonly stats = { rowsRead: 0, regroups: 0 };

  constructor(
    private readonly db: Database,
    readonly runId: string,
    private readonly rules: RuleSet,
  ) {}

  /** Read what changed and return the run as it is now (undefined once removed from the store); `now`: ms since the epoch. */
  poll(now = Date.now()): RunState | undefined {
    const run = this.db
      .query(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?`)
      .get(this.runId) as WatchedRun | null;
    if (!run) return undefined;
    if (
      run.status === "running" &&
      run.endedAt === null &&
      !recorderAlive(run.recorderPid, run.recorderStart)
    )
      run.status = "interrupted";
    // the store follows a run's processes only while its recorder runs: once the run is done, failed,
    // aborted or interrupted, a process with no end recorded is not known to be alive, and time stops
    // at the run's last recorded instant
    const following = run.status === "running";
    if (!following && this.endAt === undefined) this.endAt = run.endedAt ?? this.lastRecorded(run);
    this.readWatched();
    const added = (
      this.db
        .query("SELECT count(*) AS n FROM processes WHERE run_id = ? AND id > ?")
        .get(this.runId, this.maxId) as { n: number }
    ).n;
    if (added) this.dirty = true;
    this.readSamples();
    if (this.dirty && now - this.groupedAt >= Math.max(1000, 10 * this.groupCostMs))
      this.regroup(now, this.count + added);
    else if (added) this.readAdded();
    const live = following ? this.readLive() : new Map<number, LiveFigures>();
    return {
      run,
      endAt: following ? null : (this.endAt ?? null),
      processCount: this.count,
      watched: this.procs,
      steps: this.steps,
      stepOf: (id) => this.stepIndexOf(id),
      live,
      host: this.readHost(),
    };
  }

  /** The watched processes' rows again: one that ended, or changed its exit or command line, regroups. */
  private readWatched() {
    const ids = [...this.watched.keys()];
    if (!ids.length) return;
    const rows = this.db
      .query(`SELECT ${COLUMNS} FROM processes WHERE id IN (SELECT value FROM json_each(?))`)
      .all(JSON.stringify(ids)) as RawProcess[];
    this.stats.rowsRead += rows.length;
    for (const r of rows) {
      const p = decode(r);
      const before = this.procs.get(p.id);
      if (
        !before ||
        before.endedAt !== p.endedAt ||
        before.exitCode !== p.exitCode ||
        before.signal !== p.signal ||
        before.argv?.join("\0") !== p.argv?.join("\0")
      )
        this.dirty = true;
      this.procs.set(p.id, p);
    }
    for (const id of ids) {
      const p = this.procs.get(id);
      if (!p || p.endedAt === null) continue;
      const left = (this.watched.get(id) ?? 1) - 1;
      if (left > 0) {
        this.watched.set(id, left);
        continue;
      }
      this.watched.delete(id);
      this.io.delete(id);
      this.procs.delete(id);
      // not grouped yet: its live descendants still find their step through it
      if (this.stepAt(id) === undefined) this.pending.set(id, p.parentId);
    }
  }

  /** The rows added since the newest read, between groupings: the live ones watched, the others' parent kept. */
  private readAdded() {
    const rows = this.db
      .query(`SELECT ${COLUMNS} FROM processes WHERE run_id = ? AND id > ? ORDER BY id`)
      .all(this.runId, this.maxId) as RawProcess[];
    this.stats.rowsRead += rows.length;
    this.count += rows.length;
    for (const r of rows) {
      if (r.id > this.maxId) this.maxId = r.id;
      if (r.endedAt === null) {
        this.procs.set(r.id, decode(r));
        this.watched.set(r.id, GRACE_POLLS);
      } else this.pending.set(r.id, r.parentId);
    }
  }

  /**
   * Whether the run's RSS samples added since the last poll hold one of a process that is not alive
   * (its last, landing a flush after its end): steps are grouped with the samples (src/steps/_rollup.ts),
   * so an ended step's peak is the one `tracer report` shows (its processes' summed RSS at one instant),
   * and such a sample regroups. Rows are looked at by row id, up to the newest at this poll: SQLite's
   * one writer commits them in row id order. A grouping reads every sample of the run once (runSamples), holding none.
   */
  private readSamples() {
    const newest = (this.db.query("SELECT coalesce(max(rowid), 0) AS n FROM samples").get() as { n: number })
      .n;
    if (newest <= this.sampleRow) return;
    const from = this.sampleRow;
    this.sampleRow = newest;
    // a grouping is due anyway (the first poll's among them)
    if (this.dirty) return;
    const ids = this.db.query(SAMPLED_SINCE).values(from, newest, this.runId) as [number][];
    for (const [id] of ids)
      if (this.procs.get(id)?.endedAt !== null) {
        this.dirty = true;
        return;
      }
  }

  /** The newest sample of every live process, and its I/O rate (rchar + wchar between two samples). */
  private readLive(): Map<number, LiveFigures> {
    const live = new Map<number, LiveFigures>();
    const ids = [...this.watched.keys()].filter((id) => this.procs.get(id)?.endedAt === null);
    if (!ids.length) return live;
    const rows = this.db
      .query(
        `SELECT process_id AS id, max(at) AS at, cpu_pct AS cpuPct, rss_kb AS rssKb FROM samples
         WHERE process_id IN (SELECT value FROM json_each(?)) AND at >= (
           SELECT max(at) FROM samples WHERE process_id IN (SELECT value FROM json_each(?))) - ?
         GROUP BY process_id`,
      )
      .all(JSON.stringify(ids), JSON.stringify(ids), SAMPLE_WINDOW_MS) as {
      id: number;
      at: number;
      cpuPct: number | null;
      rssKb: number | null;
    }[];
    const sampled = new Map(rows.map((r) => [r.id, r]));
    for (const id of ids) {
      const p = this.procs.get(id)!;
      const s = sampled.get(id);
      let rate: number | null = null;
      if (s && p.rchar !== null && p.wchar !== null) {
        const bytes = p.rchar + p.wchar;
        const prev = this.io.get(id);
        rate = prev?.rate ?? null;
        if (prev && s.at > prev.at) rate = Math.max(0, ((bytes - prev.bytes) * 1000) / (s.at - prev.at));
        if (!prev || s.at > prev.at) this.io.set(id, { at: s.at, bytes, rate });
      }
      live.set(id, { cpuPct: s?.cpuPct ?? null, rssKb: s?.rssKb ?? null, ioRate: rate });
    }
    return live;
  }

  /**
   * The newest instant recorded for a run whose recorder died without ending it: its newest process
   * sample, process start or end, or host metrics row (else its start).
   */
  private lastRecorded(run: WatchedRun): number {
    const row = this.db
      .query(
        `SELECT max(
           coalesce((SELECT max(s.at) FROM processes p CROSS JOIN samples s ON s.process_id = p.id WHERE p.run_id = ?1), 0),
           coalesce((SELECT max(max(coalesce(started_at, 0), coalesce(ended_at, 0))) FROM processes WHERE run_id = ?1), 0),
           coalesce((SELECT max(at) FROM system_metrics WHERE run_id = ?1), 0)) AS at`,
      )
      .get(this.runId) as { at: number };
    return Math.max(run.startedAt, row.at);
  }

  private readHost(): HostNow | null {
    return (
      (this.db
        .query(
          `SELECT at, cpu_pct AS cpuPct, mem_used_kb AS memUsedKb, mem_total_kb AS memTotalKb FROM system_metrics
           WHERE run_id = ? ORDER BY at DESC LIMIT 1`,
        )
        .get(this.runId) as HostNow | null) ?? null
    );
  }

  /**
   * Group the run's steps as its report does, from every process row and sample now in the store
   * (`expected`: about how many rows, the columns' size); the live processes not watched yet are
   * watched from the columns. The columns are garbage once this returns.
   */
  private regroup(now: number, expected: number) {
    const t0 = performance.now();
    const c = runColumns(this.db, this.runId, this.rules, expected);
    this.steps = groupColumns(c);
    sampleSteps(this.steps, c.id, runSamples(this.db, this.runId, c.id));
    this.stats.rowsRead += c.n;
    this.count = c.n;
    for (let i = 0; i < c.n; i++) {
      const id = c.id[i]!;
      if (id > this.maxId) this.maxId = id;
      if (Number.isNaN(c.endedAt[i]!) && !this.watched.has(id)) {
        this.procs.set(id, rowOf(c, i));
        this.watched.set(id, GRACE_POLLS);
      }
    }
    this.pending.clear();
    this.index();
    this.dirty = false;
    this.groupedAt = now;
    this.groupCostMs = performance.now() - t0;
    this.stats.regroups++;
  }

  /** the grouping's index: each grouped process's row id → its step's position */
  private index() {
    let n = 0;
    for (const s of this.steps) n += s.processIds.length;
    const ids = new Float64Array(n);
    let k = 0;
    for (const s of this.steps) for (const id of s.processIds) ids[k++] = id;
    ids.sort();
    const at = new Int32Array(n);
    for (let i = 0; i < this.steps.length; i++)
      for (const id of this.steps[i]!.processIds) at[search(ids, id)] = i;
    this.groupedIds = ids;
    this.groupedStep = at;
  }

  /** the position in `steps` of the step holding grouped process `id` */
  private stepAt(id: number): number | undefined {
    const k = search(this.groupedIds, id);
    return k < 0 ? undefined : this.groupedStep[k];
  }

  /** The position in `steps` of the step holding process `id` (a process newer than the grouping: its nearest grouped ancestor's). */
  private stepIndexOf(id: number): number | undefined {
    let found: number | undefined;
    let walked = 0;
    for (let at: number | null | undefined = id; at !== null && at !== undefined; ) {
      found = this.stepAt(at);
      if (found !== undefined || walked++ > 10_000) break;
      const p = this.procs.get(at);
      at = p ? p.parentId : this.pending.get(at);
    }
    return found;
  }
}
