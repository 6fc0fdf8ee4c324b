/**
 * `tracer advise` over many large runs keeps one run's report at a time (src/insight/history.ts
 * adviseRuns): its peak RSS over 8 runs is about its peak over 1, not 8 reports held at once. Eight
 * runs of 50,000 processes written through the store's API (tests/helpers/bigrun.ts) into one store, the
 * compiled binary's peak RSS read by tests/fixtures/maxrss.c. Before the fold (8ec1af7^): 103 MB for
 * `--last 1`, 243 MB for `--last 8` (+140 MB); with it 103 and 115 MB (+12 MB; 2 Dec 2026, 2-core VM).
 */
import { afterAll, expect, test } from "bun:test";
import { writeBigRun, withPeakRss } from "../helpers/bigrun.ts";
import { sharedDir } from "../helpers/shared-dirs.ts";
import { BIN, cleanupTemp, ensureBuilt } from "../helpers/harness.ts";

afterAll(cleanupTemp);

const RUNS = 8;
const PROCESSES = 50_000;
/** what advise may grow by from 1 run to RUNS: the groups' figures (a few numbers a step), not reports */
const MAX_GROWTH = 60 * 2 ** 20;
const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MB`;

test(`advise --last ${RUNS} over ${RUNS} runs of ${PROCESSES} processes: peak RSS within ${mb(MAX_GROWTH)} of --last 1`, async () => {
  ensureBuilt();
  const dir = sharedDir();
  let stateDir = "";
  for (let i = 0; i < RUNS; i++) stateDir = writeBigRun("pipeline", PROCESSES, dir).stateDir;
  const env = {
    ...process.env,
    NO_COLOR: "1",
    TRACER_STATE_DIR: stateDir,
    TRACER_RUNTIME_DIR: `${stateDir}-run`,
  };
  const advise = async (last: number) => {
    const r = await withPeakRss(
      [BIN, "advise", "--pipeline", "bench", "--last", String(last), "--format", "json"],
      env,
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const advice = JSON.parse(r.stdout) as { runs: unknown[]; steps: { name: string; runs_seen: number }[] };
    expect(advice.runs).toHaveLength(last);
    // every run was folded in: each tool's steps seen in all of them
    expect(advice.steps.find((s) => s.name === "samtools sort")?.runs_seen).toBe(last);
    return r.peakBytes;
  };
  const one = await advise(1);
  const all = await advise(RUNS);
  console.log(`advise over 1 run: ${mb(one)}; over ${RUNS}: ${mb(all)} (+${mb(all - one)})`);
  expect(all - one).toBeLessThan(MAX_GROWTH);
}, 120_000);
