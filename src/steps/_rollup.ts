/** Roll a subtree of processes up into one step's figures. */
import { dfgOnly } from "../core/jit-tier.ts";
import { or0 } from "./_columns.ts";
import { type Figures, figuresOf } from "./_figures.ts";
import { NOT_THE_RUN, reduceSamples, sourceOf, withSampled } from "./_sampled.ts";
import type { RssSamples, Step, StepProcess, UnknownCounts } from "./types.ts";

export { type Figures, type ProcessFigures, figuresOf, rowOf } from "./_figures.ts";

/** what names a step (rollUp adds the figures) */
export type StepNaming = Pick<Step, "index" | "key" | "name" | "kind" | "tool" | "tools" | "workdir">;

/** max/min over any number of values (spreading 100k+ values into Math.max overflows the stack) */
export const maxOf = (values: Iterable<number>, start = Number.NEGATIVE_INFINITY) => {
  let m = start;
  for (const v of values) if (v > m) m = v;
  return m;
};
export const minOf = (values: Iterable<number>) => -maxOf([...values].map((v) => -v));

/** A set of processes' peak memory: what was seen, the most it can have been, and whether they agree. */
export interface PeakRss {
  /**
   * The largest sum of the processes' RSS at one sampled instant (what Snakemake's benchmark calls
   * max_rss), and never less than the largest single process's peak (VmHWM / hiwater_rss, exact per
   * process). A lower bound: two processes can peak together between samples.
   */
  peakRssKb: number;
  /**
   * An upper bound: the largest sum of per-process peaks over processes alive at one instant; +Infinity
   * (none) when a process's peak is unknown
   */
  peakRssUpperKb: number;
  /** the bounds meet: peakRssKb is the peak, not only a lower bound */
  peakRssExact: boolean;
}

/** positions 0…n-1 */
const every = (n: number): Int32Array => {
  const at = new Int32Array(n);
  for (let i = 0; i < n; i++) at[i] = i;
  return at;
};

/** a process's peak that counts in the upper bound (a recorded positive one), else 0 */
const boundedPeak = (f: Figures, i: number): number => {
  const kb = f.peakRssKb[i]!;
  return Number.isNaN(kb) || kb <= 0 ? 0 : kb;
};

/**
 * Where a process's lifetime splits for the bound: its last exec, when the images that exec replaced
 * held another figure than its own peak (exec_peak_rss_kb: the ledger's, exact or a bound) — before it
 * the process held at most that, from it on at most its own peak. Lower: a shell that became a 150 MiB
 * python3 at its end held ~3 MiB while the two 109 MiB jobs it started ran. Higher: only a bound (a
 * vfork child's earlier image, at most its parent's peak), which the row's own peak (its last image's)
 * does not cover: the span before the exec counts it (a 52 MiB image before a 1.1 MiB one was shown as
 * an exact 1.1 MiB: an attack, 2 Dec 2026). NaN: one span, its whole life.
 */
function splitAt(f: Figures, i: number): number {
  const x = f.execAt[i]!;
  const before = f.execPeakKb[i]!;
  if (Number.isNaN(x) || !(before >= 0) || before === boundedPeak(f, i)) return Number.NaN;
  const s = f.startedAt[i]!;
  return Number.isNaN(s) || x > s ? x : Number.NaN;
}

/** the earlier span ends just before the exec (1 µs: exec_at's precision), so one process never counts twice */
const BEFORE_EXEC_MS = 0.001;

/**
 * The most memory processes can have held together: each process's peak counted over its whole
 * recorded lifetime [startedAt, endedAt] (split at its last exec where the images before it peaked
 * lower: splitAt), summed over those alive at one instant. One sweep over the sorted start and end
 * times (O(n log n), no recursion). A process with no recorded start counts from the beginning, one
 * still running (no end) to the end; at equal times a start is counted before an end, so touching
 * lifetimes count as overlapping (the bound only grows).
 */
export const peakRssUpperBound = (procs: StepProcess[]): number =>
  upperBoundAt(figuresOf(procs), every(procs.length));

/** peakRssUpperBound of the processes at positions `at` of `f` */
export function upperBoundAt(f: Figures, at: ArrayLike<number>): number {
  // most steps hold a few processes: no arrays, no sort (the same figure as the sweep)
  return at.length <= SMALL ? smallAt(f, at) : sweepAt(f, at);
}

/** positions 0…n-1 in the order of `keys` (compared, not subtracted: −∞ − −∞ is NaN); ties in any order */
function orderOf(keys: Float64Array): Uint32Array {
  const n = keys.length;
  const at = new Uint32Array(n);
  let sorted = true;
  for (let i = 0; i < n; i++) {
    at[i] = i;
    if (i > 0 && keys[i - 1]! > keys[i]!) sorted = false;
  }
  // a run's processes come in start order (and a run of short processes ends in that order too)
  if (sorted) return at;
  return at.sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0));
}

/** peakRssUpperBound by the sweep, for any number of processes */
export const sweepUpperBound = (procs: StepProcess[]): number =>
  sweepAt(figuresOf(procs), every(procs.length));

function sweepAt(f: Figures, at: ArrayLike<number>): number {
  let n = 0;
  for (let j = 0; j < at.length; j++) {
    const i = at[j]!;
    if (boundedPeak(f, i) > 0) n += Number.isNaN(splitAt(f, i)) ? 1 : 2;
  }
  const kb = new Float64Array(n);
  const starts = new Float64Array(n);
  const ends = new Float64Array(n);
  let k = 0;
  for (let j = 0; j < at.length; j++) {
    const i = at[j]!;
    const peak = boundedPeak(f, i);
    if (!peak) continue;
    const s = f.startedAt[i]!;
    const e = f.endedAt[i]!;
    const x = splitAt(f, i);
    if (!Number.isNaN(x)) {
      kb[k] = f.execPeakKb[i]!;
      starts[k] = Number.isNaN(s) ? Number.NEGATIVE_INFINITY : s;
      ends[k++] = x - BEFORE_EXEC_MS;
    }
    kb[k] = peak;
    starts[k] = !Number.isNaN(x) ? x : Number.isNaN(s) ? Number.NEGATIVE_INFINITY : s;
    ends[k++] = Number.isNaN(e) ? Number.POSITIVE_INFINITY : e;
  }
  const byStart = orderOf(starts);
  const byEnd = orderOf(ends);
  // the sum only rises at a start: there, drop every span that ended before it, add this one (the
  // order among equal starts or equal ends does not change the largest sum)
  let alive = 0;
  let max = 0;
  let e = 0;
  for (let j = 0; j < n; j++) {
    const i = byStart[j]!;
    for (; e < n && ends[byEnd[e]!]! < starts[i]!; e++) alive -= kb[byEnd[e]!]!;
    alive += kb[i]!;
    if (alive > max) max = alive;
  }
  return max;
}

/** steps of at most this many processes take the quadratic path (no allocation) */
const SMALL = 16;

/**
 * The sweep's figure for a few processes: at the start s of each span, the sweep holds every span
 * started at or before s less every span ended before s (the last of equal starts holds the most), so
 * the bound is the largest such sum.
 */
export const smallUpperBound = (procs: StepProcess[]): number =>
  smallAt(figuresOf(procs), every(procs.length));

/** what process q's spans hold at instant s (KiB) */
function heldAt(f: Figures, q: number, s: number): number {
  const kb = boundedPeak(f, q);
  if (!kb) return 0;
  const qs0 = f.startedAt[q]!;
  const qs = Number.isNaN(qs0) ? Number.NEGATIVE_INFINITY : qs0;
  const qe0 = f.endedAt[q]!;
  const qe = Number.isNaN(qe0) ? Number.POSITIVE_INFINITY : qe0;
  // as the sweep counts a span: added once started, taken off once ended (an end before its start,
  // bad data, takes it off all the same)
  const span = (from: number, to: number, k: number) => (from <= s ? k : 0) - (to < s ? k : 0);
  const x = splitAt(f, q);
  if (Number.isNaN(x)) return span(qs, qe, kb);
  return span(qs, x - BEFORE_EXEC_MS, f.execPeakKb[q]!) + span(x, qe, kb);
}

function smallAt(f: Figures, at: ArrayLike<number>): number {
  let max = 0;
  for (let j = 0; j < at.length; j++) {
    const i = at[j]!;
    if (!boundedPeak(f, i)) continue;
    const si = f.startedAt[i]!;
    const x = splitAt(f, i);
    // each span's start: the process's start, and its last exec where it splits (no array made)
    for (let w = Number.isNaN(x) ? 1 : 2; w > 0; w--) {
      const s = w === 2 ? x : si;
      const t = Number.isNaN(s) ? Number.NEGATIVE_INFINITY : s;
      let alive = 0;
      for (let l = 0; l < at.length; l++) alive += heldAt(f, at[l]!, t);
      if (alive > max) max = alive;
    }
  }
  return max;
}

/**
 * Peak memory of a set of processes: the largest of their per-process peaks, raised to their sampled
 * peak when `samples` are given (the largest sum of their RSS at one sampled instant), beside the upper bound.
 */
export function peakRss(procs: StepProcess[], samples?: RssSamples): PeakRss {
  const peak = peakRssAt(figuresOf(procs), every(procs.length));
  if (!samples?.size) return peak;
  const mine = new Set(procs.map((p) => p.id));
  const r = reduceSamples(sourceOf(samples).stored, (id) => (mine.has(id) ? 0 : NOT_THE_RUN), 1);
  return withSampled(peak, r!.groupKb[0]!);
}

/**
 * Peak memory of the processes at positions `at` of `f` from their own figures: the largest single
 * peak, and the upper bound (their samples are added afterwards: src/steps/_sampled.ts).
 */
export function peakRssAt(f: Figures, at: ArrayLike<number>): PeakRss {
  let largest = 0;
  // a process whose peak nobody recorded (one still running at the run's end, its figures lost): no
  // sum of the others' bounds it (a 200 MiB leftover under a run "at most 4.7MiB": an attack, 2 Dec 2026)
  let open = false;
  for (let j = 0; j < at.length; j++) {
    const i = at[j]!;
    const kb = f.peakRssKb[i]!;
    if (kb > largest) largest = kb;
    // nor one whose earlier images' peak is unknown (no bound before its exec: +Infinity), nor one
    // whose peak is its last /proc sample's (a lower bound: it held more after, an exact 1.2 MiB
    // against ru_maxrss 151 MiB for a process that grew between samples, an attack, 2 Dec 2026)
    if (
      Number.isNaN(kb) ||
      f.peakLower[i] === 1 ||
      (f.execPeakKb[i] === Number.POSITIVE_INFINITY && !Number.isNaN(splitAt(f, i)))
    )
      open = true;
  }
  if (open) return { peakRssKb: largest, peakRssUpperKb: Number.POSITIVE_INFINITY, peakRssExact: false };
  const upper = Math.max(largest, upperBoundAt(f, at));
  return { peakRssKb: largest, peakRssUpperKb: upper, peakRssExact: upper === largest };
}

/** Processes' summed CPU (µs) and I/O (bytes), an unknown figure counted as 0, and per figure how many lack it. */
export interface FigureSums {
  cpuUs: number;
  readBytes: number;
  writeBytes: number;
  rchar: number;
  wchar: number;
  unknown: UnknownCounts;
}

export const newSums = (): FigureSums => ({
  cpuUs: 0,
  readBytes: 0,
  writeBytes: 0,
  rchar: 0,
  wchar: 0,
  unknown: { cpu: 0, peakRss: 0, readBytes: 0, writeBytes: 0, rchar: 0, wchar: 0 },
});

/** Add the figures of the process at position `i` of `f` to `s` (a step's roll-up and the run's totals share this). */
export function addFigures(s: FigureSums, f: Figures, i: number): void {
  const user = f.userUs[i]!;
  const read = f.readBytes[i]!;
  const write = f.writeBytes[i]!;
  const rchar = f.rchar[i]!;
  const wchar = f.wchar[i]!;
  s.cpuUs += or0(user) + or0(f.systemUs[i]!);
  s.readBytes += or0(read);
  s.writeBytes += or0(write);
  s.rchar += or0(rchar);
  s.wchar += or0(wchar);
  const u = s.unknown;
  if (Number.isNaN(user)) u.cpu++;
  if (Number.isNaN(f.peakRssKb[i]!)) u.peakRss++;
  if (Number.isNaN(read)) u.readBytes++;
  if (Number.isNaN(write)) u.writeBytes++;
  if (Number.isNaN(rchar)) u.rchar++;
  if (Number.isNaN(wchar)) u.wchar++;
}

/** The root of a step as rollUp reads it: its position, pid, exit and command line (as the table shows it). */
export interface StepRoot {
  at: number;
  pid: number;
  command: string;
  exitCode: number | null;
  signal: number | null;
}

/**
 * The step `naming` names: the processes at positions `at` of `f` (all its processes, its root
 * `root` among them) rolled up. `own`: the processes are no subtree (an `other` step's), and those
 * flagged 1 there stand for the step by their own name or executable: each counts from its final
 * image's start, as a root does.
 */
export function rollUp(
  f: Figures,
  root: StepRoot,
  at: ArrayLike<number>,
  naming: StepNaming,
  own?: Uint8Array,
): Step {
  // one pass over the step's processes for every sum (a step can hold 100,000 processes)
  let firstStart = Number.POSITIVE_INFINITY;
  let lastEnd = Number.NEGATIVE_INFINITY;
  let oomKilled = false;
  let oomLimitKb: number | null = null;
  let longestUs = 0;
  const sums = newSums();
  const processIds = new Array<number>(at.length);
  for (let j = 0; j < at.length; j++) {
    const i = at[j]!;
    processIds[j] = f.id[i]!;
    // where the process stands for the step (its root, or any process of an `other` step): from its
    // final image's start (imageStartedAt), inside another's subtree: whole (a recipe's shell's work)
    const image = (own ? own[i] === 1 : i === root.at) ? f.imageStartedAt[i]! : Number.NaN;
    const start = Number.isNaN(image) ? f.startedAt[i]! : image;
    const end = f.endedAt[i]!;
    if (start < firstStart) firstStart = start;
    if (end > lastEnd) lastEnd = end;
    // since its final image began, where that is when the process became what the step counts
    const duration = Number.isNaN(image) ? f.durationUs[i]! : (end - image) * 1000;
    if (duration > longestUs) longestUs = duration;
    if (f.oomKilled[i]) {
      oomKilled = true;
      const limit = f.oomLimitKb[i]!;
      if (limit && !Number.isNaN(limit) && (oomLimitKb === null || limit > oomLimitKb)) oomLimitKb = limit;
    }
    addFigures(sums, f, i);
    // a process that became what the step counts at its exec: the CPU of its earlier images is not the step's
    if (!Number.isNaN(image)) {
      const before = f.execCpuUs[i]!;
      if (before > 0) sums.cpuUs -= Math.min(before, or0(f.userUs[i]!) + or0(f.systemUs[i]!));
    }
  }
  const { cpuUs, rchar, wchar, readBytes, writeBytes, unknown } = sums;
  const rootImage = own && own[root.at] !== 1 ? Number.NaN : f.imageStartedAt[root.at]!;
  const rootStart = Number.isNaN(rootImage) ? f.startedAt[root.at]! : rootImage;
  // no process of the step has a known start (all recovered from late reports): its first known end
  const startedAt = !Number.isNaN(rootStart)
    ? rootStart
    : Number.isFinite(firstStart)
      ? firstStart
      : Number.isFinite(lastEnd)
        ? lastEnd
        : Number.NaN;
  const rootEnd = f.endedAt[root.at]!;
  const endedAt = Number.isNaN(rootEnd) ? null : lastEnd;
  const peak = peakRssAt(f, at);
  const { exitCode, signal } = root;
  // one object per step, built whole (a run can have 50,000 steps)
  const step: Step = {
    rootId: f.id[root.at]!,
    pid: root.pid,
    command: root.command,
    processIds,
    startedAt,
    endedAt,
    // never shorter than one of its processes' exact lifetime (ms timestamps round; a step of one
    // process showed a shorter wall than that process)
    durationMs: endedAt === null ? null : Math.max(endedAt - startedAt, longestUs / 1000),
    cpuUs,
    peakRssKb: peak.peakRssKb,
    peakRssUpperKb: peak.peakRssUpperKb,
    peakRssExact: peak.peakRssExact,
    rchar,
    wchar,
    readBytes,
    writeBytes,
    exitCode,
    signal,
    oomKilled,
    oomLimitKb,
    failed: oomKilled || signal !== null || (exitCode !== null && exitCode !== 0),
    index: naming.index,
    key: naming.key,
    name: naming.name,
    kind: naming.kind,
    tool: naming.tool,
    tools: naming.tools,
    workdir: naming.workdir,
  };
  // only when some figure is missing (most runs: none; no object per step)
  if (
    unknown.cpu ||
    unknown.peakRss ||
    unknown.readBytes ||
    unknown.writeBytes ||
    unknown.rchar ||
    unknown.wchar
  )
    step.unknown = unknown;
  return step;
}

// once per step or per process of a report (src/core/jit-tier.ts)
dfgOnly(every, boundedPeak, upperBoundAt, orderOf, sweepAt, smallAt, peakRssAt, newSums, addFigures, rollUp);
