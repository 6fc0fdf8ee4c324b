/** `tracer run` beside a running daemon: it records directly into the shared store, the daemon is untouched. */
import { afterAll, expect, test } from "bun:test";
import { stopDaemon } from "../helpers/daemon.ts";
import { cleanupTemp, isolatedEnv, pidAlive, run } from "../helpers/harness.ts";
import { daemonPid } from "../helpers/daemon.ts";

afterAll(cleanupTemp);

test("with a daemon running: the run is recorded, the daemon still answers", async () => {
  const env = isolatedEnv();
  expect((await run(["init"], { env })).code).toBe(0);
  try {
    const pid = daemonPid(env);
    expect(pid).toBeDefined();
    const r = await run(["run", "--name", "beside", "--", "sh", "-c", "sleep 0.1; exit 4"], { env });
    expect(r.code).toBe(4);
    const runs = JSON.parse((await run(["runs", "--json"], { env })).stdout) as {
      name: string;
      exitCode: number;
    }[];
    expect(runs.find((x) => x.name === "beside")?.exitCode).toBe(4);
    expect(pidAlive(pid!)).toBe(true);
    expect((await run(["info", "--json"], { env })).code).toBe(0);
  } finally {
    await stopDaemon(env);
  }
});
