/**
 * The recorder's stubs of forgotten processes (./_tracks.ts), by pid, in typed arrays: an open-addressing
 * table (linear probing, backward-shift deletion), no object and no Map entry per stub. The recorder
 * holds every process ended in the last 5 s as a stub: 17,000–31,000 of them at 4,000–6,000 processes/s,
 * which as a Map of objects cost ~150 B each (a JSC Map of 30,000 numbers alone: ~4.4 MB of heap) and
 * gave the collector as many cells to mark; here 44 B a slot, at most half the slots used.
 */

/** An ended, forgotten process: enough to link late children and to ignore late reports. */
export interface Stub {
  startTicks: number;
  startedAt?: number;
  endedAt: number;
  rowId: number;
  forgetAt: number;
}

const MIN_SLOTS = 1024;

export class StubTable {
  /** pid per slot, 0 when free (a pid is never 0) */
  private pids = new Int32Array(MIN_SLOTS);
  /** per slot: start ticks, start (NaN: unknown), end, row id, forget-at */
  private vals = new Float64Array(MIN_SLOTS * 5);
  private count = 0;
  /** no stub's forget-at is below this (a lower bound: deletes leave it as it is) */
  private firstForget = Number.POSITIVE_INFINITY;

  get size(): number {
    return this.count;
  }

  private slotOf(pid: number): number {
    const mask = this.pids.length - 1;
    for (let i = Math.imul(pid, 0x9e3779b1) & mask; ; i = (i + 1) & mask) {
      const p = this.pids[i]!;
      if (p === pid || p === 0) return i;
    }
  }

  has(pid: number): boolean {
    return this.pids[this.slotOf(pid)] === pid;
  }

  /** The stub of `pid` (a fresh object), or undefined. */
  get(pid: number): Stub | undefined {
    const i = this.slotOf(pid);
    if (this.pids[i] !== pid) return undefined;
    const v = this.vals;
    const startedAt = v[i * 5 + 1]!;
    return {
      startTicks: v[i * 5]!,
      startedAt: Number.isNaN(startedAt) ? undefined : startedAt,
      endedAt: v[i * 5 + 2]!,
      rowId: v[i * 5 + 3]!,
      forgetAt: v[i * 5 + 4]!,
    };
  }

  set(pid: number, s: Stub): void {
    let i = this.slotOf(pid);
    if (this.pids[i] !== pid) {
      if ((this.count + 1) * 2 > this.pids.length) {
        this.resize(this.pids.length * 2);
        i = this.slotOf(pid);
      }
      this.pids[i] = pid;
      this.count++;
    }
    const v = this.vals;
    v[i * 5] = s.startTicks;
    v[i * 5 + 1] = s.startedAt ?? Number.NaN;
    v[i * 5 + 2] = s.endedAt;
    v[i * 5 + 3] = s.rowId;
    v[i * 5 + 4] = s.forgetAt;
    this.firstForget = Math.min(this.firstForget, s.forgetAt);
  }

  delete(pid: number): boolean {
    const i = this.slotOf(pid);
    if (this.pids[i] !== pid) return false;
    this.removeAt(i);
    return true;
  }

  /** Drop every stub whose forget-at is before `now`. */
  expire(now: number): void {
    // Nothing due yet (a short run's end, most drains): no scan. Scanning the 1,024 slots of a table
    // holding one stub, twice, cost ~0.3 ms in cold code at the end of `tracer run -- true` (issue 15).
    if (now <= this.firstForget) {
      this.shrink();
      return;
    }
    this.firstForget = Number.POSITIVE_INFINITY;
    // scan down from the top so a backward shift never moves an unvisited entry past the scan; the
    // entries that wrap around from slot 0 are visited first, so a second pass catches what a shift
    // brought into the scanned range
    for (let pass = 0; pass < 2; pass++)
      for (let i = this.pids.length - 1; i >= 0; i--)
        while (this.pids[i] !== 0 && this.vals[i * 5 + 4]! < now) this.removeAt(i);
    for (let i = 0; i < this.pids.length; i++)
      if (this.pids[i] !== 0) this.firstForget = Math.min(this.firstForget, this.vals[i * 5 + 4]!);
    this.shrink();
  }

  private shrink(): void {
    if (this.pids.length > MIN_SLOTS && this.count * 8 < this.pids.length)
      this.resize(Math.max(MIN_SLOTS, this.pids.length / 2));
  }

  /** Empty slot `i` and shift back the entries after it that probed past it (linear probing). */
  private removeAt(i: number): void {
    const pids = this.pids;
    const v = this.vals;
    const mask = pids.length - 1;
    pids[i] = 0;
    this.count--;
    for (let j = (i + 1) & mask; pids[j] !== 0; j = (j + 1) & mask) {
      const home = Math.imul(pids[j]!, 0x9e3779b1) & mask;
      // the entry at j may move to the hole at i when its home is not in (i, j] (cyclically)
      if (i <= j ? home > i && home <= j : home > i || home <= j) continue;
      pids[i] = pids[j]!;
      v.copyWithin(i * 5, j * 5, j * 5 + 5);
      pids[j] = 0;
      i = j;
    }
  }

  private resize(slots: number): void {
    const pids = this.pids;
    const v = this.vals;
    this.pids = new Int32Array(slots);
    this.vals = new Float64Array(slots * 5);
    this.count = 0;
    for (let i = 0; i < pids.length; i++) {
      const pid = pids[i]!;
      if (pid === 0) continue;
      const j = this.slotOf(pid);
      this.pids[j] = pid;
      this.vals.set(v.subarray(i * 5, i * 5 + 5), j * 5);
      this.count++;
    }
  }
}
