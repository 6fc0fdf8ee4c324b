/**
 * Prebuilt native helpers (issue 15, start-up): ffi/*.c compiled at build time into one shared object
 * that the binary carries (base64 in the TRACER_NATIVE define) and loads with dlopen, instead of
 * compiling them with TinyCC at every start. Measured here: the first TinyCC compile of a process
 * costs 6–26 ms (its set-up, not the code), the next ones ~1.3 ms each; a dlopen of a prebuilt object
 * 0.2 ms. One object for all of them, not one each: `tracer run` loads five helpers, and a memory file,
 * its write and a dlopen per helper cost 0.2–0.3 ms each (1.6 ms of 5; loaded once, each helper's
 * symbols are bound from the same object: ~0.05 ms). Only for a host build on glibc Linux with a C
 * compiler; anything else embeds nothing and the binary compiles with TinyCC as before.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const NATIVE_SOURCES = [
  "netlink.c",
  "execwatch.c",
  "spawn.c",
  "init.c",
  "reaper.c",
  "schedrt.c",
  "execargv.c",
] as const;

/**
 * What TRACER_NATIVE holds: the SHA-256 of each source the object was built from (a helper uses the
 * object only when its own embedded source has that hash), and the object.
 */
export interface NativeTable {
  sha256: Record<string, string>;
  so: string;
}

/**
 * The oldest glibc the object may need: Bun's own floor (its binary needs no symbol version above
 * GLIBC_2.17). Built on a newer glibc, the object would bind the pthread functions glibc 2.34 moved
 * into libc.so.6 at their 2.34 versions, and on an older host (RHEL 8: 2.28) its dlopen would fail and
 * every helper fall back to TinyCC. Each such function is pinned to its first version instead, which
 * every glibc since defines: in libpthread.so.0 before 2.34 (loaded into every Bun process: its binary
 * needs it), as a compatibility symbol of libc.so.6 since. By architecture, as `process.arch` names it.
 */
export const GLIBC_FLOOR = "2.17";
const PINNED: Record<string, Record<string, string>> = {
  x64: {
    pthread_create: "2.2.5",
    pthread_detach: "2.2.5",
    pthread_join: "2.2.5",
    pthread_mutexattr_init: "2.2.5",
    pthread_mutexattr_destroy: "2.2.5",
    pthread_mutexattr_setprotocol: "2.4",
  },
  // the first glibc of arm64 Linux is 2.17: every symbol's first version there
  arm64: Object.fromEntries(
    [
      "pthread_create",
      "pthread_detach",
      "pthread_join",
      "pthread_mutexattr_init",
      "pthread_mutexattr_destroy",
      "pthread_mutexattr_setprotocol",
    ].map((f) => [f, "2.17"]),
  ),
};

/** a header every source is compiled with (`cc -include`): one `.symver` directive per pinned function */
const pinHeader = (arch: string): string =>
  Object.entries(PINNED[arch] ?? {})
    .map(([f, v]) => `__asm__(".symver ${f},${f}@GLIBC_${v}");\n`)
    .join("");

const glibc = () => {
  const report = process.report?.getReport?.() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return process.platform === "linux" && !!report?.header?.glibcVersionRuntime;
};

/** SHA-256 (hex) of a helper's source as the binary embeds it (UTF-8 text). */
export const sourceSha256 = (file: string): string =>
  new Bun.CryptoHasher("sha256").update(readFileSync(file, "utf8")).digest("hex");

/**
 * The helpers compiled for this host, or undefined when none can be (not glibc Linux, no `cc`). Each
 * source is compiled on its own, then the objects that compiled are linked into one: a helper `cc`
 * rejects is left out (it compiles with TinyCC at run time, said here) instead of leaving every helper
 * without its prebuilt code.
 */
export function buildNative(ffiDir: string): NativeTable | undefined {
  if (!glibc()) return undefined;
  const dir = mkdtempSync(join(tmpdir(), "tracer-native-"));
  try {
    const out = join(dir, "native.c.so");
    const sha256: Record<string, string> = {};
    const objects: string[] = [];
    const pins = join(dir, "glibc-pins.h");
    writeFileSync(pins, pinHeader(process.arch));
    for (const name of NATIVE_SOURCES) {
      const src = join(ffiDir, name);
      const obj = join(dir, `${name}.o`);
      const cc = Bun.spawnSync(["cc", "-c", "-fPIC", "-Os", "-include", pins, "-o", obj, src], {
        stderr: "pipe",
      });
      if (cc.exitCode !== 0) {
        const why = cc.stderr.toString().split("\n").slice(0, 5).join("\n");
        console.warn(`warning: ${name} does not compile with cc, not prebuilt (TinyCC at run time):\n${why}`);
        continue;
      }
      objects.push(obj);
      sha256[name] = sourceSha256(src);
    }
    if (!objects.length) return undefined;
    const ld = Bun.spawnSync(["cc", "-shared", "-s", "-o", out, ...objects], { stderr: "pipe" });
    if (ld.exitCode !== 0) {
      console.warn(`warning: the native helpers do not link, none prebuilt:\n${ld.stderr.toString()}`);
      return undefined;
    }
    return { sha256, so: readFileSync(out).toString("base64") };
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
