/**
 * The time at least one of a group's processes ran: the union of their lifetimes. An `other` step is not
 * one subtree but every process of one executable no step holds (five `date` calls a second apart), so its
 * wall is this union, not its first start to its last end (that showed 2.4 s for 10 ms of work).
 */

/** At most this many spans are kept for drawing (the HTML timeline); the union itself is exact. */
export const MAX_SPANS = 512;

export interface Busy {
  /** ms: the union's length (0 when no lifetime is known) */
  ms: number;
  /**
   * the union's intervals as [start0, end0, start1, end1, …] (epoch ms, in order, disjoint); past
   * MAX_SPANS intervals the shortest gaps are closed until it fits, so a drawing stays bounded
   */
  spans: number[];
}

/**
 * Union of the lifetimes [start[j], end[j]] (epoch ms; NaN or end < start: left out).
 * O(k log k) in the number of lifetimes.
 */
export function busyOf(start: ArrayLike<number>, end: ArrayLike<number>): Busy {
  const k = start.length;
  const order: number[] = [];
  for (let j = 0; j < k; j++) {
    const s = start[j]!;
    const e = end[j]!;
    if (!Number.isNaN(s) && !Number.isNaN(e) && e >= s) order.push(j);
  }
  order.sort((a, b) => start[a]! - start[b]!);
  const spans: number[] = [];
  let ms = 0;
  let s0 = Number.NaN;
  let e0 = Number.NaN;
  for (const j of order) {
    const s = start[j]!;
    const e = end[j]!;
    if (!Number.isNaN(e0) && s <= e0) {
      if (e > e0) e0 = e;
      continue;
    }
    if (!Number.isNaN(e0)) {
      ms += e0 - s0;
      spans.push(s0, e0);
    }
    s0 = s;
    e0 = e;
  }
  if (!Number.isNaN(e0)) {
    ms += e0 - s0;
    spans.push(s0, e0);
  }
  return { ms, spans: coarsen(spans, MAX_SPANS) };
}

/** Close the shortest gaps between spans (flat [s, e, …]) until at most `max` remain. */
function coarsen(spans: number[], max: number): number[] {
  const n = spans.length / 2;
  if (n <= max) return spans;
  // the gaps, shortest first: closing the n − max shortest ones leaves exactly max spans
  const gaps: number[] = [];
  for (let i = 1; i < n; i++) gaps.push(i);
  const gap = (i: number) => spans[2 * i]! - spans[2 * i - 1]!;
  gaps.sort((a, b) => gap(a) - gap(b) || a - b);
  const closed = new Uint8Array(n);
  for (let j = 0; j < n - max; j++) closed[gaps[j]!] = 1;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    if (closed[i]) out[out.length - 1] = spans[2 * i + 1]!;
    else out.push(spans[2 * i]!, spans[2 * i + 1]!);
  }
  return out;
}
