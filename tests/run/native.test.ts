/**
 * The native helpers of `tracer run`: a host build carries them prebuilt (scripts/_native.ts) and loads
 * them with dlopen instead of compiling with TinyCC at start; TRACER_NATIVE=cc forces TinyCC. Both
 * record the same run. Which one was loaded shows in tracer's memory map: the prebuilt object (all the
 * helpers in one) is mapped from its memory file (`/memfd:native.c.so`, or a deleted temp file of that
 * name), TinyCC's code from anonymous memory.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { dlopen, FFIType } from "bun:ffi";
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GLIBC_FLOOR, NATIVE_SOURCES, buildNative } from "../../scripts/_native.ts";
import { probeConnector } from "../../src/observe/connector.ts";
import { cleanupTemp, isolatedEnv, run, tempDir } from "../helpers/harness.ts";

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

test.skipIf(!hasCc)(
  "a helper cc rejects is left out of the prebuilt object; the others are still in it",
  () => {
    const dir = tempDir();
    for (const name of NATIVE_SOURCES)
      copyFileSync(join(import.meta.dir, "../../ffi", name), join(dir, name));
    writeFileSync(join(dir, "schedrt.c"), "this is not C\n");
    const built = buildNative(dir);
    expect(built).toBeDefined();
    expect(Object.keys(built!.sha256).sort()).toEqual(NATIVE_SOURCES.filter((n) => n !== "schedrt.c").sort());
    // the object loads, and a healthy helper's symbol is in it
    const so = join(dir, "native.c.so");
    writeFileSync(so, Buffer.from(built!.so, "base64"));
    const { symbols, close } = dlopen(so, { tracer_init_sigrtmin: { args: [], returns: FFIType.i32 } });
    expect(symbols.tracer_init_sigrtmin()).toBeGreaterThanOrEqual(32);
    close();
  },
);

const hasReadelf = Bun.spawnSync(["sh", "-c", "command -v readelf"]).exitCode === 0;

test.skipIf(!hasCc || !hasReadelf)(
  "the prebuilt object needs no glibc newer than Bun's own floor (it loads on the hosts Bun runs on)",
  () => {
    const dir = tempDir();
    const built = buildNative(join(import.meta.dir, "../../ffi"));
    expect(built).toBeDefined();
    const so = join(dir, "native.c.so");
    writeFileSync(so, Buffer.from(built!.so, "base64"));
    // the versions the object needs, as the dynamic linker checks them (.gnu.version_r)
    const out = Bun.spawnSync(["readelf", "-V", "--wide", so]).stdout.toString();
    const versions = [...out.matchAll(/Name: GLIBC_([0-9.]+)/g)].map((m) => m[1]!);
    expect(versions.length).toBeGreaterThan(0);
    const num = (v: string) => v.split(".").reduce((n, x, i) => n + Number(x) * 1000 ** (2 - i), 0);
    const newest = versions.reduce((a, b) => (num(b) > num(a) ? b : a));
    expect(num(newest)).toBeLessThanOrEqual(num(GLIBC_FLOOR));
    // and a pinned function still works where it is bound: the exec watcher starts its thread with it
    const { symbols, close } = dlopen(so, { tracer_init_sigrtmin: { args: [], returns: FFIType.i32 } });
    expect(symbols.tracer_init_sigrtmin()).toBeGreaterThanOrEqual(32);
    close();
  },
);
