/**
 * Long command lines cost `tracer run` memory only while their processes are in flight (issue 15: memory
 * bounded by what is alive, not by what has run). tests/fixtures/bigargv.c runs one process at a time,
 * each exec'ing /bin/true with one 8 KB argument: before, the exec watcher kept the last 4,096 command
 * lines for 30 s whatever their size, and the recorder's full collections came every 2,000 processes
 * whatever garbage each left: 8,000 of them peaked at 108 MiB; now 77–79 MiB (withPeakRss).
 */
import { afterAll, expect, test } from "bun:test";
import { probeConnector } from "../../src/observe/connector.ts";
import { cProgram, withPeakRss } from "../helpers/bigrun.ts";
import { BIN, cleanupTemp, isolatedEnv, run } from "../helpers/harness.ts";

afterAll(cleanupTemp);

const connector = probeConnector();

test.skipIf(!connector.available)(
  "8,000 processes with 8 KB command lines, one at a time: tracer's peak RSS stays under 96 MB, every argv recorded",
  async () => {
    const env = isolatedEnv();
    const p = await withPeakRss(
      [BIN, "run", "--quiet", "--name", "long", "--", cProgram("bigargv"), "8000", "8000"],
      env,
    );
    expect(p.code, p.stderr).toBe(0);
    const peakKb = p.peakBytes / 1024;
    const rep = await run(["report", "long", "--json"], { env });
    const { run: r, processes } = JSON.parse(rep.stdout) as {
      run: { argvLost: number };
      processes: { argv: string[] | null }[];
    };
    const long = processes.filter((q) => q.argv?.[0] === "true" && q.argv[1]?.length === 8000);
    // a loaded host can make the watcher miss a short process now and then (counted as argv lost)
    expect(long.length + r.argvLost).toBeGreaterThanOrEqual(8000);
    expect(long.length).toBeGreaterThan(7900);
    expect(peakKb).toBeGreaterThan(20 * 1024);
    expect(peakKb).toBeLessThan(96 * 1024);
  },
  120_000,
);
