/**
 * Degraded modes: without the proc connector (own network namespace, as in a container) `tracer run`
 * falls back to /proc polling by itself; TRACER_CAPTURE=proc-poll forces it. Either way the init
 * duties and CMD's status are the same, and the tree is recorded.
 */
import { afterAll, expect, test } from "bun:test";
import { cleanupTemp, isolatedEnv, run } from "../helpers/harness.ts";
import { BIN } from "../helpers/harness.ts";
import { start } from "./_helpers.ts";

afterAll(cleanupTemp);

const STEPS = "sleep 0.3; sh -c 'sleep 0.3; exit 4'; exit 3";

test("TRACER_CAPTURE=proc-poll: exit status, the tree with argv, wait4 figures for CMD", async () => {
  const env = isolatedEnv({ TRACER_CAPTURE: "proc-poll" });
  const r = await run(["run", "--", "sh", "-c", STEPS], { env });
  expect(r.code).toBe(3);
  expect(r.stderr).toContain("capture proc-poll");
  const rep = JSON.parse((await run(["report", "--json"], { env })).stdout) as {
    run: { mode: string };
    processes: { argv: string[] | null; exitCode: number | null; figures: string | null }[];
  };
  expect(rep.run.mode).toBe("proc-poll");
  const argvs = rep.processes.map((p) => p.argv?.join(" "));
  expect(argvs).toContain("sleep 0.3");
  expect(argvs).toContain("sh -c sleep 0.3; exit 4");
  const cmd = rep.processes.find((p) => p.argv?.[2] === STEPS)!;
  expect(cmd.exitCode).toBe(3);
  expect(cmd.figures).not.toBeNull();
});

const canNetns = Bun.spawnSync(["unshare", "-n", "true"]).exitCode === 0;
if (!canNetns) console.warn("skipping: unshare -n is not permitted here");

test.skipIf(!canNetns)("own network namespace (no connector): automatic fallback to proc-poll", async () => {
  const env = isolatedEnv();
  const r = await start(["unshare", "-n", BIN, "run", "--", "sh", "-c", STEPS], env).done;
  expect(r.code).toBe(3);
  expect(r.stderr).toContain("capture proc-poll");
});

test("a command that does not exist: 127 like a shell; no command at all: usage error 2", async () => {
  const env = isolatedEnv();
  const r = await run(["run", "--", "/nonexistent/cmd"], { env });
  expect(r.code).toBe(127);
  expect(r.stderr).toContain("/nonexistent/cmd: No such file or directory");
  const u = await run(["run"], { env });
  expect(u.code).toBe(2);
  expect(u.stderr).toContain("no command to run");
});
