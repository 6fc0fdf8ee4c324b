/**
 * The read side of `tracer top`: what one run looks like now, polled from the store the recorder writes
 * (processes upserted and samples appended every 500 ms flush). No channel into the recorder.
 *
 * Cheap on a big run: the first poll reads the run's processes once; each later poll reads only rows
 * added since (`id > last`), the rows that were live (or just ended) at the previous poll, their newest
 * samples and the newest host metrics. Steps are regrouped (src/steps) only when something changed, and
 * at most every ten times the last grouping's cost, so regrouping a 100,000-process run stays a small
 * share of a second; between regroupings a new process joins the step of its nearest ancestor.
 */
import type { Database } from "bun:sqlite";
import { decodeLossless } from "../core/lossless.ts";
import type { RuleSet } from "../rules/index.ts";
import { type RssSamples, type Step, type StepProcess, groupSteps } from "../steps/index.ts";
import type { HostNow, LiveFigures, RunState, WatchedRun } from "./types.ts";

const COLUMNS = `id, pid, parent_id AS parentId, comm, argv, cwd, started_at AS startedAt, ended_at AS endedAt,
  exit_code AS exitCode, signal, oom_killed AS oomKilled, user_us AS userUs, system_us AS systemUs,
  peak_rss_kb AS peakRssKb, rchar, wchar, read_bytes AS readBytes, write_bytes AS writeBytes`;

type RawProcess = Omit<StepProcess, "comm" | "cwd" | "argv" | "oomKilled"> & {
  comm: string | Uint8Array | null;
  cwd: string | Uint8Array | null;
  argv: string | null;
  oomKilled: number;
};

const text = (v: string | Uint8Array | null) => (v === null || typeof v === "string" ? v : decodeLossless(v));
const decode = (r: RawProcess): StepProcess => ({
  ...r,
  comm: text(r.comm),
  cwd: text(r.cwd),
  argv: r.argv ? (JSON.parse(r.argv) as string[]) : null,
  oomKilled: r.oomKilled === 1,
});

/** polls a process stays watched after it ended: its final figures may land a flush later */
const GRACE_POLLS = 3;
/** samples older than this are not "now" (the sampler samples every second) */
const SAMPLE_WINDOW_MS = 3000;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === "EPERM";
  }
};

const SAMPLE_COLUMNS = "s.process_id AS id, s.at, s.rss_kb AS rssKb";
const SAMPLE_FILTER =
  "s.rowid > ? AND s.rowid <= ? AND p.run_id = ? AND s.rss_kb IS NOT NULL ORDER BY s.rowid";
/** a run's samples in a row id range, found by its processes (the first poll) */
const SAMPLES_ALL = `SELECT ${SAMPLE_COLUMNS} FROM processes p JOIN samples s ON s.process_id = p.id WHERE ${SAMPLE_FILTER}`;
/** the same, found by the row ids (CROSS JOIN: samples scanned first, by its rowid range) */
const SAMPLES_SINCE = `SELECT ${SAMPLE_COLUMNS} FROM samples s CROSS JOIN processes p ON p.id = s.process_id WHERE ${SAMPLE_FILTER}`;

const RUN_COLUMNS = `id, name, pipeline, mode, recorder_pid AS recorderPid, started_at AS startedAt,
  ended_at AS endedAt, exit_code AS exitCode, signal, status`;

/** Ids of the runs being recorded now (status running, recorder alive), oldest first. */
export function activeRunIds(db: Database): string[] {
  const rows = db
    .query(
      `SELECT id, recorder_pid AS pid FROM runs WHERE ended_at IS NULL AND status = 'running' ORDER BY started_at`,
    )
    .all() as { id: string; pid: number }[];
  return rows.filter((r) => alive(r.pid)).map((r) => r.id);
}

/** The newest run's id, or undefined when the store holds none. */
export const newestRunId = (db: Database): string | undefined =>
  (db.query("SELECT id FROM runs ORDER BY started_at DESC LIMIT 1").get() as { id: string } | null)?.id;

/** One run followed from poll to poll. */
export class RunWatch {
  private readonly procs = new Map<number, StepProcess>();
  private maxId = 0;
  /** live or just-ended process ids → polls left to watch after it ended */
  private readonly watched = new Map<number, number>();
  /** rchar+wchar at the newest sample instant, for the I/O rate */
  private readonly io = new Map<number, { at: number; bytes: number; rate: number | null }>();
  /** the run's RSS samples read so far, and the newest sample row read: what a step's peak is made of */
  private readonly samples: RssSamples = new Map();
  private sampleRow = 0;
  private steps: Step[] = [];
  private stepOf = new Map<number, number>();
  private dirty = true;
  private groupedAt = 0;
  private groupCostMs = 0;
  /** process rows read and step groupings done so far (what each poll cost) */
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
    if (run.status === "running" && run.endedAt === null && !alive(run.recorderPid))
      run.status = "interrupted";
    this.readProcesses();
    this.readSamples();
    const live = this.readLive();
    if (this.dirty && now - this.groupedAt >= Math.max(1000, 10 * this.groupCostMs)) this.regroup(now);
    return {
      run,
      processes: this.procs,
      steps: this.steps,
      stepOf: (id) => this.stepIndexOf(id),
      live,
      host: this.readHost(),
    };
  }

  private readProcesses() {
    const fresh = this.db
      .query(`SELECT ${COLUMNS} FROM processes WHERE run_id = ? AND id > ? ORDER BY id`)
      .all(this.runId, this.maxId) as RawProcess[];
    const ids = [...this.watched.keys()];
    const again = ids.length
      ? (this.db
          .query(`SELECT ${COLUMNS} FROM processes WHERE id IN (SELECT value FROM json_each(?))`)
          .all(JSON.stringify(ids)) as RawProcess[])
      : [];
    this.stats.rowsRead += fresh.length + again.length;
    if (fresh.length) this.dirty = true;
    for (const r of fresh) {
      const p = decode(r);
      this.procs.set(p.id, p);
      if (p.id > this.maxId) this.maxId = p.id;
      if (p.endedAt === null) this.watched.set(p.id, GRACE_POLLS);
    }
    for (const r of again) {
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
      if (left <= 0) {
        this.watched.delete(id);
        this.io.delete(id);
      } else this.watched.set(id, left);
    }
  }

  /**
   * The run's RSS samples added since the last poll (all of them at the first): steps are grouped with
   * them, so an ended step's peak is the one `tracer report` shows (its processes' summed RSS at one
   * instant, src/steps/_rollup.ts), not its largest process's. Rows are read by row id, up to the
   * newest at this poll: SQLite's one writer commits them in row id order. The first poll finds them
   * by the run's processes; later ones by the row ids since (a big run's processes are not probed
   * each second). A sample of a process that has ended (its last, landing a flush after its end)
   * regroups.
   */
  private readSamples() {
    const newest = (this.db.query("SELECT coalesce(max(rowid), 0) AS n FROM samples").get() as { n: number })
      .n;
    if (newest <= this.sampleRow) return;
    const rows = this.db
      .query(this.sampleRow ? SAMPLES_SINCE : SAMPLES_ALL)
      .all(this.sampleRow, newest, this.runId) as { id: number; at: number; rssKb: number }[];
    this.sampleRow = newest;
    for (const r of rows) {
      const list = this.samples.get(r.id) ?? [];
      if (!list.length) this.samples.set(r.id, list);
      list.push({ at: r.at, rssKb: r.rssKb });
      const p = this.procs.get(r.id);
      if (p && p.endedAt !== null) this.dirty = true;
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

  private regroup(now: number) {
    const t0 = performance.now();
    const list = [...this.procs.values()].sort(
      (a, b) => (a.startedAt ?? 0) - (b.startedAt ?? 0) || a.id - b.id,
    );
    this.steps = groupSteps(list, this.rules, this.samples);
    this.stepOf = new Map();
    for (let i = 0; i < this.steps.length; i++)
      for (const id of this.steps[i]!.processIds) this.stepOf.set(id, i);
    this.dirty = false;
    this.groupedAt = now;
    this.groupCostMs = performance.now() - t0;
    this.stats.regroups++;
  }

  /** The position in `steps` of the step holding process `id` (a process newer than the grouping: its nearest grouped ancestor's). */
  private stepIndexOf(id: number): number | undefined {
    const seen: number[] = [];
    let found: number | undefined;
    for (let at: number | null | undefined = id; at !== null && at !== undefined; ) {
      found = this.stepOf.get(at);
      if (found !== undefined || seen.length > 10_000) break;
      seen.push(at);
      at = this.procs.get(at)?.parentId;
    }
    return found;
  }
}
