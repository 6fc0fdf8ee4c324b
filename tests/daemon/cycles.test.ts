import { afterAll, expect, test } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import { daemonPid, processesOf, stopDaemon } from "../helpers/daemon.ts";
import { BIN, cleanupTemp, isolatedEnv, pidAlive, run } from "../helpers/harness.ts";

const env = isolatedEnv({ TRACER_SPAWN: "fd" });
afterAll(async () => {
  await stopDaemon(env);
  cleanupTemp();
});

/** /proc/PID/stat field 22 (start time in clock ticks since boot): with the pid, a process's identity */
function startTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
}

// Each cycle costs two tracer start-ups and a daemon's: 0.12 s at load 7, 0.25–0.6 s at load 16–20 on
// this 2-core machine, and it grows with the load. So the budget is a guard against a hang, not a
// timing: 200 cycles at 4.5 s each. A pid may come back within the run (pid_max is 32768 here and other processes fork
// too), so a daemon is told apart from the earlier ones by its pid and start time together.
test("200 consecutive init/terminate cycles with the fd strategy: no crash, nothing left behind", async () => {
  const before = new Set(processesOf(BIN));
  const daemons = new Set<string>();
  const started = Date.now();
  for (let i = 0; i < 200; i++) {
    const init = await run(["init"], { env });
    if (init.code !== 0) throw new Error(`cycle ${i}: init exited ${init.code}: ${init.stderr}`);
    const pid = daemonPid(env)!;
    daemons.add(`${pid}@${startTicks(pid)}`); // read while it runs (init returned: it answered)
    const term = await run(["terminate"], { env });
    if (term.code !== 0) throw new Error(`cycle ${i}: terminate exited ${term.code}: ${term.stderr}`);
    if (pidAlive(pid)) throw new Error(`cycle ${i}: daemon ${pid} still alive after terminate`);
  }
  console.log(`200 cycles in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  expect(daemons.size).toBe(200); // every init started a new daemon
  // none of the processes this test started (they carry its runtime dir; another test running the same
  // binary at the same time does not) is left
  const ours = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/environ`, "utf8")
        .split("\0")
        .includes(`TRACER_RUNTIME_DIR=${env.TRACER_RUNTIME_DIR}`);
    } catch {
      return false; // gone
    }
  };
  expect(processesOf(BIN).filter((p) => !before.has(p) && pidAlive(p) && ours(p))).toEqual([]);
  // only the lock files (kept on purpose: unlinking a flock file races with waiters) and the log remain
  expect(readdirSync(env.TRACER_RUNTIME_DIR!).sort()).toEqual(["daemon.lock", "init.lock"]);
  expect(readdirSync(env.TRACER_STATE_DIR!)).toEqual(["daemon.log"]);
  const log = (await run(["logs", "-n", "100000"], { env })).stdout;
  expect(log.match(/daemon started/g)).toHaveLength(200);
  expect(log.match(/daemon stopped/g)).toHaveLength(200);
  expect(log).not.toMatch(/\berror\b/);
}, 900_000);
