import { afterAll, expect, test } from "bun:test";
import { openSync, readSync } from "node:fs";
import { join } from "node:path";
import { build } from "../scripts/build.ts";
import { cleanupTemp, run, tempDir } from "./helpers/harness.ts";

afterAll(cleanupTemp);

test("version and commit are baked in at build time (--define)", async () => {
  const out = await build({ outfile: join(tempDir(), "tracer"), version: "9.8.7-test" });
  const r = await run(["--version"], { bin: out });
  expect(r.stdout.trim()).toBe("9.8.7-test");
  const doc = JSON.parse((await run(["doctor", "--json"], { bin: out })).stdout);
  expect(doc.version).toBe("9.8.7-test");
  expect(doc.commit).toMatch(/^[0-9a-f]{12}$|^unknown$/);
}, 120_000);

test("cross-compiles for another target (linux-arm64 → an aarch64 ELF)", async () => {
  const out = await build({ target: "linux-arm64", outfile: join(tempDir(), "tracer-arm64") });
  const head = Buffer.alloc(20);
  readSync(openSync(out, "r"), head, 0, 20, 0);
  expect(head.subarray(0, 4).toString("latin1")).toBe("\x7fELF");
  expect(head.readUInt16LE(18)).toBe(183); // EM_AARCH64
}, 120_000);

test("the C sources are in the binary as text, inlined at bundle time: the macro that read them is not (ffi/_text.ts)", async () => {
  const out = await build({ outfile: join(tempDir(), "tracer-macro") });
  const text = Buffer.from(await Bun.file(out).arrayBuffer()).toString("latin1");
  expect(text).toContain("static void drain_forks(struct xw *w) {");
  // the macro's own code (a file read from ffi/ at run time) never reaches the compiled program
  expect(text).not.toContain("not a file of ffi/");
  expect(text).not.toContain("embeddedText");
}, 120_000);

test("two builds of the same sources are byte-identical (no builder's pid or temp name in the binary)", async () => {
  // bun embeds the output's name in the executable: a temp name holding the builder's pid made two
  // builds of one commit differ in 14 bytes (an attack, 2 Dec 2026)
  // (each build its own process: the temp name held the builder's pid)
  const built = async () => {
    const out = join(tempDir(), "tracer");
    const p = Bun.spawn(
      [process.execPath, join(import.meta.dir, "..", "scripts", "build.ts"), "--outfile", out],
      {
        stdout: "ignore",
        stderr: "pipe",
      },
    );
    expect(await p.exited, await new Response(p.stderr).text()).toBe(0);
    return out;
  };
  const a = await built();
  const b = await built();
  const digest = async (p: string) =>
    new Bun.CryptoHasher("sha256").update(await Bun.file(p).arrayBuffer()).digest("hex");
  expect(await digest(a)).toBe(await digest(b));
}, 240_000);
