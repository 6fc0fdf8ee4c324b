/** Roll a subtree of processes up into one step's figures. */
import type { RssSamples, Step, StepProcess, UnknownCounts } from "./types.ts";

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
  /** An upper bound: the largest sum of per-process peaks over processes alive at one instant. */
  peakRssUpperKb: number;
  /** the bounds meet: peakRssKb is the peak, not only a lower bound */
  peakRssExact: boolean;
}

/**
 * The most memory processes can have held together: each process's peak counted over its whole
 * recorded lifetime [startedAt, endedAt], summed over those alive at one instant. One sweep over the
 * sorted start and end times (O(n log n), no recursion). A process with no recorded start counts from
 * the beginning, one still running (no end) to the end; at equal times a start is counted before an
 * end, so touching lifetimes count as overlapping (the bound only grows).
 */
export function peakRssUpperBound(procs: StepProcess[]): number {
  // most steps hold a few processes: no arrays, no sort (the same figure as the sweep)
  return procs.length <= SMALL ? smallUpperBound(procs) : sweepUpperBound(procs);
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
export function sweepUpperBound(procs: StepProcess[]): number {
  let n = 0;
  for (const p of procs) if (p.peakRssKb && p.peakRssKb > 0) n++;
  const kb = new Float64Array(n);
  const starts = new Float64Array(n);
  const ends = new Float64Array(n);
  let k = 0;
  for (const p of procs) {
    if (!p.peakRssKb || p.peakRssKb <= 0) continue;
    kb[k] = p.peakRssKb;
    starts[k] = p.startedAt ?? Number.NEGATIVE_INFINITY;
    ends[k++] = p.endedAt ?? Number.POSITIVE_INFINITY;
  }
  const byStart = orderOf(starts);
  const byEnd = orderOf(ends);
  // the sum only rises at a start: there, drop every process that ended before it, add this one (the
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
 * The sweep's figure for a few processes: at the start s of each process, the sweep holds every
 * process started at or before s less every process ended before s (the last of equal starts holds
 * the most), so the bound is the largest such sum.
 */
export function smallUpperBound(procs: StepProcess[]): number {
  let max = 0;
  for (const p of procs) {
    if (!p.peakRssKb || p.peakRssKb <= 0) continue;
    const s = p.startedAt ?? Number.NEGATIVE_INFINITY;
    let alive = 0;
    for (const q of procs) {
      if (!q.peakRssKb || q.peakRssKb <= 0) continue;
      if ((q.startedAt ?? Number.NEGATIVE_INFINITY) <= s) alive += q.peakRssKb;
      if ((q.endedAt ?? Number.POSITIVE_INFINITY) < s) alive -= q.peakRssKb;
    }
    if (alive > max) max = alive;
  }
  return max;
}

/**
 * The largest sum of one process's RSS samples at one instant, when its list is in time order (as
 * the store reads it); undefined when it is not.
 */
function ownSampledPeak(list: { at: number; rssKb: number }[]): number | undefined {
  let max = 0;
  for (let k = 0; k < list.length; ) {
    const at = list[k]!.at;
    if (k > 0 && at < list[k - 1]!.at) return undefined;
    let sum = 0;
    for (; k < list.length && list[k]!.at === at; k++) sum += list[k]!.rssKb;
    if (sum > max) max = sum;
  }
  return max;
}

/** the largest sum of the processes' RSS samples at one instant */
function sampledPeak(procs: StepProcess[], samples: RssSamples): number {
  const byInstant = new Map<number, number>();
  for (const p of procs) {
    // most processes of a run have no sample: no empty list made for each
    const list = samples.get(p.id);
    if (list) for (const s of list) byInstant.set(s.at, (byInstant.get(s.at) ?? 0) + s.rssKb);
  }
  return maxOf(byInstant.values(), 0);
}

/** Peak memory of a step or a run: the sampled peak (a lower bound) and the upper bound beside it. */
export function peakRss(procs: StepProcess[], samples: RssSamples): PeakRss {
  let sampled = 0;
  // the first sampled process's list; several: more than one process was sampled
  let one: { at: number; rssKb: number }[] | undefined;
  let several = false;
  let largest = 0;
  for (const p of procs) {
    if (p.peakRssKb !== null && p.peakRssKb > largest) largest = p.peakRssKb;
    const list = samples.get(p.id);
    if (!list?.length) continue;
    if (one) several = true;
    else one = list;
  }
  // one sampled process (most steps): its own samples, no map of instants
  if (one) sampled = (several ? undefined : ownSampledPeak(one)) ?? sampledPeak(procs, samples);
  const seen = Math.max(sampled, largest);
  // a sample can exceed a per-process peak read earlier: the bound never goes below what was seen
  const upper = Math.max(seen, peakRssUpperBound(procs));
  return { peakRssKb: seen, peakRssUpperKb: upper, peakRssExact: upper === seen };
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

/** Add one process's figures to `s` (a step's roll-up and the run's totals share this). */
export function addFigures(s: FigureSums, p: StepProcess): void {
  s.cpuUs += (p.userUs ?? 0) + (p.systemUs ?? 0);
  s.readBytes += p.readBytes ?? 0;
  s.writeBytes += p.writeBytes ?? 0;
  s.rchar += p.rchar ?? 0;
  s.wchar += p.wchar ?? 0;
  const u = s.unknown;
  if (p.userUs === null) u.cpu++;
  if (p.peakRssKb === null) u.peakRss++;
  if (p.readBytes === null) u.readBytes++;
  if (p.writeBytes === null) u.writeBytes++;
  if (p.rchar === null) u.rchar++;
  if (p.wchar === null) u.wchar++;
}

/** The step `naming` names: `root` and `procs` (all its processes, the root among them) rolled up. */
export function rollUp(
  root: StepProcess,
  procs: StepProcess[],
  samples: RssSamples,
  naming: StepNaming,
): Step {
  // one pass over the step's processes for every sum (a step can hold 100,000 processes)
  let firstStart = Number.POSITIVE_INFINITY;
  let lastEnd = Number.NEGATIVE_INFINITY;
  let oomKilled = false;
  let oomLimitKb: number | null = null;
  let longestUs = 0;
  const sums = newSums();
  const processIds = new Array<number>(procs.length);
  for (let i = 0; i < procs.length; i++) {
    const p = procs[i]!;
    processIds[i] = p.id;
    if (p.startedAt !== null && p.startedAt < firstStart) firstStart = p.startedAt;
    if (p.endedAt !== null && p.endedAt > lastEnd) lastEnd = p.endedAt;
    if (p.oomKilled) oomKilled = true;
    if (p.durationUs && p.durationUs > longestUs) longestUs = p.durationUs;
    if (p.oomKilled && p.oomLimitKb && (oomLimitKb === null || p.oomLimitKb > oomLimitKb))
      oomLimitKb = p.oomLimitKb;
    addFigures(sums, p);
  }
  const { cpuUs, rchar, wchar, readBytes, writeBytes, unknown } = sums;
  // no process of the step has a known start (all recovered from late reports): its first known end
  const startedAt =
    root.startedAt ??
    (Number.isFinite(firstStart) ? firstStart : Number.isFinite(lastEnd) ? lastEnd : Number.NaN);
  const endedAt = root.endedAt === null ? null : lastEnd;
  const peak = peakRss(procs, samples);
  // one object per step, built whole (a run can have 50,000 steps)
  const step: Step = {
    rootId: root.id,
    pid: root.pid,
    command: (root.argv?.length ? root.argv : [root.comm ?? "?"]).join(" "),
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
    exitCode: root.exitCode,
    signal: root.signal,
    oomKilled,
    oomLimitKb,
    failed: oomKilled || root.signal !== null || (root.exitCode !== null && root.exitCode !== 0),
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
