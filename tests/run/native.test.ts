/**
 * The native helpers of `tracer run`: a host build carries them prebuilt (scripts/_native.ts) and loads
 * them with dlopen instead of compiling with TinyCC at start; TRACER_NATIVE=cc forces TinyCC. Both
 * record the same run. Which one was loaded shows in tracer's memory map: the prebuilt object (all the
 * helpers in one) is mapped from its memory file (`/memfd:native.c.so`, or a deleted temp file of that
 * name), TinyCC's code from anonymous memory.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { probeConnector } from "../../src/observe/connector.ts";
import { cleanupTemp, isolatedEnv, run } from "../helpers/harness.ts";

afterAll(cleanupTemp);

const hasCc = Bun.spawnSync(["sh", "-c", "command -v cc"]).exitCode === 0;
const connector = probeConnector().available;
if (!hasCc) console.warn("skipped: no C compiler here, so the build embeds no prebuilt helpers");
if (!connector) console.warn("skipped: the proc connector is not available here (not root?)");

async function loaded(extra: Record<string, string> = {}) {
  const env = isolatedEnv(extra);
  // CMD's parent is tracer: list the helper objects mapped into it, then check the run was recorded
  const r = await run(
    ["run", "--quiet", "--", "sh", "-c", "grep -o '[a-z]*\\.c\\.so' /proc/$PPID/maps | sort -u; exit 3"],
    { env },
  );
  expect(r.code).toBe(3);
  const rep = JSON.parse((await run(["report", "--json"], { env })).stdout) as {
    processes: { comm: string; exitCode: number }[];
  };
  expect(rep.processes.find((p) => p.comm === "sh")?.exitCode).toBe(3);
  return r.stdout.trim().split("\n").filter(Boolean);
}

describe.skipIf(!connector || !hasCc)("native helpers", () => {
  test("a host build loads its prebuilt helpers, no TinyCC compile", async () => {
    // one object holds them all, mapped once from its memory file; with no temp dir to compile in,
    // a helper that was not prebuilt would fail the run (the last test)
    expect(await loaded({ TMPDIR: "/nonexistent-tracer-tmp" })).toEqual(["native.c.so"]);
  });
  test("TRACER_NATIVE=cc compiles them with TinyCC instead, with the same record", async () => {
    expect(await loaded({ TRACER_NATIVE: "cc" })).toEqual([]);
  });
});

test("no memory file and no temp dir for a helper: a clear error, and the run stores tracer's exit code", async () => {
  // TRACER_NATIVE=cc compiles in a temp dir under TMPDIR, the fallback when no memfd can be mapped
  const env = isolatedEnv({ TRACER_NATIVE: "cc", TMPDIR: "/nonexistent-tracer-tmp" });
  const r = await run(["run", "--", "echo", "ran"], { env });
  expect(r.code).toBe(1);
  expect(r.stdout).toBe("");
  expect(r.stderr).toContain("cannot compile the native");
  expect(r.stderr).toContain("/nonexistent-tracer-tmp/tracer-cc-");
  const runs = JSON.parse((await run(["runs", "--json"], { env: { ...env, TMPDIR: "/tmp" } })).stdout) as {
    exitCode: number;
  }[];
  expect(runs.map((x) => x.exitCode)).toEqual([1]);
});
