/**
 * `tracer diff` keeps of each run only what it compares (src/insight/diff.ts runSide), loading the
 * second run's report after the first one's is dropped: its peak RSS is one report's and the two sides,
 * not two whole reports. Two runs of 100,000 processes written through the store's API
 * (tests/helpers/bigrun.ts) into one store, the compiled binary's peak RSS read by
 * tests/fixtures/maxrss.c beside `report --format json` of one of them. Before: diff 290 MB, the report
 * 137 MB (+153 MB); now diff 199 MB (+62 MB) (2 Dec 2026, this 2-core VM). With --json the diff's own
 * text (50 MB for these 50,002 matched steps) adds to both: 364 → 291 MB.
 */
import { afterAll, expect, test } from "bun:test";
import { writeBigRun, withPeakRss } from "../helpers/bigrun.ts";
import { sharedDir } from "../helpers/shared-dirs.ts";
import { BIN, cleanupTemp, ensureBuilt } from "../helpers/harness.ts";

afterAll(cleanupTemp);

const PROCESSES = 100_000;
/** what diff may take beyond one run's JSON report: the two runs' sides and the diff, not a second report */
const MAX_ABOVE_REPORT = 100 * 2 ** 20;
const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MB`;

test(`diff of two ${PROCESSES}-process runs: peak RSS within ${mb(MAX_ABOVE_REPORT)} of one run's report`, async () => {
  ensureBuilt();
  const dir = sharedDir();
  const a = writeBigRun("pipeline", PROCESSES, dir);
  const b = writeBigRun("pipeline", PROCESSES, dir);
  const env = {
    ...process.env,
    NO_COLOR: "1",
    TRACER_STATE_DIR: b.stateDir,
    TRACER_RUNTIME_DIR: `${b.stateDir}-run`,
  };
  const report = await withPeakRss([BIN, "report", a.runId, "--format", "json"], env);
  expect(report.code, report.stderr).toBe(0);
  // the table (--json's one string of every matched step's changes is memory for what it prints)
  const diff = await withPeakRss([BIN, "diff", a.runId, b.runId], env);
  expect(diff.code, diff.stderr).toBe(0);
  // the same synthetic pipeline twice: every step matched, each a row
  const steps = (JSON.parse(report.stdout) as { steps: unknown[] }).steps.length;
  expect(diff.stdout).toContain(`\n${steps} steps matched of ${steps} in A and ${steps} in B\n`);
  expect(diff.stdout.trimEnd().split("\n").length).toBe(steps + 5);
  console.log(`report of one run: ${mb(report.peakBytes)}; diff of two: ${mb(diff.peakBytes)}`);
  expect(diff.peakBytes - report.peakBytes).toBeLessThan(MAX_ABOVE_REPORT);
}, 120_000);
