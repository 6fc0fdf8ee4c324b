/**
 * A report's RSS samples are its own run's, whatever other runs share the store: the report reads a
 * run's samples as a range of its process row ids (src/report/load.ts), and another run's processes
 * can hold ids inside that range (two runs recorded at once) or spread it (a long daemon run).
 */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { loadReport } from "../../src/report/index.ts";
import { loadRules } from "../../src/rules/index.ts";
import { type ProcessRecord, openStore } from "../../src/store/index.ts";
import { T0, newRun } from "./_store-runs.ts";
import { cleanupTemp, tempDir } from "../helpers/harness.ts";

afterAll(cleanupTemp);

function proc(i: number, rssKb: number): ProcessRecord {
  return {
    pid: 100 + i,
    startTicks: i,
    comm: "gzip",
    argv: ["gzip", `f${i}`],
    startedAt: T0 + i,
    endedAt: T0 + i + 1,
    exitCode: 0,
    peakRssKb: rssKb,
  };
}

/**
 * `mine` processes of run A and `theirsEach` of run B after each (row ids interleaved): A's peak and
 * its memory series' largest point (the HTML report's plot, which sums every sample read)
 */
function peakOfA(mine: number, theirsEach: number): number[] {
  const db = openStore(join(tempDir(), "tracer.db"));
  const a = newRun(db, "a");
  const b = newRun(db, "b");
  for (let i = 0; i < mine; i++) {
    const p = proc(i, 1000);
    a.process(p);
    a.sample(p, { at: T0 + 1000, cpuPct: 1, rssKb: 2000 });
    a.flush();
    for (let k = 0; k < theirsEach; k++) {
      const q = proc(1000 + i * theirsEach + k, 1_000_000);
      b.process(q);
      b.sample(q, { at: T0 + 1000, cpuPct: 1, rssKb: 5_000_000 });
    }
    b.flush();
  }
  const r = loadReport(db, "a", loadRules({ files: [] }), undefined, true);
  db.close();
  expect(r.totals.processes).toBe(mine);
  return [r.totals.peakRssKb, Math.max(...(r.memory ?? []).map((m) => m.rssKb))];
}

test("ids interleaved with another run's (read as a range): only the run's own samples count", () => {
  // A's samples at one instant: 10 × 2,000 KiB; B's would add 5,000,000 KiB each
  expect(peakOfA(10, 1)).toEqual([20_000, 20_000]);
});

test("ids spread far among another run's (read per process): only the run's own samples count", () => {
  expect(peakOfA(3, 50)).toEqual([6_000, 6_000]);
});
