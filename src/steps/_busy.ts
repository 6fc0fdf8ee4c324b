/**
 * The time at least one of a group's processes ran: the union of their lifetimes. An `other` step is not
 * one subtree but every process of one executable no step holds (five `date` calls a second apart), so its
 * wall is this union, not its first start to its last end (that showed 2.4 s for 10 ms of work).
 */

/** How finely a busy profile divides a step's extent (what the HTML timeline draws from). */
export const PROFILE_BUCKETS = 256;

/** How busy a step was along its extent: `fill[k]` is the share (0–1) of bucket k in which one of its processes ran. */
export interface BusyProfile {
  /** epoch ms: the extent the buckets divide evenly */
  from: number;
  to: number;
  /**
   * PROFILE_BUCKETS shares, each 0–1, from the exact union (their mean × (to − from) is the union's
   * length, to float32's precision: 1 KiB a step)
   */
  fill: Float32Array;
}

export interface Busy {
  /** ms: the union's length (0 when no lifetime is known) */
  ms: number;
  /** the union along [from, to] (undefined: no gap in it, busy all along its extent) */
  profile?: BusyProfile;
}

/**
 * Union of the lifetimes [start[j], end[j]] (epoch ms; NaN or end < start: left out), with its profile
 * over its own extent. O(k log k) in the number of lifetimes.
 */
export function busyOf(start: ArrayLike<number>, end: ArrayLike<number>): Busy {
  const spans = unionOf(start, end);
  let ms = 0;
  for (let k = 0; k < spans.length; k += 2) ms += spans[k + 1]! - spans[k]!;
  // one interval (no gap): busy all along its extent, drawn as a plain bar
  if (spans.length <= 2) return { ms };
  return { ms, profile: profileOf(spans, spans[0]!, spans.at(-1)!) };
}

/** The union's disjoint intervals, in order: [start0, end0, start1, end1, …]. */
function unionOf(start: ArrayLike<number>, end: ArrayLike<number>): number[] {
  const order: number[] = [];
  for (let j = 0; j < start.length; j++) {
    const s = start[j]!;
    const e = end[j]!;
    if (!Number.isNaN(s) && !Number.isNaN(e) && e >= s) order.push(j);
  }
  order.sort((a, b) => start[a]! - start[b]!);
  const spans: number[] = [];
  for (const j of order) {
    const s = start[j]!;
    const e = end[j]!;
    const last = spans.length - 1;
    if (last > 0 && s <= spans[last]!) {
      if (e > spans[last]!) spans[last] = e;
    } else spans.push(s, e);
  }
  return spans;
}

/** The share of each of PROFILE_BUCKETS buckets of [from, to] that `spans` cover. */
function profileOf(spans: readonly number[], from: number, to: number): BusyProfile {
  const n = PROFILE_BUCKETS;
  const width = (to - from) / n;
  const covered = new Float64Array(n);
  for (let k = 0; k < spans.length; k += 2) {
    const s = spans[k]!;
    const e = spans[k + 1]!;
    const last = Math.min(n - 1, Math.floor((e - from) / width));
    for (let b = Math.max(0, Math.floor((s - from) / width)); b <= last; b++) {
      const lo = from + b * width;
      covered[b]! += Math.max(0, Math.min(e, lo + width) - Math.max(s, lo));
    }
  }
  const fill = new Float32Array(n);
  for (let b = 0; b < n; b++) fill[b] = Math.min(1, covered[b]! / width);
  return { from, to, fill };
}

/**
 * A running group's busy time so far: the union of its ended lifetimes before `liveFrom` (the earliest
 * start of a process still running), to which every moment from `liveFrom` on adds (one of them runs).
 */
export interface LiveBusy {
  /** ms of the union before liveFrom */
  msBefore: number;
  /** epoch ms */
  liveFrom: number;
}

/** LiveBusy of lifetimes where a NaN end is a process still running (undefined: none runs with a known start). */
export function liveBusyOf(start: ArrayLike<number>, end: ArrayLike<number>): LiveBusy | undefined {
  let liveFrom = Number.POSITIVE_INFINITY;
  for (let j = 0; j < start.length; j++)
    if (Number.isNaN(end[j]!) && start[j]! < liveFrom) liveFrom = start[j]!;
  if (!Number.isFinite(liveFrom)) return undefined;
  const clipped = Array.from(end, (e) => (Number.isNaN(e) ? Number.NaN : Math.min(e, liveFrom)));
  const s = Array.from(start, (v) => Math.min(v, liveFrom));
  return { msBefore: busyOf(s, clipped).ms, liveFrom };
}
