/**
 * Sampled peaks come from one pass over the store's samples, holding none (src/steps/_sampled.ts):
 * the figures equal a brute-force reckoning of the same samples, whatever order the rows were written
 * in and whatever other run's rows lie among them, and a report's memory does not grow with them.
 */
import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { loadReport } from "../../src/report/index.ts";
import { NO_STEP, type SampleScan, reduceSamples, withSampled } from "../../src/steps/_sampled.ts";
import { loadRules } from "../../src/rules/index.ts";
import { type ProcessRecord, openStore } from "../../src/store/index.ts";
import { T0, newRun } from "./_store-runs.ts";
import { withPeakRss } from "../helpers/bigrun.ts";
import { rng } from "../helpers/rng.ts";
import { BIN, cleanupTemp, ensureBuilt, isolatedEnv, run, tempDir } from "../helpers/harness.ts";

afterAll(cleanupTemp);

/**
 * A run of `n` processes of 4 tools (each tool an `other` step: no rule names them), each alive over a
 * random span of 20 one-second instants and sampled at each with a random RSS; `order` the order the
 * samples' rows are written in; another run's process and sample rows written among them. Returns the
 * report's step peaks by tool and its totals' peak, beside the same reckoned here by brute force.
 */
function reckon(seed: number, order: "time" | "reversed", flood = 0) {
  const r = rng(seed);
  const db = openStore(join(tempDir(), "tracer.db"));
  const mine = newRun(db, "mine");
  const theirs = newRun(db, "theirs");
  const procs: { p: ProcessRecord; q: ProcessRecord; tool: string; from: number; to: number }[] = [];
  for (let i = 0; i < 40; i++) {
    const tool = `tool${r(4)}`;
    const from = r(20);
    const to = from + r(20 - from);
    // the per-process peak below every sample: the step's figure is the samples' sum
    const p: ProcessRecord = {
      pid: 1000 + i,
      startTicks: i,
      comm: tool,
      argv: [tool, `${i}`],
      startedAt: T0 + from * 1000,
      endedAt: T0 + to * 1000 + 1,
      exitCode: 0,
      peakRssKb: 1,
    };
    const q: ProcessRecord = { ...p, pid: 5000 + i, argv: [tool, "theirs"] };
    procs.push({ p, q, tool, from, to });
    mine.process(p);
    theirs.process(q);
  }
  mine.flush();
  theirs.flush();
  const samples: { i: number; at: number; kb: number }[] = [];
  for (let t = 0; t < 20; t++)
    for (let i = 0; i < procs.length; i++)
      if (procs[i]!.from <= t && t <= procs[i]!.to)
        samples.push({ i, at: T0 + t * 1000, kb: 1 + r(100_000) });
  if (order === "reversed") samples.reverse();
  // write in flushes of 7, another run's sample (10 GiB) after each of ours
  // another run's rows by the thousand among ours (flood): the run's own rows are then read sorted by
  // SQLite, the rows between its first and last being mostly not its own
  const lone: ProcessRecord = { ...procs[0]!.q, pid: 9999, startTicks: 99 };
  if (flood) {
    theirs.process(lone);
    theirs.flush();
  }
  for (let k = 0; k < samples.length; k++) {
    const s = samples[k]!;
    if (flood && k === samples.length >> 1) {
      for (let j = 0; j < flood; j++) theirs.sample(lone, { at: T0 + j, cpuPct: 1, rssKb: 10 << 20 });
      theirs.flush();
    }
    mine.sample(procs[s.i]!.p, { at: s.at, cpuPct: 1, rssKb: s.kb });
    theirs.sample(procs[s.i]!.q, { at: s.at, cpuPct: 1, rssKb: 10 << 20 });
    if (k % 7 === 6) {
      mine.flush();
      theirs.flush();
    }
  }
  mine.flush();
  theirs.flush();
  // brute force: per tool and for the run, the sum at every instant, then the largest
  const byTool = new Map<string, Map<number, number>>();
  const all = new Map<number, number>();
  for (const s of samples) {
    const tool = procs[s.i]!.tool;
    const m = byTool.get(tool) ?? new Map<number, number>();
    byTool.set(tool, m);
    m.set(s.at, (m.get(s.at) ?? 0) + s.kb);
    all.set(s.at, (all.get(s.at) ?? 0) + s.kb);
  }
  const expected = {
    steps: Object.fromEntries([...byTool].map(([t, m]) => [t, Math.max(...m.values())]).sort()),
    total: Math.max(...all.values()),
    memoryMax: Math.max(...all.values()),
  };
  const report = loadReport(db, "mine", loadRules({ files: [] }), undefined, true);
  db.close();
  const got = {
    steps: Object.fromEntries(report.steps.map((s) => [s.name, s.peakRssKb]).sort()),
    total: report.totals.peakRssKb,
    memoryMax: Math.max(...(report.memory ?? []).map((m) => m.rssKb)),
  };
  return { got, expected };
}

for (const seed of [1, 7, 42])
  for (const order of ["time", "reversed"] as const)
    for (const flood of [0, 20_000])
      test(`seed ${seed}, rows written in ${order} order among another run's${flood ? `, ${flood} of its rows amid ours` : ""}: the peaks a brute-force sum gives`, () => {
        const { got, expected } = reckon(seed, order, flood);
        expect(Object.keys(got.steps).length).toBeGreaterThan(1);
        expect(got).toEqual(expected);
      });

test("a report of 1.5 million samples: the table's peak RSS stays under 120 MB (it held every sample: 226 MB)", async () => {
  await ensureBuilt();
  const env = isolatedEnv();
  const r = await run(
    ["run", "--quiet", "--name", "sampled", "--", "sh", "-c", "for i in $(seq 1500); do /bin/true; done"],
    {
      env,
    },
  );
  expect(r.code).toBe(0);
  const db = new Database(join(env.TRACER_STATE_DIR!, "tracer.db"));
  const ids = db.query("SELECT count(*) AS n FROM processes").get() as { n: number };
  expect(ids.n).toBeGreaterThanOrEqual(1500);
  // 1,000 instants a second apart, every process at each (as a daemon's long run accumulates them)
  db.run(
    `WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < 999)
     INSERT INTO samples (process_id, at, rss_kb) SELECT p.id, ? + k.i * 1000, 1000 + p.id % 97 FROM k, processes p`,
    [T0],
  );
  const { n } = db.query("SELECT count(*) AS n FROM samples").get() as { n: number };
  const peak = db
    .query("SELECT max(t) AS kb FROM (SELECT sum(rss_kb) AS t FROM samples GROUP BY at)")
    .get() as { kb: number };
  db.close();
  expect(n).toBeGreaterThanOrEqual(1_500_000);
  // the report's own peak RSS
  const p = await withPeakRss([BIN, "report", "sampled", "--format", "json"], env);
  expect(p.code).toBe(0);
  const report = JSON.parse(p.stdout);
  // the figure is the samples' (SQLite's own sum above), not the per-process peaks'
  expect(report.totals.peak_rss_bytes).toBe(peak.kb * 1024);
  const maxRss = p.peakBytes;
  console.log(`report of ${n} samples: peak RSS ${(maxRss / 2 ** 20).toFixed(1)} MiB`);
  expect(maxRss).toBeLessThan(120 * 2 ** 20);
}, 120_000);

test("a series of 100,000 instants kept as at most 600 points, each one of them, the largest kept, in time order", () => {
  const n = 100_000;
  const r = rng(3);
  const kb = Array.from({ length: n }, () => r(1_000_000));
  const scan: SampleScan = (each) => {
    for (let i = 0; i < n; i++) if (!each(1, T0 + i * 1000, kb[i]!)) return;
  };
  const out = reduceSamples(scan, () => NO_STEP, 0, 600)!;
  expect(out.series.length).toBeLessThanOrEqual(600);
  expect(out.series.length).toBeGreaterThanOrEqual(300);
  expect(out.peakKb).toBe(Math.max(...kb));
  expect(Math.max(...out.series.map((p) => p.rssKb))).toBe(out.peakKb);
  for (let i = 0; i < out.series.length; i++) {
    const p = out.series[i]!;
    expect(kb[(p.at - T0) / 1000]).toBe(p.rssKb);
    if (i) expect(p.at).toBeGreaterThan(out.series[i - 1]!.at);
  }
  // no points asked for: none kept
  expect(reduceSamples(scan, () => NO_STEP, 0, 0)!.series).toEqual([]);
});

test("instants at ±Infinity count like any other (a store is a file: the run's peak was left without them)", () => {
  for (const edge of [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY]) {
    const rows = [
      [1, 10, 100],
      [2, 10, 50],
      [1, 20, 70],
    ];
    if (edge < 0) rows.unshift([1, edge, 9000]);
    else rows.push([2, edge, 9000]);
    const scan: SampleScan = (each) => {
      for (const [id, at, kb] of rows) if (!each(id!, at!, kb!)) return;
    };
    const out = reduceSamples(scan, (id) => (id === 1 ? 0 : 1), 2, 10)!;
    expect(out.peakKb).toBe(9000);
    expect(out.series.map((p) => p.rssKb)).toEqual(edge < 0 ? [9000, 150, 70] : [150, 70, 9000]);
    expect([...out.groupKb]).toEqual(edge < 0 ? [9000, 50] : [100, 9000]);
  }
});

test("samples out of time order stop the pass (the caller reads them again sorted)", () => {
  const scan: SampleScan = (each) => {
    for (const [id, at, kb] of [
      [1, 20, 1],
      [1, 10, 1],
    ])
      if (!each(id!, at!, kb!)) return;
  };
  expect(reduceSamples(scan, () => 0, 1)).toBeUndefined();
});

test("a sampled sum above the upper bound contradicts it: the bound rises to it, and nothing is called exact", () => {
  // a vfork child sampled before its exec shows its parent's pages as its own: the sum counted 203 MiB
  // beside a bound of ~105 MiB and was called exact (a review, 2 Dec 2026)
  expect(withSampled({ peakRssKb: 100, peakRssUpperKb: 105, peakRssExact: false }, 203)).toEqual({
    peakRssKb: 203,
    peakRssUpperKb: 203,
    peakRssExact: false,
  });
  // a sum that meets the bound: exact
  expect(withSampled({ peakRssKb: 100, peakRssUpperKb: 150, peakRssExact: false }, 150)).toEqual({
    peakRssKb: 150,
    peakRssUpperKb: 150,
    peakRssExact: true,
  });
  // below what was seen: nothing changes; no bound stays none
  const open = { peakRssKb: 100, peakRssUpperKb: Number.POSITIVE_INFINITY, peakRssExact: false };
  expect(withSampled(open, 50)).toBe(open);
  expect(withSampled(open, 120)).toEqual({
    peakRssKb: 120,
    peakRssUpperKb: Number.POSITIVE_INFINITY,
    peakRssExact: false,
  });
});
