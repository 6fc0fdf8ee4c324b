/**
 * Right-sizing advice over the last runs of a pipeline (`tracer advise`). Steps of the runs are grouped
 * by what they are an instance of — a Nextflow task by its process name (the task name without its
 * ` (tag)`), a Snakemake job by its rule when `ruleOf` knows it, any other step by its kind and name
 * (its key without the `#N` ordinal) — and each group gets
 * p50/p95/max of peak RSS, wall and CPU, its CPU efficiency, failures, OOM kills, and suggested requests
 * that are never below what was observed:
 *   memory = max(p95 peak × 1.2, max peak), rounded up (128 MiB steps to 1 GiB, then whole GiB); a group
 *            OOM-killed in some run gets at least 1.5 × the memory cgroup limit it died at (the largest
 *            recorded), or, when no limit was recorded, 1.5 × the peak it died at
 *   cpus   = the observed parallelism, max over instances of ⌈(CPU − 10 ms) ÷ wall − 0.1⌉ (at least 1: a
 *            10 % overshoot, or CPU up to 10 ms above the wall — the slice a shell was running when it
 *            exec'd the tool, a tick — is measurement noise of short steps, not a second core)
 *   time   = p95 wall × 1.5, rounded up to whole minutes (at least 1)
 * `other` steps (engines, wrappers, unnamed commands) are reported but get no request.
 * Where a step's own request is known (src/insight/_requests.ts), it is shown and a figure is flagged
 * over-requested when the request is more than OVER_REQUEST × the suggestion.
 */
import type { Report } from "../report/types.ts";
import type { Step } from "../steps/index.ts";
import { Group, type RequestOf } from "./_group.ts";
import type { Request } from "./_requests.ts";

/** Fewer runs than this make the advice weak (said in every output). */
export const MIN_RUNS = 3;
export const MEMORY_HEADROOM = 1.2;
export const OOM_HEADROOM = 1.5;
export const TIME_HEADROOM = 1.5;
/** a request above this many times the suggestion is flagged over-requested */
export const OVER_REQUEST = 2;

export interface Spread {
  p50: number;
  p95: number;
  max: number;
}

export interface StepAdvice {
  /** the Nextflow process name, the Snakemake rule, or the step's name */
  name: string;
  /** the Snakemake rule the group's jobs ran, when known (then `name` is it) */
  snakemake_rule: string | null;
  kind: string;
  /** step instances seen, and in how many of the runs */
  instances: number;
  runs_seen: number;
  peak_rss_bytes: Spread;
  wall_ms: Spread;
  cpu_seconds: Spread;
  /** CPU ÷ (wall × cpus used), cpus used = the observed parallelism; p50 over instances */
  cpu_efficiency: number | null;
  failures: number;
  oom_kills: number;
  /** the peak of the instance that was OOM-killed last */
  oom_peak_bytes: number | null;
  /** the largest memory cgroup limit an instance was OOM-killed at (null: none recorded) */
  oom_limit_bytes: number | null;
  /**
   * null for `other` steps. memory_basis: what set the memory — the observed peaks, the OOM limit
   * (1.5 × oom_limit_bytes) or, with no limit recorded, the OOM peak (1.5 × oom_peak_bytes)
   */
  suggest: {
    memory_bytes: number;
    cpus: number;
    time_minutes: number;
    memory_basis: "observed" | "oom-limit" | "oom-peak";
  } | null;
  /** what the newest instance with a readable request asked for (null: not known) */
  requested: Request | null;
  /** figures whose request is more than OVER_REQUEST × the suggestion */
  over_requested: ("memory" | "cpus" | "time")[];
}

export interface Advice {
  schema: "tracer-advice/1";
  pipeline: string;
  runs: { id: string; name: string }[];
  /** set when there are fewer than MIN_RUNS runs: why the advice is weak */
  weak: string | null;
  steps: StepAdvice[];
}

/** nearest-rank percentile of sorted values */
function pct(sorted: ArrayLike<number>, p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
function spread(values: Float64Array): Spread {
  const s = values.sort();
  return { p50: pct(s, 50), p95: pct(s, 95), max: s.length ? s[s.length - 1]! : 0 };
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** memory rounded up: 128 MiB steps up to 1 GiB, whole GiB above */
export function roundMemory(bytes: number): number {
  if (bytes <= GiB) return Math.max(1, Math.ceil(bytes / (128 * MiB))) * 128 * MiB;
  return Math.ceil(bytes / GiB) * GiB;
}

/** what a step is an instance of */
export function groupName(s: Step): string {
  return s.kind === "nextflow-task" ? s.name.replace(/\s+\([^()]*\)$/, "") : s.name;
}

/** The advice of one group from its figures. */
function adviseGroup(g: Group): StepAdvice {
  const peak = spread(Float64Array.from(g.peaks));
  const wall = spread(Float64Array.from(g.walls));
  const cpu = spread(Float64Array.from(g.cpus));
  const eff = Float64Array.from(g.efficiencies).sort();
  const oomPeak = g.oomKills ? g.oomPeak : null;
  const oomLimit = g.oomLimitKb > 0 ? g.oomLimitKb * 1024 : null;
  let suggest: StepAdvice["suggest"] = null;
  const requested = g.kind !== "other" ? g.request : null;
  const over: StepAdvice["over_requested"] = [];
  if (g.kind !== "other") {
    let memory = Math.max(peak.p95 * MEMORY_HEADROOM, peak.max);
    let basis: NonNullable<StepAdvice["suggest"]>["memory_basis"] = "observed";
    // the limit it died at, read from the cgroup; only without one the peak recorded when it died
    const oomFloor = oomLimit ?? oomPeak;
    if (oomFloor !== null && oomFloor * OOM_HEADROOM > memory) {
      memory = oomFloor * OOM_HEADROOM;
      basis = oomLimit !== null ? "oom-limit" : "oom-peak";
    }
    suggest = {
      memory_bytes: roundMemory(memory),
      cpus: g.parallel,
      time_minutes: Math.max(1, Math.ceil((wall.p95 * TIME_HEADROOM) / 60_000)),
      memory_basis: basis,
    };
    if (requested) {
      const r = requested;
      if (r.memory_bytes !== null && r.memory_bytes > OVER_REQUEST * suggest.memory_bytes)
        over.push("memory");
      if (r.cpus !== null && r.cpus > OVER_REQUEST * suggest.cpus) over.push("cpus");
      if (r.time_minutes !== null && r.time_minutes > OVER_REQUEST * suggest.time_minutes) over.push("time");
    }
  }
  return {
    name: g.name,
    snakemake_rule: g.rule,
    kind: g.kind,
    instances: g.instances,
    runs_seen: g.runs.size,
    peak_rss_bytes: peak,
    wall_ms: wall,
    cpu_seconds: cpu,
    cpu_efficiency: eff.length ? Math.round(pct(eff, 50) * 1000) / 1000 : null,
    failures: g.failures,
    oom_kills: g.oomKills,
    oom_peak_bytes: oomPeak,
    oom_limit_bytes: oomLimit,
    suggest,
    requested,
    over_requested: over,
  };
}

/**
 * How a Snakemake job step's rule is found (src/insight/_snakemake.ts SnakemakeRules). `see` is shown
 * every job step in fold order, with its run: the rule when that run tells it, undefined for none, or
 * null when only the runs to come can tell; `later`, once every run is folded, names those by key.
 */
export interface RuleFinder {
  see(run: number, row: { cwd: string | null }, step: Step): string | null | undefined;
  later?(): (key: string) => string | undefined;
}

/**
 * Advice folded from a pipeline's runs one report at a time (`add`, newest first): each report's steps
 * become figures of their groups (src/insight/_group.ts) and the report can be dropped before the next
 * is loaded, so memory is a few numbers per step instance, not the reports. `requestOf(i, step)`: what
 * a step of the ith report added asked its scheduler for, when known (src/insight/_requests.ts); a
 * group's request is its first instance's that is known, in the order added.
 */
export class Adviser {
  private readonly groups = new Map<string, Group>();
  /** job steps whose rule only the runs to come can tell, by step key and name */
  private readonly waiting = new Map<string, { key: string; group: Group }>();
  private readonly runs: { id: string; name: string }[] = [];
  /** steps folded so far */
  private at = 0;

  constructor(
    private readonly pipeline: string,
    private readonly rules: RuleFinder = { see: () => undefined },
    private readonly requestOf: RequestOf = () => undefined,
  ) {}

  add(r: Pick<Report, "run" | "steps">): void {
    const run = this.runs.length;
    this.runs.push({ id: r.run.id, name: r.run.name });
    for (const step of r.steps) {
      const at = this.at++;
      const rule = step.kind === "snakemake-job" ? this.rules.see(run, r.run, step) : undefined;
      if (rule === null) {
        const id = `${step.key}\n${step.name}`;
        let w = this.waiting.get(id);
        if (!w) {
          w = { key: step.key, group: new Group(groupName(step), step.kind, null, at) };
          this.waiting.set(id, w);
        }
        w.group.add(run, step, at, this.requestOf);
        continue;
      }
      this.group(rule ?? null, groupName(step), step.kind, at).add(run, step, at, this.requestOf);
    }
  }

  /** the group of a step named `name` of `kind`, or of Snakemake rule `rule`; made if new */
  private group(rule: string | null, name: string, kind: string, at: number): Group {
    const id = rule !== null ? `snakemake-rule:${rule}` : `${kind}:${name}`;
    let g = this.groups.get(id);
    if (!g) {
      g = new Group(rule ?? name, kind, rule, at);
      this.groups.set(id, g);
    }
    return g;
  }

  finish(): Advice {
    const later = this.rules.later?.() ?? (() => undefined);
    for (const { key, group: w } of this.waiting.values())
      this.group(later(key) ?? null, w.name, w.kind, w.first).merge(w);
    this.waiting.clear();
    // in the order each group was first seen, then named steps first, then by peak memory
    const steps = [...this.groups.values()].sort((a, b) => a.first - b.first).map(adviseGroup);
    steps.sort(
      (a, b) =>
        Number(a.kind === "other") - Number(b.kind === "other") ||
        b.peak_rss_bytes.max - a.peak_rss_bytes.max,
    );
    const n = this.runs.length;
    const pipeline = this.pipeline;
    return {
      schema: "tracer-advice/1",
      pipeline,
      runs: this.runs,
      weak:
        n >= MIN_RUNS
          ? null
          : `only ${n} run${n === 1 ? "" : "s"} of pipeline ${pipeline}: p95 needs at least ${MIN_RUNS} runs to mean anything, so the suggestions rest on too few observations (record more runs with tracer run --pipeline ${pipeline})`,
      steps,
    };
  }
}

/**
 * Advice from the reports of a pipeline's runs (newest first or any order), held at once: Adviser's
 * fold over them. `ruleOf(i, step)` names the Snakemake rule of a job step of reports[i] when it is
 * known; `requestOf` as Adviser's.
 */
export function advise(
  pipeline: string,
  reports: Report[],
  ruleOf: (run: number, step: Step) => string | undefined = () => undefined,
  requestOf: RequestOf = () => undefined,
): Advice {
  const a = new Adviser(pipeline, { see: (run, _, step) => ruleOf(run, step) }, requestOf);
  for (const r of reports) a.add(r);
  return a.finish();
}
