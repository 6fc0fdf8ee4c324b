/**
 * Loss is never silent: with a tiny netlink receive buffer a burst of execs overflows it; the run
 * counts the loss (report, runs, the summary line) and a /proc rescan still finds the long-lived
 * processes that started inside the burst.
 */
import { afterAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { probeConnector } from "../../src/observe/connector.ts";
import { cleanupTemp, isolatedEnv, run, tempDir } from "../helpers/harness.ts";
import { PY } from "./_helpers.ts";

afterAll(cleanupTemp);

const probe = probeConnector();
if (!probe.available) console.warn(`skipping the loss test: proc connector unavailable (${probe.reason})`);

test.skipIf(!probe.available)(
  "a tiny receive buffer: loss detected, counted, reported; rescan recovers sleepers",
  async () => {
    const out = join(tempDir(), "sleepers");
    // 800 fork+exec, with three 1.5 s sleepers started in the middle of the burst
    const burst = [
      "import os",
      "def burst(n):",
      "    for _ in range(n):",
      "        os.waitpid(os.posix_spawn('/bin/true', ['true'], {}), 0)",
      "burst(400)",
      "pids = [os.posix_spawn('/bin/sleep', ['sleep', '1.5'], {}) for _ in range(3)]",
      `open('${out}', 'w').write(' '.join(map(str, pids)))`,
      "burst(400)",
      "for p in pids: os.waitpid(p, 0)",
    ].join("\n");
    const env = isolatedEnv({ TRACER_NETLINK_RCVBUF: "2048" });
    const r = await run(["run", "--name", "lossy", "--", PY, "-c", burst], { env });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/\d+ events LOST/);
    const rep = await run(["report", "lossy", "--json"], { env });
    const { run: info, processes } = JSON.parse(rep.stdout) as {
      run: { eventsLost: number; lossReasons: Record<string, number> };
      processes: { pid: number; comm: string | null; exitCode: number | null }[];
    };
    expect(info.eventsLost).toBeGreaterThan(0);
    const text = await run(["report", "lossy"], { env });
    expect(text.stdout).toContain(`events lost: ${info.eventsLost} (`);
    expect(Object.values(info.lossReasons).reduce((a, b) => a + b, 0)).toBe(info.eventsLost);
    const sleepers = readFileSync(out, "utf8").split(" ").map(Number);
    for (const pid of sleepers) expect(processes.some((p) => p.pid === pid)).toBe(true);
    // what was recorded is sound: every process of this run exits 0, so every known exit code is 0
    // (a process whose exit event was lost has none; the loss count above says so)
    const known = processes.filter((p) => p.exitCode !== null);
    expect(known.length).toBeGreaterThan(0);
    expect(known.every((p) => p.exitCode === 0)).toBe(true);
  },
);
