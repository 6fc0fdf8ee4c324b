/** Process rows, samples and system metrics: the types and a batched writer (the read side: ./scan.ts). */
import { dfgOnly } from "../core/jit-tier.ts";
import type { Database } from "bun:sqlite";
import { decodeLossless, encodeLossless, hasRawBytes } from "../core/lossless.ts";
import type { ProcessOutcome } from "../observe/types.ts";
import { inTransaction } from "./db.ts";

/**
 * comm and cwd may hold bytes that are not UTF-8 (kept as U+DC80–U+DCFF, src/core/lossless.ts); a
 * TEXT value would turn them into U+FFFD, so such a value is stored as a BLOB of its exact bytes.
 * (argv is stored as JSON, whose `\udcff` escapes keep them.)
 */
export const exactText = (s: string | undefined) =>
  s === undefined ? null : hasRawBytes(s) ? encodeLossless(s) : s;
export const fromExact = (v: string | Uint8Array | null) =>
  v === null || typeof v === "string" ? v : decodeLossless(v);

export interface ProcessRecord extends ProcessOutcome {
  pid: number;
  startTicks: number;
  ppid?: number;
  /** the parent's record when the parent is in the same run (stored as its row id) */
  parent?: ProcessRecord;
  /** the parent's row id, when the parent's record is no longer held (written and forgotten) */
  parentId?: number;
  comm?: string;
  argv?: string[];
  /** bytes of the whole command line (each argument and its NUL), even when argv was cut */
  argvBytes?: number;
  /** argv holds only the first ARGV_CAP_BYTES (64 KiB) of the command line */
  argvTruncated?: boolean;
  cwd?: string;
  cgroup?: string;
  startedAt?: number;
  endedAt?: number;
  durationUs?: number;
  /** epoch ms of its last exec, from the exec event (exact times only): its children forked before it ran the earlier program */
  execAt?: number;
  /**
   * CPU (µs) it had used at its last exec (the scheduler ledger, src/observe/schedrt.ts): what its
   * earlier images ran; unknown without the ledger or when the exec came before it was followed
   */
  execCpuUs?: number;
  /**
   * the command line of the first image the process exec'd itself (not the copy of its parent's a fork
   * starts with), once it has exec'd another: `bash -c 'A; B'` is B with prior argv bash's, and so is
   * `bash -c 'A; env X=1 B'`
   */
  priorArgv?: string[];
  /** bytes of that whole command line when priorArgv holds only its head (ARGV_CAP_BYTES) */
  priorArgvBytes?: number;
  /**
   * KiB: at most what the images its execs replaced held (the scheduler ledger's signal->maxrss at its
   * last exec; for CMD, whose first image was tracer's vfork, the bound on tracer's own peak when no
   * later image rose above it), where its last exec's time is known: before that exec it held at most this;
   * +Infinity: nothing is known of them (no ledger, or entered after the exec), no bound
   */
  execPeakRssKb?: number;
  /**
   * StoreWriter's bookkeeping, not figures: the row's id once a committed flush wrote it, the id this
   * flush's transaction gave it (until the commit), and whether it waits for the next flush. Fields of
   * the record rather than a WeakMap and a Set beside it: a run writes every process through here, in
   * JavaScriptCore's interpreter (the lean JIT policy), where a field is one instruction and a WeakMap
   * lookup a call (and every full collection walks a WeakMap's entries).
   */
  rowId?: number;
  pendingRowId?: number;
  queued?: boolean;
}

export interface Sample {
  at: number;
  cpuPct: number;
  rssKb: number;
  readBytes?: number;
  writeBytes?: number;
}

export interface SystemMetrics {
  at: number;
  /** host CPU busy % since the previous reading; null without one to compare with (a run's first) */
  cpuPct: number | null;
  memTotalKb: number;
  memUsedKb: number;
  swapTotalKb: number;
  swapUsedKb: number;
  load1: number;
  load5: number;
  load15: number;
  diskTotalBytes: number;
  diskUsedBytes: number;
}

const COLS = [
  "ppid",
  "parent_id",
  "comm",
  "argv",
  "cwd",
  "cgroup",
  "started_at",
  "ended_at",
  "duration_us",
  "exit_code",
  "signal",
  "core_dumped",
  "oom_killed",
  "user_us",
  "system_us",
  "peak_rss_kb",
  "rchar",
  "wchar",
  "read_bytes",
  "write_bytes",
  "figures",
  "argv_bytes",
  "argv_truncated",
  "oom_limit_kb",
  "exec_at",
  "exec_cpu_us",
  "prior_argv",
  "prior_argv_bytes",
  "exec_peak_rss_kb",
] as const;

/**
 * A row's columns in COLS order, in `out` from `at` on. Returns `out`: one array per row, bound as
 * it is (bun:sqlite binds an array given alone positionally; its types do not say so, hence the casts
 * to `never` where one is bound), no spread into 32 arguments.
 */
/** a record's row id: the one its pending write will have, else the one it has */
const idOf = (p: ProcessRecord | undefined) => (p ? (p.pendingRowId ?? p.rowId) : undefined);

function putValues(out: unknown[], at: number, p: ProcessRecord, parentId: number | undefined): unknown[] {
  out[at] = p.ppid ?? null;
  out[at + 1] = parentId ?? null;
  out[at + 2] = exactText(p.comm);
  out[at + 3] = p.argv ? JSON.stringify(p.argv) : null;
  out[at + 4] = exactText(p.cwd);
  out[at + 5] = p.cgroup ?? null;
  out[at + 6] = p.startedAt ?? null;
  out[at + 7] = p.endedAt ?? null;
  out[at + 8] = p.durationUs === undefined ? null : Math.round(p.durationUs);
  out[at + 9] = p.exitCode ?? null;
  out[at + 10] = p.signal ?? null;
  out[at + 11] = p.coreDumped ? 1 : 0;
  out[at + 12] = p.oomKilled ? 1 : 0;
  out[at + 13] = p.userUs ?? null;
  out[at + 14] = p.systemUs ?? null;
  out[at + 15] = p.peakRssKb ?? null;
  out[at + 16] = p.rchar ?? null;
  out[at + 17] = p.wchar ?? null;
  out[at + 18] = p.readBytes ?? null;
  out[at + 19] = p.writeBytes ?? null;
  out[at + 20] = p.figures ?? null;
  out[at + 21] = p.argvBytes ?? null;
  out[at + 22] = p.argvTruncated ? 1 : 0;
  out[at + 23] = p.oomLimitKb ?? null;
  out[at + 24] = p.execAt ?? null;
  out[at + 25] = p.execCpuUs ?? null;
  out[at + 26] = p.priorArgv ? JSON.stringify(p.priorArgv) : null;
  out[at + 27] = p.priorArgvBytes ?? null;
  out[at + 28] = p.execPeakRssKb ?? null;
  return out;
}

/**
 * A process's first write inserts its row (its id is then the insert's rowid); later writes update it
 * by that id. Neither returns a row: `RETURNING` cost ~3 µs a row (a microbench of 10,000 rows in
 * transactions of 50: upsert + RETURNING 8.7–11 µs, insert or upsert without it 5–7 µs), and most
 * processes of a run are written once (fork, exec and exit between two flushes). A record without an
 * id whose row exists already (the recorder forgot it, then a late report made it again) updates
 * that row by its key, as the upsert did.
 */
// (loops, not map: an Array builtin's first use costs `tracer run` ~0.05–0.15 ms, issue 15)
let marks = "";
let SET = "";
for (const c of COLS) {
  marks += ", ?";
  SET += `${SET ? ", " : ""}${c} = ?`;
}
const INSERT = `INSERT INTO processes (run_id, pid, start_ticks, ${COLS.join(", ")})
  VALUES (?, ?, ?${marks})
  ON CONFLICT (run_id, pid, start_ticks) DO NOTHING`;
// by id, and only while that id is still this process's row: ids are rowids, and a run removed while
// recorded (its recorder in a pid namespace the remover cannot see) frees its ids for another run's rows
const UPDATE = `UPDATE processes SET ${SET} WHERE id = ? AND run_id = ? AND pid = ? AND start_ticks = ?`;
const UPDATE_KEY = `UPDATE processes SET ${SET} WHERE run_id = ? AND pid = ? AND start_ticks = ? RETURNING id`;
const ADD_SAMPLE =
  "INSERT INTO samples (process_id, at, cpu_pct, rss_kb, read_bytes, write_bytes) VALUES (?, ?, ?, ?, ?, ?)";
const ADD_METRIC = `INSERT INTO system_metrics (run_id, at, cpu_pct, mem_total_kb, mem_used_kb, swap_total_kb,
  swap_used_kb, load1, load5, load15, disk_total_bytes, disk_used_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/**
 * Buffers writes and commits them in one transaction per flush (the recorder flushes every second or
 * sooner): a crash loses at most the unflushed tail, never leaves a half-written row.
 */
export class StoreWriter {
  /** records to write at the next flush, each once (ProcessRecord.queued) */
  private dirty: ProcessRecord[] = [];
  private samples: { proc: ProcessRecord; s: Sample }[] = [];
  private metrics: SystemMetrics[] = [];
  /** a record's row id, once a committed flush wrote it (ProcessRecord.rowId) */
  readonly ids = {
    get: (p: ProcessRecord): number | undefined => p.rowId,
  };

  constructor(
    private readonly db: Database,
    readonly runId: string,
  ) {}

  process(p: ProcessRecord): void {
    if (p.queued) return;
    p.queued = true;
    this.dirty.push(p);
  }

  /**
   * Whether a row of this run was already written for process `pid` started at `startTicks` (clock
   * ticks since boot, ± `slackTicks`): the recorder forgets written processes, and a report about one
   * that comes much later (a zombie reaped when its parent finally died) must not make a second row.
   */
  written(pid: number, startTicks: number, slackTicks = 2): boolean {
    return (
      this.db
        .query("SELECT 1 FROM processes WHERE run_id = ? AND pid = ? AND start_ticks BETWEEN ? AND ? LIMIT 1")
        .get(this.runId, pid, startTicks - slackTicks, startTicks + slackTicks) !== null
    );
  }
  sample(p: ProcessRecord, s: Sample): void {
    this.samples.push({ proc: p, s });
  }
  system(m: SystemMetrics): void {
    this.metrics.push(m);
  }

  /**
   * Compile the statements a flush runs (bun:sqlite keeps them in its per-connection query cache), so
   * that the first flush does not: `tracer run` calls it while CMD runs, off its start-up path.
   */
  prepare(): void {
    this.statements();
  }

  private statements() {
    return {
      insert: this.db.query(INSERT),
      update: this.db.query(UPDATE),
      addSample: this.db.query(ADD_SAMPLE),
      addMetric: this.db.query(ADD_METRIC),
    };
  }

  /** UPDATE's values (SET, then id, run, pid, start ticks), or UPDATE_KEY's without `id` */
  private updateValues(p: ProcessRecord, parentId: number | undefined, id?: number): unknown[] {
    const v = putValues(new Array(id === undefined ? 28 : 29), 0, p, parentId);
    let k = COLS.length;
    if (id !== undefined) v[k++] = id;
    v[k] = this.runId;
    v[k + 1] = p.pid;
    v[k + 2] = p.startTicks;
    return v;
  }

  /**
   * Write what is queued, in one transaction. `hold`: records it is true for stay queued for the next
   * flush (Recorder.flush: an ended process whose exit figures come with the next drain is written
   * once, with them, not now and again then); a record with a sample in this flush is written all the
   * same, since a sample needs its row. Throws on a failed transaction (nothing is dropped).
   */
  flush(hold?: (p: ProcessRecord) => boolean): void {
    let dirty = this.dirty;
    let held: ProcessRecord[] | undefined;
    if (hold && dirty.length) {
      const sampled = new Set<ProcessRecord>();
      for (let i = 0; i < this.samples.length; i++) sampled.add(this.samples[i]!.proc);
      const ready: ProcessRecord[] = [];
      const waiting: ProcessRecord[] = [];
      for (let i = 0; i < dirty.length; i++) {
        const p = dirty[i]!;
        if (hold(p) && !sampled.has(p)) waiting.push(p);
        else ready.push(p);
      }
      if (waiting.length) {
        held = waiting;
        dirty = ready;
      }
    }
    if (!dirty.length && !this.samples.length && !this.metrics.length) return;
    const db = this.db;
    // each statement compiled (or taken from bun:sqlite's cache) only when there is something for it: a
    // short `tracer run` writes no sample, and compiling one costs its end ~0.1 ms
    const insert = dirty.length ? db.query(INSERT) : undefined;
    let update: ReturnType<Database["query"]> | undefined;
    const addSample = this.samples.length ? db.query(ADD_SAMPLE) : undefined;
    const addMetric = this.metrics.length ? db.query(ADD_METRIC) : undefined;
    const samples = this.samples;
    const metrics = this.metrics;
    // On failure (busy beyond busy_timeout, disk full) nothing is dropped and no row id is kept from the
    // rolled-back transaction: the next flush retries everything. `written`: the records this
    // transaction gave a row id (pendingRowId), parents before children.
    const written: ProcessRecord[] = [];
    // (loops over arrays, not Array builtins or iterators: the interpreter runs this for every process)
    const write = (p: ProcessRecord) => {
      const parentId = p.parentId ?? idOf(p.parent);
      const known = p.rowId;
      // a row already written (its id from an earlier flush): updated in place
      if (known !== undefined) {
        const set = this.updateValues(p, parentId, known);
        update ??= db.query(UPDATE);
        // (no row: deleted meanwhile, a run pruned while recorded; inserted again below, or refused with it)
        if (update.run(set as never).changes === 1) {
          p.pendingRowId = known;
          written.push(p);
          return;
        }
      }
      const row = putValues(new Array(28), 3, p, parentId);
      row[0] = this.runId;
      row[1] = p.pid;
      row[2] = p.startTicks;
      const r = insert!.run(row as never);
      if (r.changes === 1) {
        p.pendingRowId = Number(r.lastInsertRowid);
        written.push(p);
        return;
      }
      // its row is there already (see INSERT): updated by its key
      const key = this.updateValues(p, parentId);
      p.pendingRowId = (db.query(UPDATE_KEY).get(key as never) as { id: number }).id;
      written.push(p);
    };
    try {
      // in the caller's transaction when there is one (`tracer run`'s last flush, with the run's row)
      inTransaction(this.db, () => {
        // parents first (even a parent with nothing new), so a child can point at its parent's row id;
        // iterative: a chain of unwritten ancestors can be 100,000 deep
        const chain: ProcessRecord[] = [];
        const onChain = new Set<ProcessRecord>();
        for (let i = 0; i < dirty.length; i++) {
          const p = dirty[i]!;
          // p, then each ancestor with no row id yet (in this flush or an earlier one)
          for (let q: ProcessRecord | undefined = p; q && q.pendingRowId === undefined; q = q.parent) {
            if (q !== p) {
              if (q.rowId !== undefined || onChain.has(q)) break;
              if (!onChain.size) onChain.add(p);
              onChain.add(q);
            }
            chain.push(q);
          }
          for (let q = chain.pop(); q; q = chain.pop()) write(q);
          if (onChain.size) onChain.clear();
        }
        for (let i = 0; i < samples.length; i++) {
          const { proc, s } = samples[i]!;
          const id = idOf(proc);
          if (id !== undefined)
            addSample!.run(id, s.at, s.cpuPct, s.rssKb, s.readBytes ?? null, s.writeBytes ?? null);
        }
        for (let i = 0; i < metrics.length; i++) {
          const m = metrics[i]!;
          addMetric!.run(
            this.runId,
            m.at,
            m.cpuPct,
            m.memTotalKb,
            m.memUsedKb,
            m.swapTotalKb,
            m.swapUsedKb,
            m.load1,
            m.load5,
            m.load15,
            m.diskTotalBytes,
            m.diskUsedBytes,
          );
        }
      });
    } catch (e) {
      for (let i = 0; i < written.length; i++) written[i]!.pendingRowId = undefined;
      throw e;
    }
    for (let i = 0; i < written.length; i++) {
      const p = written[i]!;
      p.rowId = p.pendingRowId;
      p.pendingRowId = undefined;
    }
    for (let i = 0; i < written.length; i++) {
      const p = written[i]!;
      // hold the parent's row id, not its record: a long chain of ended parents can then be freed
      const parentId = p.parent?.rowId;
      if (parentId !== undefined && parentId >= 0) {
        p.parentId = parentId;
        p.parent = undefined;
      }
    }
    for (let i = 0; i < dirty.length; i++) dirty[i]!.queued = false;
    this.dirty = held ?? [];
    this.samples = [];
    this.metrics = [];
  }
}

export interface ProcessRow extends Required<Pick<ProcessRecord, "pid" | "startTicks">> {
  id: number;
  ppid: number | null;
  parentId: number | null;
  comm: string | null;
  argv: string[] | null;
  /** bytes of the whole command line; argvTruncated: argv holds only its first 64 KiB */
  argvBytes: number | null;
  argvTruncated: boolean;
  /** the first command line it exec'd itself, once it exec'd another (ProcessRecord.priorArgv) */
  priorArgv?: string[] | null;
  priorArgvBytes?: number | null;
  cwd: string | null;
  startedAt: number | null;
  endedAt: number | null;
  durationUs: number | null;
  exitCode: number | null;
  signal: number | null;
  coreDumped: boolean;
  oomKilled: boolean;
  /** memory limit of the cgroup the OOM kill was counted in, KiB (null: unknown or not OOM killed) */
  oomLimitKb: number | null;
  userUs: number | null;
  systemUs: number | null;
  peakRssKb: number | null;
  rchar: number | null;
  wchar: number | null;
  readBytes: number | null;
  writeBytes: number | null;
  figures: string | null;
}

/** A process as reports need it: what steps and the process table read, nothing else. */
export type ReportProcessRow = Omit<
  ProcessRow,
  "startTicks" | "ppid" | "coreDumped" | "argvBytes" | "argvTruncated"
>;

// called for every message or process of a recording: kept out of the FTL tier (src/observe/tiers.ts)
dfgOnly(idOf, putValues);
