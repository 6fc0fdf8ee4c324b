import { afterAll, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { daemonPid, processesOf, stopDaemon } from "../helpers/daemon.ts";
import { BIN, cleanupTemp, isolatedEnv, pidAlive, run } from "../helpers/harness.ts";

const env = isolatedEnv({ TRACER_SPAWN: "fd" });
afterAll(async () => {
  await stopDaemon(env);
  cleanupTemp();
});

test("200 consecutive init/terminate cycles with the fd strategy: no crash, nothing left behind", async () => {
  const before = new Set(processesOf(BIN));
  const pids = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const init = await run(["init"], { env });
    if (init.code !== 0) throw new Error(`cycle ${i}: init exited ${init.code}: ${init.stderr}`);
    const pid = daemonPid(env)!;
    pids.add(pid);
    const term = await run(["terminate"], { env });
    if (term.code !== 0) throw new Error(`cycle ${i}: terminate exited ${term.code}: ${term.stderr}`);
    if (pidAlive(pid)) throw new Error(`cycle ${i}: daemon ${pid} still alive after terminate`);
  }
  expect(pids.size).toBe(200);
  expect(processesOf(BIN).filter((p) => !before.has(p) && pidAlive(p))).toEqual([]);
  // only the lock files (kept on purpose: unlinking a flock file races with waiters) and the log remain
  expect(readdirSync(env.TRACER_RUNTIME_DIR!).sort()).toEqual(["daemon.lock", "init.lock"]);
  expect(readdirSync(env.TRACER_STATE_DIR!)).toEqual(["daemon.log"]);
  const log = (await run(["logs", "-n", "100000"], { env })).stdout;
  expect(log.match(/daemon started/g)).toHaveLength(200);
  expect(log.match(/daemon stopped/g)).toHaveLength(200);
  expect(log).not.toMatch(/\berror\b/);
}, 300_000);
