/**
 * Daemon mode against the oracle: an adopted tool's children reaped at once by their parent (the
 * oracle) have their whole CPU, exit teardown included — the scheduler-runtime ledger enters the
 * adopted tree as the daemon records it (src/observe/schedrt.ts). Root with eBPF only.
 */
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { probeSchedRuntime } from "../../src/observe/schedrt.ts";
import { stopDaemon } from "../helpers/daemon.ts";
import { cleanupTemp, isolatedEnv, run, tempDir } from "../helpers/harness.ts";
import { oracleBinary, readTruths } from "../oracle/index.ts";
import { PY } from "../run/_helpers.ts";

const ledger = probeSchedRuntime();
if (!ledger.available) console.warn(`skipping daemon CPU test: ${ledger.reason}`);

const dir = tempDir();
const config = join(dir, "config");
mkdirSync(config);
writeFileSync(join(config, "rules.yml"), "rules:\n  - name: fakecpu\n    process_name_is: fakecpu\n");
const truths = join(dir, "truth.jsonl");
const tool = join(dir, "fakecpu");
// three children under the oracle, each freeing 200 MiB at exit (milliseconds of teardown after the
// taskstats record) and reaped at once: only the ledger has their whole runtime
const child = `${oracleBinary()} ${truths} ${PY} -S -c 'b = bytearray(200 << 20); b[::4096] = b"x" * len(b[::4096]); sum(range(500000))'`;
writeFileSync(tool, `#!/bin/sh\n${child}\n${child}\n${child}\n`);
chmodSync(tool, 0o755);
const env = isolatedEnv({ TRACER_CONFIG_DIR: config });
afterAll(async () => {
  await stopDaemon(env);
  cleanupTemp();
});

test.skipIf(!ledger.available)(
  "an adopted tool's children: CPU = rusage to the µs, teardown included",
  async () => {
    expect((await run(["init", "--run", "cpu-run"], { env })).code).toBe(0);
    const p = Bun.spawn([tool], { stdio: ["ignore", "ignore", "ignore"] });
    expect(await p.exited).toBe(0);
    await Bun.sleep(400); // the daemon drains netlink every 100 ms
    expect(JSON.parse((await run(["stop", "--json"], { env })).stdout).capture.lost).toBe(0);
    const report = JSON.parse((await run(["report", "cpu-run", "--json"], { env })).stdout);
    const procs = report.processes as { pid: number; userUs: number | null; systemUs: number | null }[];
    const measured = readTruths(truths);
    expect(measured.length).toBe(3);
    for (const t of measured) {
      const row = procs.find((r) => r.pid === t.pid);
      expect(row).toBeDefined();
      // rusage truncates user and system to µs each, and is taken at the reap, which can come before
      // the task's last slice ends (the ledger counts it: tens of µs); a missed teardown is milliseconds
      const cpu = row!.userUs! + row!.systemUs!;
      expect(cpu).toBeGreaterThanOrEqual(t.userUs + t.systemUs - 3);
      expect(cpu).toBeLessThanOrEqual(t.userUs + t.systemUs + 200);
    }
  },
);
