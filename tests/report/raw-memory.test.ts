/**
 * `tracer report --json` streams a run's raw rows in memory bounded by what is read and written at a
 * time, whatever a row's size: the rows are read a page of a bounded number of command-line characters
 * at a time (src/store/scan.ts PAGE_CHARS, pages sized by the last one's argv), stringified a bounded piece at a time and the heap collected
 * by the characters written (src/report/raw.ts). 3,000 processes of one 64,000-byte argument each
 * (the "long-argv" shape of tests/helpers/bigrun.ts, what tests/fixtures/bigargv.c records), the
 * compiled binary's peak RSS read by tests/fixtures/maxrss.c. Before (pages of 10,000 rows, a full
 * collection every 10,000 rows): 752 MB; now 90 MB (2 Dec 2026, this 2-core VM).
 */
import { afterAll, expect, test } from "bun:test";
import { ARGV_BYTES, bigRun, withPeakRss } from "../helpers/bigrun.ts";
import { BIN, cleanupTemp, ensureBuilt } from "../helpers/harness.ts";

afterAll(cleanupTemp);

const PROCESSES = 3000;
const MAX_RSS = 200 * 2 ** 20;
const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MB`;

test(`report --json of ${PROCESSES} processes with ${ARGV_BYTES}-byte command lines: peak RSS under ${mb(MAX_RSS)}`, async () => {
  ensureBuilt();
  const run = bigRun("long-argv", PROCESSES);
  const env = {
    ...process.env,
    NO_COLOR: "1",
    TRACER_STATE_DIR: run.stateDir,
    TRACER_RUNTIME_DIR: `${run.stateDir}-run`,
  };
  const r = await withPeakRss([BIN, "report", run.name, "--json"], env);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  console.log(`report --json of ${r.stdout.length} characters: peak RSS ${mb(r.peakBytes)}`);
  // every row written, each with its whole command line (not parsed here: ~200 MB of JSON)
  expect(r.stdout.startsWith('{\n  "run": {')).toBe(true);
  expect(r.stdout.endsWith("\n}\n")).toBe(true);
  expect(r.stdout.split('\n      "argv": [').length - 1).toBe(PROCESSES);
  expect(r.stdout.length).toBeGreaterThan(PROCESSES * ARGV_BYTES);
  expect(r.peakBytes).toBeLessThan(MAX_RSS);
}, 120_000);
