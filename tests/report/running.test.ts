/**
 * A run still recording: its report says how long it has run so far, not `wall -` (newcomer), and the
 * totals say it is running. Oracle: the time this test waited since starting it, bounded both ways.
 */
import { afterAll, expect, test } from "bun:test";
import { BIN, cleanupTemp, isolatedEnv, run } from "../helpers/harness.ts";

afterAll(cleanupTemp);

test("report of a running run: wall so far, between the time waited and the time since the spawn", async () => {
  const env = isolatedEnv();
  const t0 = Date.now();
  const p = Bun.spawn([BIN, "run", "--quiet", "--name", "live", "--", "sleep", "30"], {
    env,
    stdout: "ignore",
    stderr: "ignore",
  });
  try {
    // the run row is written shortly after CMD starts
    let r = await run(["report", "live"], { env });
    for (let i = 0; i < 50 && r.code !== 0; i++) {
      await Bun.sleep(100);
      r = await run(["report", "live"], { env });
    }
    await Bun.sleep(1200);
    const before = Date.now();
    r = await run(["report", "live"], { env });
    const after = Date.now();
    expect(r.code, r.stderr).toBe(0);
    const m = /^started .*, wall (\d+\.\d+)s so far$/m.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const shown = Number(m![1]) * 1000;
    // the run began after t0, and the report read its clock before `after`; it had run 1.2 s by `before`
    expect(shown).toBeLessThanOrEqual(after - t0);
    expect(shown).toBeGreaterThanOrEqual(1000);
    expect(before - t0).toBeGreaterThanOrEqual(1200);
    expect(r.stdout).toMatch(/^status {4}running,/m);
    expect(r.stdout).toMatch(/^totals {4}wall - \(running\),/m);
  } finally {
    p.kill("SIGTERM");
    await p.exited;
  }
});
