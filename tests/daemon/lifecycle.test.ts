import { afterEach, describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import { cleanupTemp, isolatedEnv, pidAlive, run } from "../helpers/harness.ts";
import { daemonPid, stopDaemon } from "../helpers/daemon.ts";

const envs: Record<string, string>[] = [];
const fresh = () => {
  const env = isolatedEnv();
  envs.push(env);
  return env;
};
afterEach(async () => {
  for (const env of envs.splice(0)) await stopDaemon(env);
  cleanupTemp();
});

const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

describe("daemon lifecycle (compiled binary)", () => {
  test("init → info → start/stop → terminate, with private dirs and a 0600 socket", async () => {
    const env = fresh();
    const init = await run(["init", "--run", "first", "--pipeline", "demo"], { env });
    expect(init.stderr).toBe("");
    expect(init.code).toBe(0);
    expect(init.stdout).toContain(`log: ${join(env.TRACER_STATE_DIR!, "daemon.log")}`);

    expect(mode(env.TRACER_STATE_DIR!)).toBe("700");
    expect(mode(env.TRACER_RUNTIME_DIR!)).toBe("700");
    expect(mode(join(env.TRACER_RUNTIME_DIR!, "tracer.sock"))).toBe("600");
    expect(statSync(join(env.TRACER_RUNTIME_DIR!, "tracer.sock")).isSocket()).toBe(true);

    const info = JSON.parse((await run(["info", "--json"], { env })).stdout);
    expect(info.pid).toBe(daemonPid(env));
    expect(info.strategy).toBe("fd");
    expect(info.run).toMatchObject({ name: "first", pipeline: "demo" });

    expect((await run(["start"], { env })).code).toBe(1); // a run is already active
    const stopped = JSON.parse((await run(["stop", "--json"], { env })).stdout);
    expect(stopped.name).toBe("first");
    expect(stopped.endedAt).toBeString();
    expect((await run(["stop"], { env })).stderr).toContain("no run is active");
    const started = JSON.parse((await run(["start", "--run", "second", "--json"], { env })).stdout);
    expect(started.name).toBe("second");
    expect(JSON.parse((await run(["info", "--json"], { env })).stdout).runsCompleted).toBe(1);

    const term = await run(["terminate"], { env });
    expect(term.code).toBe(0);
    expect(pidAlive(info.pid)).toBe(false);
    expect(() => statSync(join(env.TRACER_RUNTIME_DIR!, "tracer.sock"))).toThrow();
    expect(() => statSync(join(env.TRACER_RUNTIME_DIR!, "daemon.pid"))).toThrow();
    const log = await run(["logs", "-n", "3"], { env });
    expect(log.stdout).toContain("daemon stopped");
    expect(log.stdout.trimEnd().split("\n")).toHaveLength(3);
  });

  test("a second init is refused with exit 5 unless --force, which replaces the daemon", async () => {
    const env = fresh();
    expect((await run(["init"], { env })).code).toBe(0);
    const first = daemonPid(env)!;
    const again = await run(["init"], { env });
    expect(again.code).toBe(5);
    expect(again.stderr).toContain(`already running (pid ${first}`);
    expect(again.stderr).toContain("--force");
    const forced = await run(["init", "--force"], { env });
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain(`stopped the previous daemon (pid ${first})`);
    const second = daemonPid(env)!;
    expect(second).not.toBe(first);
    expect(pidAlive(first)).toBe(false);
  });

  test("commands without a daemon say so with exit 4; terminate is idempotent (exit 0)", async () => {
    const env = fresh();
    for (const cmd of ["info", "start", "stop"]) {
      const r = await run([cmd], { env });
      expect(r.code).toBe(4);
      expect(r.stderr).toContain("no tracer daemon is running");
    }
    const t = await run(["terminate"], { env });
    expect(t.code).toBe(0);
    expect(t.stdout).toContain("no daemon was running");
  });

  test("kill -9 of the daemon leaves a stale socket that the next init detects and cleans", async () => {
    const env = fresh();
    expect((await run(["init"], { env })).code).toBe(0);
    const pid = daemonPid(env)!;
    process.kill(pid, "SIGKILL");
    while (pidAlive(pid)) await Bun.sleep(5);
    expect(statSync(join(env.TRACER_RUNTIME_DIR!, "tracer.sock")).isSocket()).toBe(true);
    const info = await run(["info"], { env });
    expect(info.code).toBe(4);
    const init = await run(["init"], { env });
    expect(init.code).toBe(0);
    expect(init.stdout).toContain("removed a stale socket");
    expect(daemonPid(env)).not.toBe(pid);
    expect((await run(["info"], { env })).code).toBe(0);
  });

  test("SIGTERM to the daemon is a graceful stop: socket and pid file removed", async () => {
    const env = fresh();
    await run(["init"], { env });
    const pid = daemonPid(env)!;
    process.kill(pid, "SIGTERM");
    while (pidAlive(pid)) await Bun.sleep(5);
    expect(() => statSync(join(env.TRACER_RUNTIME_DIR!, "tracer.sock"))).toThrow();
    expect((await run(["logs"], { env })).stdout).toContain("reason=SIGTERM");
  });

  test("10 concurrent inits start exactly one daemon", async () => {
    const env = fresh();
    const results = await Promise.all(Array.from({ length: 10 }, () => run(["init"], { env })));
    const codes = results.map((r) => r.code).sort();
    expect(codes.filter((c) => c === 0)).toHaveLength(1);
    expect(codes.filter((c) => c === 5)).toHaveLength(9);
    const info = JSON.parse((await run(["info", "--json"], { env })).stdout);
    const { processesOf } = await import("../helpers/daemon.ts");
    const { BIN } = await import("../helpers/harness.ts");
    const daemons = processesOf(BIN).filter((pid) => {
      try {
        return require("node:fs")
          .readFileSync(`/proc/${pid}/environ`, "utf8")
          .includes(env.TRACER_RUNTIME_DIR!);
      } catch {
        return false;
      }
    });
    expect(daemons).toEqual([info.pid]);
  });

  test("refuses a state dir that is world-writable or a symlink (exit 3), creating nothing in it", async () => {
    const env = fresh();
    const { mkdirSync, chmodSync, symlinkSync, readdirSync } = await import("node:fs");
    mkdirSync(env.TRACER_STATE_DIR!, { recursive: true });
    chmodSync(env.TRACER_STATE_DIR!, 0o777);
    const r = await run(["init"], { env });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("group- or world-writable");
    expect(readdirSync(env.TRACER_STATE_DIR!)).toEqual([]);
    const link = `${env.TRACER_STATE_DIR}-link`;
    symlinkSync("/", link);
    const r2 = await run(["init"], { env: { ...env, TRACER_STATE_DIR: link } });
    expect(r2.code).toBe(3);
    expect(r2.stderr).toContain("symbolic link");
  });
});

test("logs -f follows what the daemon appends until interrupted", async () => {
  const { BIN } = await import("../helpers/harness.ts");
  const env = fresh();
  await run(["init"], { env });
  const p = Bun.spawn([BIN, "logs", "-f", "-n", "0"], { env, stdout: "pipe", stderr: "pipe" });
  const reader = p.stdout.getReader();
  await Bun.sleep(300);
  expect((await run(["start", "--run", "follow-me"], { env })).code).toBe(0);
  let seen = "";
  const deadline = Date.now() + 5000;
  while (!seen.includes("follow-me") && Date.now() < deadline) {
    const { value, done } = await Promise.race([
      reader.read(),
      Bun.sleep(5000).then(() => ({ value: undefined, done: true })),
    ]);
    if (done) break;
    seen += new TextDecoder().decode(value);
  }
  p.kill("SIGINT");
  expect(await p.exited).toBe(0);
  expect(seen).toContain("run started");
  expect(seen).toContain("name=follow-me");
  expect(seen).not.toContain("daemon started"); // -n 0: nothing from before
});
