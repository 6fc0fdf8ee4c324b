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
import type { Request } from "./_requests.ts";

/** Fewer runs than this make the advice weak (said in every output). */
export const MIN_RUNS = 3;
export const MEMORY_HEADROOM = 1.2;
export const OOM_HEADROOM = 1.5;
export const TIME_HEADROOM = 1.5;
/** a request above this many times the suggestion is flagged over-requested */
export const OVER_REQUEST = 2;
/** at most this many instances of a group are asked for their request (the newest first) */
const REQUEST_TRIES = 20;

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
function pct(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
function spread(values: number[]): Spread {
  const s = [...values].sort((a, b) => a - b);
  return { p50: pct(s, 50), p95: pct(s, 95), max: s.at(-1) ?? 0 };
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

const parallelism = (s: Step) =>
  s.durationMs ? Math.max(1, Math.ceil((s.cpuUs / 1000 - CPU_NOISE_MS) / s.durationMs - 0.1)) : 1;
/** CPU (ms) a step can show beyond its wall without a second core (see the module's note) */
const CPU_NOISE_MS = 10;

function adviseGroup(
  name: string,
  kind: string,
  rule: string | null,
  items: { run: number; step: Step }[],
  requestOf: (run: number, step: Step) => Request | undefined,
): StepAdvice {
  const steps = items.map((i) => i.step);
  const peak = spread(steps.map((s) => s.peakRssKb * 1024));
  // to the µs, as the report's JSON gives it
  const wall = spread(
    steps.filter((s) => s.durationMs !== null).map((s) => Math.round(s.durationMs! * 1000) / 1000),
  );
  const cpu = spread(steps.map((s) => s.cpuUs / 1e6));
  const eff = steps
    .filter((s) => s.durationMs)
    .map((s) => s.cpuUs / 1000 / s.durationMs! / parallelism(s))
    .sort((a, b) => a - b);
  const oomed = steps.filter((s) => s.oomKilled);
  const oomPeak = oomed.length ? oomed.at(-1)!.peakRssKb * 1024 : null;
  const limits = oomed.map((s) => s.oomLimitKb ?? 0).filter((kb) => kb > 0);
  const oomLimit = limits.length ? Math.max(...limits) * 1024 : null;
  let suggest: StepAdvice["suggest"] = null;
  let requested: Request | null = null;
  const over: StepAdvice["over_requested"] = [];
  if (kind !== "other") {
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
      cpus: Math.max(1, ...steps.map(parallelism)),
      time_minutes: Math.max(1, Math.ceil((wall.p95 * TIME_HEADROOM) / 60_000)),
      memory_basis: basis,
    };
    for (const i of items.slice(0, REQUEST_TRIES)) {
      requested = requestOf(i.run, i.step) ?? null;
      if (requested) break;
    }
    if (requested) {
      const r = requested;
      if (r.memory_bytes !== null && r.memory_bytes > OVER_REQUEST * suggest.memory_bytes)
        over.push("memory");
      if (r.cpus !== null && r.cpus > OVER_REQUEST * suggest.cpus) over.push("cpus");
      if (r.time_minutes !== null && r.time_minutes > OVER_REQUEST * suggest.time_minutes) over.push("time");
    }
  }
  return {
    name,
    snakemake_rule: rule,
    kind,
    instances: steps.length,
    runs_seen: new Set(items.map((i) => i.run)).size,
    peak_rss_bytes: peak,
    wall_ms: wall,
    cpu_seconds: cpu,
    cpu_efficiency: eff.length ? Math.round(pct(eff, 50) * 1000) / 1000 : null,
    failures: steps.filter((s) => s.failed).length,
    oom_kills: oomed.length,
    oom_peak_bytes: oomPeak,
    oom_limit_bytes: oomLimit,
    suggest,
    requested,
    over_requested: over,
  };
}

/**
 * Advice from the reports of a pipeline's runs (newest first or any order). `ruleOf(i, step)` names the
 * Snakemake rule of a job step of reports[i] when it is known (src/insight/_snakemake.ts);
 * `requestOf(i, step)` what the step asked its scheduler for, when known (src/insight/_requests.ts).
 * A group's request is its first instance's that is known, in the order of `reports` (pass newest first).
 */
export function advise(
  pipeline: string,
  reports: Report[],
  ruleOf: (run: number, step: Step) => string | undefined = () => undefined,
  requestOf: (run: number, step: Step) => Request | undefined = () => undefined,
): Advice {
  type Group = { name: string; kind: string; rule: string | null; items: { run: number; step: Step }[] };
  const groups = new Map<string, Group>();
  reports.forEach((r, run) => {
    for (const step of r.steps) {
      const rule = step.kind === "snakemake-job" ? (ruleOf(run, step) ?? null) : null;
      const name = rule ?? groupName(step);
      const id = rule ? `snakemake-rule:${rule}` : `${step.kind}:${name}`;
      const g = groups.get(id);
      if (g) g.items.push({ run, step });
      else groups.set(id, { name, kind: step.kind, rule, items: [{ run, step }] });
    }
  });
  const steps = [...groups.values()].map((g) => adviseGroup(g.name, g.kind, g.rule, g.items, requestOf));
  // named steps first, then by peak memory
  steps.sort(
    (a, b) =>
      Number(a.kind === "other") - Number(b.kind === "other") || b.peak_rss_bytes.max - a.peak_rss_bytes.max,
  );
  const n = reports.length;
  return {
    schema: "tracer-advice/1",
    pipeline,
    runs: reports.map((r) => ({ id: r.run.id, name: r.run.name })),
    weak:
      n >= MIN_RUNS
        ? null
        : `only ${n} run${n === 1 ? "" : "s"} of pipeline ${pipeline}: p95 needs at least ${MIN_RUNS} runs to mean anything, so the suggestions rest on too few observations (record more runs with tracer run --pipeline ${pipeline})`,
    steps,
  };
}
