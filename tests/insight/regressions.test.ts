/** `--fail-on-regression`: a relative limit, and a floor under which growth is noise. */
import { expect, test } from "bun:test";
import {
  type Change,
  METRICS,
  type Metric,
  type RunDiff,
  type StepDiff,
  passesThreshold,
  regressions,
  runStatusChange,
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

const ref = (status: string, exit_code: number | null, signal: number | null = null, stop_signal = null) => ({
  id: status,
  name: status,
  pipeline: "p",
  status,
  exit_code,
  signal,
  stop_signal,
});

test("the run's end: done → failed or aborted is a change; the reverse is 'fixed'; unknown ends are none", () => {
  const done = ref("done", 0);
  expect(runStatusChange(done, ref("failed", 1))).toBe("newly-failed");
  expect(runStatusChange(done, ref("failed", null, 9))).toBe("newly-failed");
  expect(runStatusChange(done, ref("aborted", 130))).toBe("newly-aborted");
  expect(runStatusChange(ref("failed", 1), done)).toBe("fixed");
  expect(runStatusChange(ref("aborted", null, 2), done)).toBe("fixed");
  // both ended badly, or A's end is unknown: nothing got worse that can be told
  expect(runStatusChange(ref("failed", 1), ref("aborted", 130))).toBeNull();
  expect(runStatusChange(ref("interrupted", null), ref("failed", 1))).toBeNull();
  expect(runStatusChange(done, done)).toBeNull();
  // B's end unknown (still running, or the recorder died before its exit): no change claimed
  expect(runStatusChange(done, ref("running", null))).toBeNull();
  expect(runStatusChange(done, ref("interrupted", null))).toBeNull();
  // an older tracer's diff, without the runs' ends: none
  expect(
    runStatusChange({ id: "a", name: "a", pipeline: "p" }, { id: "b", name: "b", pipeline: "p" }),
  ).toBeNull();
});

test("the run newly failing and a failed step only in B count whatever the limit; A's failures do not", () => {
  const d: RunDiff = {
    ...diff([]),
    a: ref("done", 0),
    b: ref("failed", 1),
    run_status_change: "newly-failed",
    only_in_a: [{ key: "tool:gone", name: "gone", kind: "tool", failed: true, exit_code: 2, signal: null }],
    only_in_b: [
      {
        key: "tool:new",
        name: "new",
        kind: "tool",
        failed: true,
        exit_code: 1,
        signal: null,
        oom_killed: false,
      },
      {
        key: "tool:ok",
        name: "ok",
        kind: "tool",
        failed: false,
        exit_code: 0,
        signal: null,
        oom_killed: false,
      },
      {
        key: "tool:oom",
        name: "oom",
        kind: "tool",
        failed: true,
        exit_code: null,
        signal: 9,
        oom_killed: true,
      },
      // an older tracer's entry: no exit recorded in the diff
      { key: "tool:old", name: "old", kind: "tool", failed: true },
    ],
  };
  expect(regressions(d, 1e6)).toEqual([
    "run: newly-failed (done, exit 0 → failed, exit 1)",
    "tool:new: failed, only in B (exit 1)",
    "tool:oom: failed, only in B (exit OOM killed)",
    "tool:old: failed, only in B (exit ?)",
  ]);
  // the reverse: A failed (its failed step gone from B), B did not; the run 'fixed' is no regression
  const back = { ...d, a: d.b, b: d.a, only_in_b: [] };
  expect(runStatusChange(back.a, back.b)).toBe("fixed");
  expect(regressions({ ...back, run_status_change: "fixed" }, 1e6)).toEqual([]);
  // aborted
  const cut = {
    ...d,
    b: { ...ref("aborted", null, 2), stop_signal: 2 },
    run_status_change: "newly-aborted" as const,
  };
  expect(regressions({ ...cut, only_in_b: [] }, 1e6)).toEqual([
    "run: newly-aborted (done, exit 0 → aborted (SIGINT), exit SIGINT)",
  ]);
});

test("--threshold: a change shows only past the percentage and the noise floor both (status changes always)", () => {
  // a 12 ms step taking 48 ms (+300 %): noise below 50 ms (newcomer)
  expect(passesThreshold(step("tool:tiny", { wall_ms: [12, 48] }), 10)).toBe(false);
  expect(passesThreshold(step("tool:tiny", { wall_ms: [12, 48] }), 0)).toBe(true);
  expect(passesThreshold(step("tool:slow", { wall_ms: [1000, 1200] }), 10)).toBe(true);
  expect(passesThreshold(step("tool:slow", { wall_ms: [1000, 1050] }), 10)).toBe(false);
  expect(passesThreshold(step("tool:mem", { peak_rss_bytes: [100 << 10, 400 << 10] }), 10)).toBe(false);
  expect(passesThreshold(step("tool:mem", { peak_rss_bytes: [10 << 20, 20 << 20] }), 10)).toBe(true);
  // I/O has no floor: its percentage alone
  expect(passesThreshold(step("tool:io", { write_bytes: [1000, 2000] }), 10)).toBe(true);
  const failed = { ...step("tool:tiny", { wall_ms: [12, 13] }), status_change: "newly-failed" as const };
  expect(passesThreshold(failed, 10)).toBe(true);
});
