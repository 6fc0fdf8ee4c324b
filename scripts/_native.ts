/**
 * Prebuilt native helpers (issue 15, start-up): ffi/*.c compiled at build time into shared objects
 * that the binary carries (base64 in the TRACER_NATIVE define) and loads with dlopen, instead of
 * compiling them with TinyCC at every start. Measured here: the first TinyCC compile of a process
 * costs 6–26 ms (its set-up, not the code), the next ones ~1.3 ms each; a dlopen of a prebuilt object
 * 0.2 ms. Only for a host build on glibc Linux with a C compiler; anything else embeds nothing and the
 * binary compiles with TinyCC as before.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const NATIVE_SOURCES = [
  "netlink.c",
  "execwatch.c",
  "spawn.c",
  "init.c",
  "reaper.c",
  "schedrt.c",
] as const;

/** What TRACER_NATIVE holds: per source file, the SHA-256 of the source it was built from and the object. */
export type NativeTable = Record<string, { sha256: string; so: string }>;

const glibc = () => {
  const report = process.report?.getReport?.() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return process.platform === "linux" && !!report?.header?.glibcVersionRuntime;
};

/** The helpers compiled for this host, or undefined when they cannot be (not glibc Linux, no `cc`). */
export function buildNative(ffiDir: string): NativeTable | undefined {
  if (!glibc()) return undefined;
  const dir = mkdtempSync(join(tmpdir(), "tracer-native-"));
  try {
    const table: NativeTable = {};
    for (const name of NATIVE_SOURCES) {
      const src = join(ffiDir, name);
      const out = join(dir, `${name}.so`);
      const cc = Bun.spawnSync(["cc", "-shared", "-fPIC", "-Os", "-s", "-o", out, src], { stderr: "pipe" });
      if (cc.exitCode !== 0) return undefined;
      const source = readFileSync(src, "utf8");
      table[name] = {
        sha256: new Bun.CryptoHasher("sha256").update(source).digest("hex"),
        so: readFileSync(out).toString("base64"),
      };
    }
    return table;
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
