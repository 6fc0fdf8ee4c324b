/** Roll a subtree of processes up into one step's figures. */
import type { RssSamples, Step, StepProcess } from "./types.ts";

type Figures = Omit<Step, "index" | "key" | "name" | "kind" | "tool" | "tools" | "workdir">;

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
  const kb: number[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  for (const p of procs) {
    if (!p.peakRssKb || p.peakRssKb <= 0) continue;
    kb.push(p.peakRssKb);
    starts.push(p.startedAt ?? Number.NEGATIVE_INFINITY);
    ends.push(p.endedAt ?? Number.POSITIVE_INFINITY);
  }
  // compared, not subtracted: two unknown starts (−∞ − −∞) would give NaN
  const cmp = (x: number, y: number) => (x < y ? -1 : x > y ? 1 : 0);
  const byStart = Uint32Array.from(kb.keys()).sort((a, b) => cmp(starts[a]!, starts[b]!));
  const byEnd = Uint32Array.from(kb.keys()).sort((a, b) => cmp(ends[a]!, ends[b]!));
  // the sum only rises at a start: there, drop every process that ended before it, add this one
  let alive = 0;
  let max = 0;
  let e = 0;
  for (const i of byStart) {
    for (; e < byEnd.length && ends[byEnd[e]!]! < starts[i]!; e++) alive -= kb[byEnd[e]!]!;
    alive += kb[i]!;
    if (alive > max) max = alive;
  }
  return max;
}

/** Peak memory of a step or a run: the sampled peak (a lower bound) and the upper bound beside it. */
export function peakRss(procs: StepProcess[], samples: RssSamples): PeakRss {
  const byInstant = new Map<number, number>();
  for (const p of procs)
    for (const s of samples.get(p.id) ?? []) byInstant.set(s.at, (byInstant.get(s.at) ?? 0) + s.rssKb);
  const seen = Math.max(
    maxOf(byInstant.values(), 0),
    maxOf(
      procs.map((p) => p.peakRssKb ?? 0),
      0,
    ),
  );
  // a sample can exceed a per-process peak read earlier: the bound never goes below what was seen
  const upper = Math.max(seen, peakRssUpperBound(procs));
  return { peakRssKb: seen, peakRssUpperKb: upper, peakRssExact: upper === seen };
}

export function rollUp(root: StepProcess, procs: StepProcess[], samples: RssSamples): Figures {
  // one pass over the step's processes for every sum (a step can hold 100,000 processes)
  let firstStart = Number.POSITIVE_INFINITY;
  let lastEnd = Number.NEGATIVE_INFINITY;
  let oomKilled = false;
  let oomLimitKb: number | null = null;
  let cpuUs = 0;
  let rchar = 0;
  let wchar = 0;
  let readBytes = 0;
  let writeBytes = 0;
  let longestUs = 0;
  const unknown = { cpu: 0, peakRss: 0, readBytes: 0, writeBytes: 0, rchar: 0, wchar: 0 };
  const processIds = new Array<number>(procs.length);
  for (let i = 0; i < procs.length; i++) {
    const p = procs[i]!;
    processIds[i] = p.id;
    if (p.startedAt !== null && p.startedAt < firstStart) firstStart = p.startedAt;
    if (p.endedAt !== null && p.endedAt > lastEnd) lastEnd = p.endedAt;
    if (p.oomKilled) oomKilled = true;
    if (p.durationUs && p.durationUs > longestUs) longestUs = p.durationUs;
    if (p.userUs === null) unknown.cpu++;
    if (p.peakRssKb === null) unknown.peakRss++;
    if (p.readBytes === null) unknown.readBytes++;
    if (p.writeBytes === null) unknown.writeBytes++;
    if (p.rchar === null) unknown.rchar++;
    if (p.wchar === null) unknown.wchar++;
    if (p.oomKilled && p.oomLimitKb && (oomLimitKb === null || p.oomLimitKb > oomLimitKb))
      oomLimitKb = p.oomLimitKb;
    cpuUs += (p.userUs ?? 0) + (p.systemUs ?? 0);
    rchar += p.rchar ?? 0;
    wchar += p.wchar ?? 0;
    readBytes += p.readBytes ?? 0;
    writeBytes += p.writeBytes ?? 0;
  }
  // no process of the step has a known start (all recovered from late reports): its first known end
  const startedAt =
    root.startedAt ??
    (Number.isFinite(firstStart) ? firstStart : Number.isFinite(lastEnd) ? lastEnd : Number.NaN);
  const endedAt = root.endedAt === null ? null : lastEnd;
  return {
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
    ...peakRss(procs, samples),
    rchar,
    wchar,
    readBytes,
    writeBytes,
    exitCode: root.exitCode,
    signal: root.signal,
    oomKilled,
    oomLimitKb,
    failed: oomKilled || root.signal !== null || (root.exitCode !== null && root.exitCode !== 0),
    // only when some figure is missing (most runs: none; no object per step)
    ...(Object.values(unknown).some((n) => n > 0) ? { unknown } : {}),
  };
}
