/**
 * Compare two runs step by step (`tracer diff`). Steps are matched by their key (Step.key, docs/RULES.md);
 * for each pair: wall, CPU, peak RSS, read and written bytes with absolute and relative change, the
 * exit, and a status change (newly failed, newly OOM-killed, fixed). Steps only in A or only in B are
 * listed apart. Order: status changes first (new failures and OOM kills, then fixes), then by impact:
 * how much of run A the step's change moved, the largest of |Δ wall| ÷ A's wall, |Δ CPU| ÷ A's CPU and
 * |Δ peak RSS| ÷ A's peak RSS (so a 10 ms step that took 30 ms ranks below a 10 min step that took 12).
 */
import type { Report } from "../report/types.ts";
import type { Step } from "../steps/index.ts";
import { plural } from "../core/plural.ts";
import { runStatus } from "../run/format.ts";
import { exitText } from "../run/units.ts";

export const METRICS = ["wall_ms", "cpu_seconds", "peak_rss_bytes", "read_bytes", "write_bytes"] as const;
export type Metric = (typeof METRICS)[number];
/** the metrics `--fail-on-regression` watches */
export const REGRESSION_METRICS: readonly Metric[] = ["wall_ms", "cpu_seconds", "peak_rss_bytes"];

export interface Change {
  a: number | null;
  b: number | null;
  /** b − a; null when either is unknown */
  abs: number | null;
  /** (b − a) ÷ a × 100; null when either is unknown or a is 0 */
  pct: number | null;
}

export type StatusChange = "newly-failed" | "newly-oom-killed" | "fixed" | null;

export interface StepState {
  exit_code: number | null;
  signal: number | null;
  oom_killed: boolean;
  failed: boolean;
}

export interface StepDiff {
  key: string;
  name: string;
  kind: string;
  status_change: StatusChange;
  a: StepState;
  b: StepState;
  changes: Record<Metric, Change>;
  /** % of run A moved: the largest |Δ| of wall, CPU and peak RSS over run A's total of it (0 when unknown) */
  impact: number;
}

export interface OnlyStep {
  key: string;
  name: string;
  kind: string;
  failed: boolean;
  /** how the step ended (as StepState); optional: older tracers left them out */
  exit_code?: number | null;
  signal?: number | null;
  oom_killed?: boolean;
}

/** A run as the diff names it, with how it ended (status and exit: optional, older tracers left them out). */
export interface RunRef {
  id: string;
  name: string;
  pipeline: string;
  /** done | failed | aborted | interrupted | running (docs/REPORTS.md) */
  status?: string;
  exit_code?: number | null;
  signal?: number | null;
  /** the signal tracer was asked to stop the run with (status aborted); null when none */
  stop_signal?: number | null;
}

/**
 * How the run as a whole changed, as a step's status_change: A ended well (done, exit 0) and B failed
 * ("newly-failed") or was aborted ("newly-aborted"), or the reverse ("fixed"); null otherwise (both
 * ended alike, or either run's end is unknown: still running, or interrupted without an exit).
 */
export type RunStatusChange = "newly-failed" | "newly-aborted" | "fixed" | null;

export interface RunDiff {
  schema: "tracer-diff/1";
  a: RunRef;
  b: RunRef;
  /** optional: older tracers left it out */
  run_status_change?: RunStatusChange;
  steps: StepDiff[];
  only_in_a: OnlyStep[];
  only_in_b: OnlyStep[];
  /** steps left out by `threshold` (no status change, every |pct| below it) */
  hidden: number;
  /** steps whose key both runs have, shown or hidden: 0 means nothing was compared */
  matched: number;
}

/** how a step only one run has ended: "1", "SIGKILL", "OOM killed" ("?" when an older tracer left it out) */
export const onlyExit = (s: OnlyStep): string => exitText(s.exit_code, s.signal, s.oom_killed ?? false);

/** A figure none of the step's processes has is unknown (null), not 0 (Step.unknown). */
const known = (s: Step, field: keyof NonNullable<Step["unknown"]>, v: number) =>
  (s.unknown?.[field] ?? 0) >= s.processIds.length && s.processIds.length > 0 ? null : v;

const figures = (s: Step): Record<Metric, number | null> => ({
  // to the µs, as the report's JSON gives it (not the float's 15 digits)
  wall_ms: s.durationMs === null ? null : Math.round(s.durationMs * 1000) / 1000,
  cpu_seconds: known(s, "cpu", Math.round(s.cpuUs) / 1e6),
  peak_rss_bytes: known(s, "peakRss", s.peakRssKb * 1024),
  read_bytes: known(s, "readBytes", s.readBytes),
  write_bytes: known(s, "writeBytes", s.writeBytes),
});

function change(a: number | null, b: number | null): Change {
  if (a === null || b === null) return { a, b, abs: null, pct: null };
  const abs = Math.round((b - a) * 1e6) / 1e6;
  return { a, b, abs, pct: a === 0 ? null : Math.round(((b - a) / a) * 1000) / 10 };
}

/** What a diff reads of a step: its key, names, end and figures (not its processes or command). */
export interface SideStep {
  key: string;
  name: string;
  kind: string;
  state: StepState;
  figures: Record<Metric, number | null>;
}

/** What a diff reads of a run: whom it names, run A's totals (a change's impact) and each step's side. */
export interface RunSide {
  ref: RunRef;
  total: Record<string, number>;
  steps: SideStep[];
}

const state = (s: Step): StepState => ({
  exit_code: s.exitCode,
  signal: s.signal,
  oom_killed: s.oomKilled,
  failed: s.failed,
});

function statusChange(a: StepState, b: StepState): StatusChange {
  if (!a.oom_killed && b.oom_killed) return "newly-oom-killed";
  if (!a.failed && b.failed) return "newly-failed";
  if (a.failed && !b.failed) return "fixed";
  return null;
}

const STATUS_RANK: Record<string, number> = { "newly-oom-killed": 0, "newly-failed": 0, fixed: 1 };
const only = (s: SideStep): OnlyStep => ({
  key: s.key,
  name: s.name,
  kind: s.kind,
  failed: s.state.failed,
  exit_code: s.state.exit_code,
  signal: s.state.signal,
  oom_killed: s.state.oom_killed,
});
const runRef = (r: Pick<Report, "run">): RunRef => ({
  id: r.run.id,
  name: r.run.name,
  pipeline: r.run.pipeline,
  status: r.run.status,
  exit_code: r.run.exitCode ?? null,
  signal: r.run.signal ?? null,
  stop_signal: r.run.stopSignal ?? null,
});

/** the run ended well: done, exit 0, no signal */
const endedWell = (r: RunRef) => r.status === "done" && r.exit_code === 0 && r.signal === null;
/** the run ended badly: failed or aborted, or any non-zero exit or signal (whatever its status says) */
const endedBadly = (r: RunRef) =>
  r.status === "failed" ||
  r.status === "aborted" ||
  (r.exit_code !== null && r.exit_code !== undefined && r.exit_code !== 0) ||
  (r.signal !== null && r.signal !== undefined);

export function runStatusChange(a: RunRef, b: RunRef): RunStatusChange {
  if (endedWell(a) && endedBadly(b)) return b.status === "aborted" ? "newly-aborted" : "newly-failed";
  if (endedBadly(a) && endedWell(b)) return "fixed";
  return null;
}

/** "failed, exit 1", "aborted (SIGINT), exit 130", "done, exit 0": a run's end in words */
export const runEnd = (r: RunRef): string =>
  `${runStatus({ status: r.status ?? "?", stopSignal: r.stop_signal ?? null })}, exit ${exitText(r.exit_code, r.signal)}`;

/**
 * What a diff needs of a run's report: a few fields a step, so the report (each step's processes and
 * command line) can be dropped before the other run's is loaded.
 */
export function runSide(r: Pick<Report, "run" | "steps" | "totals">): RunSide {
  return {
    ref: runRef(r),
    total: {
      wall_ms: r.totals.wallMs ?? 0,
      cpu_seconds: r.totals.cpuHours * 3600,
      peak_rss_bytes: r.totals.peakRssKb * 1024,
    },
    steps: r.steps.map((s) => ({
      key: s.key,
      name: s.name,
      kind: s.kind,
      state: state(s),
      figures: figures(s),
    })),
  };
}

/**
 * The step-by-step comparison of run A with run B; `thresholdPct` hides steps with no status change
 * whose every change is below it or below REGRESSION_FLOOR (a 12 ms step taking 48 ms is +300 % of
 * noise: newcomer); 0, the default, hides none.
 */
export const diffRuns = (a: Report, b: Report, thresholdPct = 0): RunDiff =>
  diffSides(runSide(a), runSide(b), thresholdPct);

/** diffRuns of the runs' sides (runSide). */
export function diffSides(a: RunSide, b: RunSide, thresholdPct = 0): RunDiff {
  const inA = new Map(a.steps.map((s) => [s.key, s]));
  const keysB = new Set(b.steps.map((s) => s.key));
  const total = a.total;
  const steps: StepDiff[] = [];
  for (const sb of b.steps) {
    const sa = inA.get(sb.key);
    if (!sa) continue;
    const fa = sa.figures;
    const fb = sb.figures;
    const changes = Object.fromEntries(METRICS.map((m) => [m, change(fa[m], fb[m])])) as Record<
      Metric,
      Change
    >;
    let impact = 0;
    for (const m of REGRESSION_METRICS) {
      const whole = total[m] ?? 0;
      const abs = changes[m].abs;
      if (whole > 0 && abs !== null)
        impact = Math.max(impact, Math.round((Math.abs(abs) / whole) * 1000) / 10);
    }
    steps.push({
      key: sb.key,
      name: sb.name,
      kind: sb.kind,
      status_change: statusChange(sa.state, sb.state),
      a: sa.state,
      b: sb.state,
      changes,
      impact,
    });
  }
  steps.sort((x, y) => {
    const rx = x.status_change ? STATUS_RANK[x.status_change]! : 2;
    const ry = y.status_change ? STATUS_RANK[y.status_change]! : 2;
    return rx - ry || y.impact - x.impact || x.key.localeCompare(y.key);
  });
  const shown = steps.filter((s) => passesThreshold(s, thresholdPct));
  const ra = a.ref;
  const rb = b.ref;
  return {
    schema: "tracer-diff/1",
    a: ra,
    b: rb,
    run_status_change: runStatusChange(ra, rb),
    steps: shown,
    only_in_a: a.steps.filter((s) => !keysB.has(s.key)).map(only),
    only_in_b: b.steps.filter((s) => !inA.has(s.key)).map(only),
    hidden: steps.length - shown.length,
    matched: steps.length,
  };
}

/**
 * Does `--threshold PCT` show this step: a status change, or a change of at least PCT % that is also at
 * least REGRESSION_FLOOR (a 12 ms step taking 48 ms is +300 % of scheduling noise: newcomer)? PCT 0
 * shows every step.
 */
export function passesThreshold(s: StepDiff, thresholdPct: number): boolean {
  return (
    s.status_change !== null ||
    thresholdPct <= 0 ||
    METRICS.some(
      (m) =>
        Math.abs(s.changes[m].pct ?? 0) >= thresholdPct &&
        Math.abs(s.changes[m].abs ?? 0) >= (REGRESSION_FLOOR[m] ?? 0),
    )
  );
}

/**
 * Why `--fail-on-regression` cannot vouch for run B: no step of one run has its key in the other, so
 * nothing was checked (two unrelated runs, or a pipeline whose steps were all renamed). Undefined when
 * at least one step matched. `found`: regressions that need no match (the run's end, a failed step only
 * in B) were found, so it is the steps' figures that went unchecked.
 */
export function nothingCompared(d: RunDiff, found = false): { message: string; hint: string } | undefined {
  if (d.matched > 0) return undefined;
  const run = (r: RunDiff["a"], n: number) => `${r.name} (pipeline ${r.pipeline}, ${plural(n, "step")})`;
  return {
    message: `no step matched: run A ${run(d.a, d.only_in_a.length)} and run B ${run(d.b, d.only_in_b.length)} share no step key, so ${found ? "no step's figures could be compared" : "no regression could be checked"}`,
    hint:
      d.a.pipeline === d.b.pipeline
        ? "steps are matched by key (docs/REPORTS.md): check that both runs did the same work"
        : "the runs are of different pipelines: compare two runs of one pipeline (tracer runs lists them)",
  };
}

/**
 * The least growth that counts as a regression, in each metric's unit: below it a relative change is
 * run-to-run noise (a 1 ms step taking 1.2 ms is +20 %). 50 ms of wall or CPU (a dozen scheduler
 * ticks, and above tracer's per-process error bounds, docs/CAPTURE.md), 1 MiB of peak RSS.
 */
export const REGRESSION_FLOOR: Readonly<Partial<Record<Metric, number>>> = {
  wall_ms: 50,
  cpu_seconds: 0.05,
  peak_rss_bytes: 1 << 20,
};

/**
 * What `--fail-on-regression PCT` reports: the run itself newly failed or was newly aborted (A ended
 * well, B did not); each matched step whose wall, CPU or peak RSS grew by more than PCT % and by at
 * least REGRESSION_FLOOR, or that newly failed (or was newly OOM-killed); each step only in B that
 * failed (a new step, or one whose key changed, as a failed Snakemake job's may: no match in A, so it
 * cannot be "newly" failed, but A had no such failure). Empty when there is none. Steps hidden by a
 * threshold are still checked by the caller passing the unfiltered diff (threshold 0). The lines carry
 * recorded names: the caller sanitises them.
 */
export function regressions(d: RunDiff, pct: number): string[] {
  const out: string[] = [];
  if (d.run_status_change === "newly-failed" || d.run_status_change === "newly-aborted")
    out.push(`run: ${d.run_status_change} (${runEnd(d.a)} → ${runEnd(d.b)})`);
  for (const s of d.steps) {
    if (s.status_change === "newly-failed" || s.status_change === "newly-oom-killed")
      out.push(`${s.key}: ${s.status_change}`);
    for (const m of REGRESSION_METRICS) {
      const { pct: p, abs } = s.changes[m];
      if (p !== null && p > pct && abs !== null && abs >= (REGRESSION_FLOOR[m] ?? 0))
        out.push(`${s.key}: ${m} +${p}%`);
    }
  }
  for (const s of d.only_in_b) if (s.failed) out.push(`${s.key}: failed, only in B (exit ${onlyExit(s)})`);
  return out;
}
