/**
 * One name rule for runs and pipelines (src/core/names.ts), the same through `run`, `init`, `start`
 * and the daemon's /v1/start (issue 13 finding 10: init accepted what start refused with 400).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { unixRequest } from "../../src/net/unix.ts";
import { stopDaemon } from "../helpers/daemon.ts";
import { cleanupTemp, isolatedEnv, run } from "../helpers/harness.ts";

const BAD: [string, string][] = [
  ["empty", ""],
  ["a C0 control", "a\x01b"],
  ["ESC sequences", "a\x1b]0;PWNED\x07\x1b[2Jred"],
  ["DEL", "a\x7fb"],
  ["a newline", "a\nb"],
  ["a tab", "a\tb"],
  ["a C1 control", "a\u009bb"],
  ["a bidi override", "a\u202eevil"],
  ["a bidi isolate", "a\u2066b"],
  ["a zero-width space", "a\u200bb"],
  ["a leading space", " a"],
  ["129 characters", "x".repeat(129)],
];
const GOOD = ["x".repeat(128), "Überlauf 数据 v1.2_rc:3@host+x-y"];

afterAll(cleanupTemp);

describe("tracer run --name / --pipeline", () => {
  const env = isolatedEnv();
  for (const [what, name] of BAD)
    test(`refuses ${what} (exit 2), runs nothing`, async () => {
      for (const flag of ["--name", "--pipeline"]) {
        const r = await run(["run", flag, name, "--", "sh", "-c", "echo ran"], { env });
        expect({ flag, code: r.code, stdout: r.stdout }).toEqual({ flag, code: 2, stdout: "" });
        expect(r.stderr).toContain(
          `tracer: ${flag} must be 1-128 letters, digits, spaces or ._:@+- characters`,
        );
        // the rejected name is never echoed raw
        expect(r.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f\u200b\u202e\u2066]/);
      }
    });
  test("accepts 128 characters and letters of any script", async () => {
    for (const name of GOOD) {
      const r = await run(["run", "--quiet", "--name", name, "--pipeline", name, "--", "true"], { env });
      expect(r.code, r.stderr).toBe(0);
    }
    const runs = JSON.parse((await run(["runs", "--json"], { env })).stdout) as { name: string }[];
    expect(runs.map((r) => r.name).sort()).toEqual([...GOOD].sort());
  });
});

describe("tracer init --run / --pipeline", () => {
  const env = isolatedEnv();
  afterAll(() => stopDaemon(env));
  for (const [what, name] of BAD)
    test(`refuses ${what} (exit 2) before any daemon starts`, async () => {
      for (const flag of ["--run", "--pipeline"]) {
        const r = await run(["init", flag, name], { env });
        expect({ flag, code: r.code }).toEqual({ flag, code: 2 });
        expect(r.stderr).toContain(`tracer: ${flag} must be 1-128 letters`);
        expect(existsSync(join(env.TRACER_RUNTIME_DIR!, "daemon.pid"))).toBe(false);
      }
    });
});

describe("tracer start and the daemon's /v1/start", () => {
  const env = isolatedEnv();
  const sock = join(env.TRACER_RUNTIME_DIR!, "tracer.sock");
  beforeAll(async () => {
    expect((await run(["init"], { env })).code).toBe(0);
  });
  afterAll(() => stopDaemon(env));
  for (const [what, name] of BAD)
    test(`refuses ${what}: the CLI with exit 2, the API with 400; no run begins`, async () => {
      for (const flag of ["--run", "--pipeline"]) {
        const r = await run(["start", flag, name], { env });
        expect({ flag, code: r.code }).toEqual({ flag, code: 2 });
      }
      for (const key of ["name", "pipeline"]) {
        const res = await unixRequest(sock, "POST", "/v1/start", { [key]: name });
        expect({ key, status: res.status }).toEqual({ key, status: 400 });
        expect(res.body).toMatchObject({ error: { code: "E_BAD_FIELD" } });
      }
      const info = JSON.parse((await run(["info", "--json"], { env })).stdout) as { run: unknown };
      expect(info.run).toBeNull();
    });
  test("a good name starts a run through both", async () => {
    const r = await run(["start", "--run", GOOD[1]!], { env });
    expect(r.code, r.stderr).toBe(0);
    expect((await run(["stop"], { env })).code).toBe(0);
    const res = await unixRequest(sock, "POST", "/v1/start", { name: GOOD[0] });
    expect(res.status).toBe(201);
    expect((await run(["stop"], { env })).code).toBe(0);
  });
});
