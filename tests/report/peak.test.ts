/**
 * A step's peak memory is never silently below the truth. Two 300 MiB processes of one step, alive
 * together for 0.2 s, fall between the 1 s samples most of the time: the sampled peak then shows one
 * of them (301 MiB before this was fixed, with nothing to say it was a lower bound). The report gives
 * the sampled peak and, beside it, the upper bound from the per-process peaks (taskstats hiwater_rss)
 * of processes alive together, marked exact only when the two meet.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { probeTaskstats } from "../../src/observe/taskstats.ts";
import { peakText } from "../../src/report/table.ts";
import { cleanupTemp, isolatedEnv, run, tempDir } from "../helpers/harness.ts";

afterAll(cleanupTemp);

const MiB = 1 << 20;
const probe = probeTaskstats();
if (!probe.available) console.warn(`skipping the step peak test: taskstats unavailable (${probe.reason})`);

describe.skipIf(!probe.available)("step peak memory", () => {
  test("two 300 MiB processes alive together: a peak ≥ 590 MiB, or a lower bound with an upper bound ≥ 600 MiB", async () => {
    const dir = tempDir();
    const script = join(dir, "two_peaks.py");
    // each child touches 300 MiB, then both hold it for 0.2 s; the parent waits for both
    writeFileSync(
      script,
      [
        "import subprocess, sys",
        "child = \"import time; b = b'x' * (300 << 20); time.sleep(0.2)\"",
        "kids = [subprocess.Popen([sys.executable, '-c', child]) for _ in range(2)]",
        "sys.exit(sum(k.wait() for k in kids))",
      ].join("\n"),
    );
    const env = isolatedEnv();
    const r = await run(["run", "--quiet", "--name", "peaks", "--", "/usr/bin/python3", script], { env });
    expect(r.code).toBe(0);
    const rep = await run(["report", "peaks", "--format", "json"], { env });
    const report = JSON.parse(rep.stdout) as {
      steps: {
        name: string;
        peak_rss_bytes: number;
        peak_rss_upper_bytes: number;
        peak_rss_exact: boolean;
        processes: number;
      }[];
      totals: { peak_rss_bytes: number; peak_rss_upper_bytes: number; peak_rss_exact: boolean };
    };
    const step = report.steps.find((s) => s.name === "two_peaks.py");
    expect(step?.processes).toBe(3);
    const s = step!;
    expect(s.peak_rss_upper_bytes).toBeGreaterThanOrEqual(600 * MiB);
    expect(s.peak_rss_upper_bytes).toBeGreaterThanOrEqual(s.peak_rss_bytes);
    // what the issue asks: a peak that is the truth, or one marked as a lower bound with the bound beside it
    expect(s.peak_rss_bytes >= 590 * MiB || !s.peak_rss_exact).toBe(true);
    if (s.peak_rss_exact) expect(s.peak_rss_bytes).toBe(s.peak_rss_upper_bytes);
    expect(report.totals.peak_rss_upper_bytes).toBeGreaterThanOrEqual(600 * MiB);
    const table = await run(["report", "peaks"], { env });
    if (!s.peak_rss_exact) {
      // the sampled peak and its bound, as a range unless both ends print alike (CI once: 628MiB and
      // 628MiB, KiB apart: one figure, as peakText documents)
      const range = peakText({
        peakRssKb: s.peak_rss_bytes / 1024,
        peakRssUpperKb: s.peak_rss_upper_bytes / 1024,
        peakRssExact: false,
      });
      if (Math.round(s.peak_rss_upper_bytes / MiB) - Math.round(s.peak_rss_bytes / MiB) >= 2)
        expect(range).toMatch(/^\d+(\.\d+)?MiB–\d+(\.\d+)?MiB$/);
      expect(table.stdout).toContain(range);
      expect(table.stdout).toContain("sampled, at most");
    }
  });
});
