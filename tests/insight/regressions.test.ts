/** `--fail-on-regression`: a relative limit, and a floor under which growth is noise. */
import { expect, test } from "bun:test";
import {
  type Change,
  METRICS,
  type Metric,
  type RunDiff,
  type StepDiff,
  regressions,
} from "../../src/insight/diff.ts";

const change = (a: number, b: number): Change => ({
  a,
  b,
  abs: b - a,
  pct: Math.round(((b - a) / a) * 1000) / 10,
});
const state = { exit_code: 0, signal: null, oom_killed: false, failed: false };

function step(key: string, figures: Partial<Record<Metric, [number, number]>>): StepDiff {
  const changes = Object.fromEntries(
    METRICS.map((m) => [m, figures[m] ? change(...figures[m]!) : change(1, 1)]),
  ) as Record<Metric, Change>;
  return { key, name: key, kind: "tool", status_change: null, a: state, b: state, changes, impact: 0 };
}

const diff = (steps: StepDiff[]): RunDiff => ({
  schema: "tracer-diff/1",
  a: { id: "a", name: "a", pipeline: "p" },
  b: { id: "b", name: "b", pipeline: "p" },
  steps,
  only_in_a: [],
  only_in_b: [],
  hidden: 0,
  matched: steps.length,
});

test("growth past the limit but under the floor is noise; past both it is a regression", () => {
  const d = diff([
    // a 1 ms step taking 1.5 ms, 10 ms of CPU taking 30 ms, 100 KiB of memory doubling: +50…+200 %
    step("tool:tiny", {
      wall_ms: [1, 1.5],
      cpu_seconds: [0.01, 0.03],
      peak_rss_bytes: [100 << 10, 200 << 10],
    }),
    // a 1 s step taking 1.3 s, 0.5 s CPU taking 0.6 s, 10 MiB taking 12 MiB
    step("tool:big", {
      wall_ms: [1000, 1300],
      cpu_seconds: [0.5, 0.6],
      peak_rss_bytes: [10 << 20, 12 << 20],
    }),
  ]);
  expect(regressions(d, 10)).toEqual([
    "tool:big: wall_ms +30%",
    "tool:big: cpu_seconds +20%",
    "tool:big: peak_rss_bytes +20%",
  ]);
  // the relative limit still applies above the floor
  expect(regressions(d, 25)).toEqual(["tool:big: wall_ms +30%"]);
});

test("a new failure counts whatever the figures", () => {
  const s = { ...step("tool:x", {}), status_change: "newly-failed" as const };
  expect(regressions(diff([s]), 1000)).toEqual(["tool:x: newly-failed"]);
});
