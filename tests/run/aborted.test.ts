/**
 * A run that tracer was asked to stop (SIGINT from a terminal's ^C, SIGTERM from a batch scheduler or a
 * user, SIGHUP, SIGQUIT) and whose CMD did not then exit 0 is `aborted`, with the signal named, not
 * `failed`: a cancelled pipeline is not a broken one. The oracle is who sent the signal: the test sends it
 * to tracer (forwarded to CMD) or straight to CMD (tracer never gets it: a failure like any other).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv from "ajv";
import { BIN, ROOT, cleanupTemp, isolatedEnv, tempDir, waitFor } from "../helpers/harness.ts";
import { PY, start } from "./_helpers.ts";

afterAll(cleanupTemp);

/** CMD: writes its pid to `file`, then sleeps; on SIGTERM exits with `code` (none: SIGTERM kills it) */
const cmd = (file: string, code?: number) => [
  PY,
  "-c",
  `import os, signal, sys, time
if ${code === undefined ? "False" : "True"}:
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(${code ?? 0}))
open(sys.argv[1] + ".tmp", "w").write(str(os.getpid()))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(60)`,
  file,
];

interface Outcome {
  code: number;
  stderr: string;
  run: { status: string; stopSignal: number | null; exitCode: number | null; signal: number | null };
  header: string;
  reportJson: { run: Record<string, unknown> };
}

/** Start `tracer run -- cmd`, wait for CMD, send `sig` to tracer or to CMD, and read what was recorded. */
async function stopped(sig: NodeJS.Signals, to: "tracer" | "cmd", code?: number): Promise<Outcome> {
  const env = isolatedEnv();
  const file = join(tempDir(), "pid");
  const s = start([BIN, "run", "--", ...cmd(file, code)], env);
  await waitFor(() => existsSync(file), 20_000, "CMD started");
  process.kill(to === "tracer" ? s.proc.pid : Number(readFileSync(file, "utf8")), sig);
  const done = await s.done;
  const tracer = (...args: string[]) =>
    Bun.spawnSync([BIN, ...args], { env, stdout: "pipe", stderr: "pipe" }).stdout.toString();
  const runs = JSON.parse(tracer("runs", "--json"));
  return {
    code: done.code,
    stderr: done.stderr,
    run: runs[0],
    header: tracer("report").split("\n").slice(0, 6).join("\n"),
    reportJson: JSON.parse(tracer("report", "--format", "json")),
  };
}

const schema = JSON.parse(readFileSync(join(ROOT, "docs", "report-schema.json"), "utf8"));
const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);

describe("a run asked to stop", () => {
  test("SIGTERM to tracer, CMD killed by it: aborted (SIGTERM), exit SIGTERM, tracer exits 143", async () => {
    const o = await stopped("SIGTERM", "tracer");
    expect(o.code).toBe(143);
    expect(o.run).toMatchObject({ status: "aborted", stopSignal: 15, exitCode: null, signal: 15 });
    expect(o.header).toContain("status    aborted (SIGTERM), exit SIGTERM");
    expect(o.stderr).toContain("aborted (SIGTERM), exit SIGTERM");
    expect(o.reportJson.run).toMatchObject({ status: "aborted", stop_signal: 15, signal: 15 });
    validate(o.reportJson);
    expect(validate.errors ?? []).toEqual([]);
  }, 60_000);

  test("SIGINT to tracer (a terminal's ^C reaches it too): aborted (SIGINT)", async () => {
    // python turns SIGINT into KeyboardInterrupt and, uncaught, ends by it (3.8+): not exit 0 either way
    const o = await stopped("SIGINT", "tracer");
    expect(o.run.status).toBe("aborted");
    expect(o.run.stopSignal).toBe(2);
    expect(o.header).toContain("status    aborted (SIGINT)");
  }, 60_000);

  test("SIGTERM to tracer, CMD handles it and exits 0: done (it finished by its own account)", async () => {
    const o = await stopped("SIGTERM", "tracer", 0);
    expect(o.code).toBe(0);
    expect(o.run).toMatchObject({ status: "done", stopSignal: 15, exitCode: 0, signal: null });
    expect(o.stderr).not.toContain("aborted");
  }, 60_000);

  test("SIGTERM to tracer, CMD handles it and exits 143: aborted, exit 143", async () => {
    const o = await stopped("SIGTERM", "tracer", 143);
    expect(o.code).toBe(143);
    expect(o.run).toMatchObject({ status: "aborted", stopSignal: 15, exitCode: 143, signal: null });
    expect(o.header).toContain("status    aborted (SIGTERM), exit 143");
  }, 60_000);

  test("SIGTERM straight to CMD (tracer never asked to stop): failed, no stop signal", async () => {
    const o = await stopped("SIGTERM", "cmd");
    expect(o.code).toBe(143);
    expect(o.run).toMatchObject({ status: "failed", stopSignal: null, signal: 15 });
    expect(o.header).toContain("status    failed, exit SIGTERM");
    expect(o.reportJson.run).toMatchObject({ status: "failed", stop_signal: null });
  }, 60_000);
});

test("a signal from CMD's own tree is no request to stop: `trap 'kill 0' EXIT` and `kill $PPID` leave the run failed", () => {
  // found by an attack: both reach tracer (the same process group; the parent's pid), from inside
  for (const script of [
    'trap "kill 0" EXIT; sleep 0.3 & sleep 0.2; exit 3',
    "sleep 0.2; kill -TERM $PPID; sleep 0.3; exit 3",
  ]) {
    const env = isolatedEnv();
    // setsid: tracer leads a group of its own, so `kill 0` reaches no test process
    const p = Bun.spawnSync(["setsid", "-w", BIN, "run", "--quiet", "--", "bash", "-c", script], { env });
    expect(p.exitCode).not.toBe(0);
    const runs = JSON.parse(
      Bun.spawnSync([BIN, "runs", "--json"], { env, stdout: "pipe" }).stdout.toString(),
    ) as { status: string; stopSignal: number | null }[];
    expect(runs[0]).toMatchObject({ status: "failed", stopSignal: null });
  }
}, 60_000);
