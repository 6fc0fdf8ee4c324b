/**
 * A report's memory is bounded by the processes, not by their command lines (src/steps/_text.ts keeps
 * a head of each argv text, its length and a hash): a real run of 20,000 processes, one after another,
 * each exec'ing /bin/true with one 4 KB argument (tests/fixtures/bigargv.c), is reported in a table
 * that is ~1 KB. Holding every argv whole, `tracer report` peaked at 340 MiB for it; with heads at
 * 86–90 MiB (withPeakRss, 2 Dec 2026). `report --json` prints every argv (80 MB): it streams them, and
 * held every row when a run's rows were not in start order (a recorded run's are not quite): 382 →
 * 120 MiB.
 */
import { afterAll, expect, test } from "bun:test";
import { probeConnector } from "../../src/observe/connector.ts";
import { cProgram, withPeakRss } from "../helpers/bigrun.ts";
import { BIN, cleanupTemp, isolatedEnv, run } from "../helpers/harness.ts";

afterAll(cleanupTemp);

const connector = probeConnector();
if (!connector.available)
  console.warn(`argv-rss: skipped, the proc connector is not available here (${connector.reason})`);

test.skipIf(!connector.available)(
  "20,000 processes with 4 KB command lines: the table's peak RSS stays under 140 MiB, --json's under 180",
  async () => {
    const env = isolatedEnv();
    const rec = await run(["run", "--quiet", "--name", "long", "--", cProgram("bigargv"), "20000", "4000"], {
      env,
    });
    expect(rec.code, rec.stderr).toBe(0);
    const p = await withPeakRss([BIN, "report", "long"], env);
    expect(p.code, p.stderr).toBe(0);
    // the run is what it should be: the 20,000 `true`s in one step, shown with their 4 KB argument
    expect(p.stdout).toMatch(/\b20000 +true\n/);
    expect(p.stdout).toContain("true abcdefghijklmnopqrstuvwxyz");
    const raw = JSON.parse((await run(["report", "long", "--format", "json"], { env })).stdout) as {
      steps: { name: string; command: string }[];
    };
    expect(raw.steps.find((s) => s.name === "true")!.command.length).toBe("true ".length + 4000);
    const peakMiB = p.peakBytes / 2 ** 20;
    expect(peakMiB).toBeGreaterThan(20);
    expect(peakMiB).toBeLessThan(140);
    const json = await withPeakRss([BIN, "report", "long", "--json"], env);
    expect(json.code, json.stderr).toBe(0);
    const rows = (JSON.parse(json.stdout) as { processes: { argv: string[] | null }[] }).processes;
    expect(rows.filter((r) => r.argv?.[1]?.length === 4000).length).toBeGreaterThan(19_000);
    expect(json.peakBytes / 2 ** 20).toBeLessThan(180);
  },
  180_000,
);
