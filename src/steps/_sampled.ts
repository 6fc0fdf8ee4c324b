/**
 * RSS samples reduced in one pass, never held: per step the largest sum of its processes' samples at
 * one instant (what Snakemake's benchmark calls max_rss), and the run's sum at every sampled instant.
 * Memory is the steps (and the HTML plot's ≤ 600 points), not the samples nor the instants (a run of
 * 2,000 processes alive for 2,000 s holds 4 million samples: 488 MB when every sample was an object,
 * issue 15).
 */
import type { PeakRss } from "./_rollup.ts";
import type { RssSamples, Step } from "./types.ts";

/**
 * A pass over RSS samples: `each(id, at, rssKb)` for every one (the process's row id, the instant in
 * epoch ms, RSS in KiB) until `each` returns false.
 */
export type SampleScan = (each: (id: number, at: number, rssKb: number) => boolean) => void;

/**
 * Where a run's samples come from: `stored`, the order they were written in (the sampler writes every
 * live process at one instant, then the next instant: time order, read without a sort); `sorted`, by
 * instant (a sort), for when `stored` is not in time order.
 */
export interface SampleSource {
  stored: SampleScan;
  sorted?: SampleScan;
}

/**
 * The run's sampled memory: its largest summed RSS at one instant (KiB), and that sum over time, in
 * time order: every instant, or (many) the largest of each span of equal count.
 */
export interface RunSampled {
  peakKb: number;
  series: { at: number; rssKb: number }[];
}

/** group of a process id: a step's index, NO_STEP (the run's, in no step) or NOT_THE_RUN (another run's row) */
export const NO_STEP = -1;
export const NOT_THE_RUN = -2;

interface Reduced extends RunSampled {
  /** per group, the largest sum of its processes' samples at one instant; 0: none sampled */
  groupKb: Float64Array;
}

/**
 * One pass over `scan` in time order: per group (groupOf(id) ≥ 0, of `groups`) the largest sum at one
 * instant, and the run's sum per instant (every id but NOT_THE_RUN's), kept as at most `points` points
 * (Thinned; 0: none kept). undefined when the run's samples came out of time order (the pass stopped
 * there).
 */
export function reduceSamples(
  scan: SampleScan,
  groupOf: (id: number) => number,
  groups: number,
  points = 0,
): Reduced | undefined {
  const groupKb = new Float64Array(groups);
  const sum = new Float64Array(groups);
  const sumAt = new Float64Array(groups).fill(Number.NaN);
  const series = new Thinned(points);
  let started = false;
  let runAt = 0;
  let runSum = 0;
  let peakKb = 0;
  let ordered = true;
  const instantDone = () => {
    series.add(runAt, runSum);
    if (runSum > peakKb) peakKb = runSum;
  };
  scan((id, at, kb) => {
    const g = groupOf(id);
    if (g === NOT_THE_RUN) return true;
    if (!started || at !== runAt) {
      if (started) {
        if (at < runAt) {
          ordered = false;
          return false;
        }
        instantDone();
      }
      started = true;
      runAt = at;
      runSum = 0;
    }
    runSum += kb;
    if (g >= 0) {
      if (sumAt[g] !== at) {
        if (sum[g]! > groupKb[g]!) groupKb[g] = sum[g]!;
        sum[g] = 0;
        sumAt[g] = at;
      }
      sum[g] = sum[g]! + kb;
    }
    return true;
  });
  if (!ordered) return undefined;
  if (started) instantDone();
  for (let g = 0; g < groups; g++) if (sum[g]! > groupKb[g]!) groupKb[g] = sum[g]!;
  return { groupKb, peakKb, series: series.points() };
}

/**
 * A series of any length kept as at most `max` points, in one pass and O(max) memory: each point the
 * largest of a span of equal count, the span doubling (neighbours merged) whenever 2 × max are held.
 */
class Thinned {
  private at: Float64Array;
  private kb: Float64Array;
  private n = 0;
  /** instants per point, and how many the last point holds */
  private width = 1;
  private fill = 0;
  constructor(private readonly max: number) {
    this.at = new Float64Array(2 * max);
    this.kb = new Float64Array(2 * max);
  }
  add(at: number, kb: number) {
    if (!this.max) return;
    if (this.n > 0 && this.fill < this.width) {
      if (kb > this.kb[this.n - 1]!) {
        this.at[this.n - 1] = at;
        this.kb[this.n - 1] = kb;
      }
      this.fill++;
      return;
    }
    if (this.n === this.at.length) this.halve();
    this.at[this.n] = at;
    this.kb[this.n++] = kb;
    this.fill = 1;
  }
  /** neighbours merged, the larger kept: half the points, each of twice the span */
  private halve() {
    let k = 0;
    for (let i = 0; i < this.n; i += 2) {
      const j = i + 1 < this.n && this.kb[i + 1]! > this.kb[i]! ? i + 1 : i;
      this.at[k] = this.at[j]!;
      this.kb[k++] = this.kb[j]!;
    }
    this.n = k;
    this.width *= 2;
    // the last point now holds a whole span (n was even)
    this.fill = this.width;
  }
  points(): { at: number; rssKb: number }[] {
    while (this.n > this.max) this.halve();
    const out: { at: number; rssKb: number }[] = [];
    for (let i = 0; i < this.n; i++) out.push({ at: this.at[i]!, rssKb: this.kb[i]! });
    return out;
  }
}

/** reduceSamples of a source: its stored order, else (out of time order) its sorted scan */
function reduceSource(
  src: SampleSource,
  groupOf: (id: number) => number,
  groups: number,
  points: number,
): Reduced {
  const r =
    reduceSamples(src.stored, groupOf, groups, points) ??
    (src.sorted && reduceSamples(src.sorted, groupOf, groups, points));
  if (!r) throw new Error("RSS samples out of time order and no sorted scan of them");
  return r;
}

/** Samples held per process (tests, small inputs) as a source: one scan, sorted by instant. */
export function sourceOf(samples: RssSamples): SampleSource {
  const flat: { id: number; at: number; rssKb: number }[] = [];
  for (const [id, list] of samples) for (const s of list) flat.push({ id, at: s.at, rssKb: s.rssKb });
  flat.sort((a, b) => a.at - b.at);
  const stored: SampleScan = (each) => {
    for (const s of flat) if (!each(s.id, s.at, s.rssKb)) return;
  };
  return { stored };
}

/** A peak from per-process figures (peakRssAt) with the sampled peak `kb` of the same processes added. */
export function withSampled(p: PeakRss, kb: number): PeakRss {
  if (!(kb > p.peakRssKb)) return p;
  // A sum above the bound contradicts it: the samples counted memory the bound leaves out (a vfork
  // child sampled before its exec shows its parent's pages as its own: 203 MiB "exact" for a 100 MiB
  // parent and its child, a review, 2 Dec 2026). The bound rises to what was seen, but nothing is exact
  if (kb > p.peakRssUpperKb) return { peakRssKb: kb, peakRssUpperKb: kb, peakRssExact: false };
  return { peakRssKb: kb, peakRssUpperKb: p.peakRssUpperKb, peakRssExact: p.peakRssUpperKb === kb };
}

/**
 * Add the samples to steps grouped without them (groupColumns): each step's peak becomes at least its
 * sampled peak. `ids`: the run's process row ids (a sample of any other id is another run's). Steps
 * hold disjoint processes (a step holds its whole subtree; an `other` step what no step holds); a
 * process listed by two steps counts for the first. Returns the run's sampled memory, its series kept
 * as at most `points` points (0: none).
 */
export function sampleSteps(
  steps: Step[],
  ids: ArrayLike<number>,
  src: SampleSource,
  points = 0,
): RunSampled {
  const index = new IdIndex(ids);
  for (let s = 0; s < steps.length; s++) for (const id of steps[s]!.processIds) index.claim(id, s);
  const r = reduceSource(src, index.groupOf, steps.length, points);
  for (let s = 0; s < steps.length; s++) {
    const step = steps[s]!;
    const p = withSampled(step, r.groupKb[s]!);
    step.peakRssKb = p.peakRssKb;
    step.peakRssUpperKb = p.peakRssUpperKb;
    step.peakRssExact = p.peakRssExact;
  }
  return { peakKb: r.peakKb, series: r.series };
}

/**
 * Process row id → group. A run's ids are about contiguous (one writer, or a few at once): an array
 * over their range; spread among other runs' (a daemon's long run), a map.
 */
class IdIndex {
  private lo = 0;
  private dense: Int32Array | undefined;
  private sparse: Map<number, number> | undefined;
  constructor(ids: ArrayLike<number>) {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id < lo) lo = id;
      if (id > hi) hi = id;
    }
    if (ids.length && hi - lo < 4 * ids.length) {
      this.lo = lo;
      this.dense = new Int32Array(hi - lo + 1).fill(NOT_THE_RUN);
      for (let i = 0; i < ids.length; i++) this.dense[ids[i]! - lo] = NO_STEP;
    } else {
      this.sparse = new Map();
      for (let i = 0; i < ids.length; i++) this.sparse.set(ids[i]!, NO_STEP);
    }
  }
  /** id is group g's, unless a group has it already or it is not the run's */
  claim(id: number, g: number) {
    if (this.groupOf(id) === NO_STEP) {
      if (this.dense) this.dense[id - this.lo] = g;
      else this.sparse!.set(id, g);
    }
  }
  readonly groupOf = (id: number): number => {
    if (this.dense) {
      const k = id - this.lo;
      return k >= 0 && k < this.dense.length ? this.dense[k]! : NOT_THE_RUN;
    }
    return this.sparse!.get(id) ?? NOT_THE_RUN;
  };
}
