/**
 * `tracer top` on a 100,000-process run holds objects only for what it shows (the live processes, the
 * steps): its steps are grouped from the run's processes read into columns, as `tracer report` groups
 * them (src/report/load.ts), not from an object per process. Asserted on peak RSS, never on time.
 */
import { afterAll, expect, test } from "bun:test";
import { bigRun, withPeakRss } from "../helpers/bigrun.ts";
import { BIN, cleanupTemp } from "../helpers/harness.ts";

afterAll(cleanupTemp);

/**
 * Main before (1eb3129: every process decoded and kept, every sample in a map) peaked at 201–211 MiB
 * on this run (2026-12-01, 4 runs; this test failed on it); 119–121 MiB since (`tracer report` of the
 * same run: 135 MiB).
 */
const MAX_RSS = 160 * 1024 * 1024;

test("a 100,000-process run: a one-shot top RUN shows its steps, peak RSS under 160 MB", async () => {
  const run = bigRun("pipeline", 100_000);
  // the peak RSS of top alone
  const {
    stdout,
    stderr,
    code,
    peakBytes: maxRss,
  } = await withPeakRss([BIN, "top", run.name], {
    ...process.env,
    NO_COLOR: "1",
    TRACER_STATE_DIR: run.stateDir,
    TRACER_RUNTIME_DIR: `${run.stateDir}-run`,
  });
  expect(stderr).toBe("");
  expect(code).toBe(0);
  expect(stdout).toMatch(/^steps 0 running · \d+ done · \d+ failed · processes 100000 \(0 live\)$/m);
  console.log(`top of ${run.processes} processes: peak RSS ${(maxRss / 2 ** 20).toFixed(0)} MB`);
  expect(maxRss).toBeLessThan(MAX_RSS);
}, 120_000);
