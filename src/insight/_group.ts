/**
 * One group of `tracer advise` (src/insight/advise.ts) over the runs folded so far: a few numbers per
 * instance — the figures whose p50/p95 it gives — and running counts, never the step itself (a
 * step holds its processes' ids and command line: 10 runs of 100,000 processes held as steps were
 * ~500 MB).
 */
import type { Step } from "../steps/types.ts";
import type { Request } from "./_requests.ts";

/** at most this many instances of a group are asked for their request (the first in fold order) */
export const REQUEST_TRIES = 20;
/** CPU (ms) a step can show beyond its wall without a second core (see advise.ts's note) */
const CPU_NOISE_MS = 10;

/** the cores a step kept busy: ⌈(CPU − 10 ms) ÷ wall − 0.1⌉, at least 1 */
export const parallelism = (s: Pick<Step, "durationMs" | "cpuUs">) =>
  s.durationMs ? Math.max(1, Math.ceil((s.cpuUs / 1000 - CPU_NOISE_MS) / s.durationMs - 0.1)) : 1;

export type RequestOf = (run: number, step: Step) => Request | undefined;

export class Group {
  /** peak RSS (bytes), CPU (s) of every instance; wall (ms, to the µs) of those with one */
  readonly peaks: number[] = [];
  readonly cpus: number[] = [];
  readonly walls: number[] = [];
  /** CPU ÷ (wall × parallelism) of the instances with a wall above 0 */
  readonly efficiencies: number[] = [];
  parallel = 1;
  failures = 0;
  oomKills = 0;
  /** the OOM-killed instance last in fold order: its ordinal (-1: none) and peak (bytes) */
  oomAt = -1;
  oomPeak = 0;
  /** the largest cgroup limit an instance was OOM-killed at, KiB (0: none recorded) */
  oomLimitKb = 0;
  readonly runs = new Set<number>();
  /** ordinals of the group's first REQUEST_TRIES instances, and the first of them with a known request */
  readonly tried: number[] = [];
  request: Request | null = null;
  requestAt = -1;

  /** `first`: the ordinal (in fold order) of its first instance */
  constructor(
    readonly name: string,
    readonly kind: string,
    readonly rule: string | null,
    public first: number,
  ) {}

  get instances(): number {
    return this.peaks.length;
  }

  /** One instance: `step` of the `run`th run folded, the `at`th step folded. */
  add(run: number, step: Step, at: number, requestOf: RequestOf): void {
    this.peaks.push(step.peakRssKb * 1024);
    this.cpus.push(step.cpuUs / 1e6);
    // to the µs, as the report's JSON gives it
    if (step.durationMs !== null) this.walls.push(Math.round(step.durationMs * 1000) / 1000);
    const p = parallelism(step);
    if (step.durationMs) this.efficiencies.push(step.cpuUs / 1000 / step.durationMs / p);
    if (p > this.parallel) this.parallel = p;
    if (step.failed) this.failures++;
    if (step.oomKilled) {
      this.oomKills++;
      this.oomAt = at;
      this.oomPeak = step.peakRssKb * 1024;
      if ((step.oomLimitKb ?? 0) > this.oomLimitKb) this.oomLimitKb = step.oomLimitKb!;
    }
    this.runs.add(run);
    // `other` steps get no request, and are not asked for one
    if (this.kind === "other" || this.tried.length >= REQUEST_TRIES) return;
    this.tried.push(at);
    if (this.request !== null) return;
    const r = requestOf(run, step);
    if (r) {
      this.request = r;
      this.requestAt = at;
    }
  }

  /**
   * `o`'s instances added to this group's, as if each had been added in fold order: the request is the
   * first known among the merged group's first REQUEST_TRIES instances (each side asked its own first
   * ones until one answered, and those come before any it did not ask).
   */
  merge(o: Group): void {
    for (const [to, from] of [
      [this.peaks, o.peaks],
      [this.cpus, o.cpus],
      [this.walls, o.walls],
      [this.efficiencies, o.efficiencies],
    ] as const)
      for (const v of from) to.push(v);
    this.parallel = Math.max(this.parallel, o.parallel);
    this.failures += o.failures;
    this.oomKills += o.oomKills;
    if (o.oomAt > this.oomAt) {
      this.oomAt = o.oomAt;
      this.oomPeak = o.oomPeak;
    }
    this.oomLimitKb = Math.max(this.oomLimitKb, o.oomLimitKb);
    for (const r of o.runs) this.runs.add(r);
    this.first = Math.min(this.first, o.first);
    const tried = [...this.tried, ...o.tried].sort((a, b) => a - b).slice(0, REQUEST_TRIES);
    const last = tried.at(-1) ?? -1;
    const mine = this.requestAt >= 0 && this.requestAt <= last;
    const theirs = o.requestAt >= 0 && o.requestAt <= last;
    if (theirs && (!mine || o.requestAt < this.requestAt)) {
      this.request = o.request;
      this.requestAt = o.requestAt;
    } else if (!mine) {
      this.request = null;
      this.requestAt = -1;
    }
    this.tried.length = 0;
    this.tried.push(...tried);
  }
}
