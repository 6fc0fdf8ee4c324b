/**
 * Load embedded C: the object prebuilt for this binary when it carries one (scripts/_native.ts: one
 * object holding every helper, built at release time from the same sources, loaded with dlopen once;
 * each helper then binds its symbols from it), else compiled with bun:ffi's TinyCC (its first compile in
 * a process costs 6–26 ms here). Inside a compiled binary neither dlopen nor TinyCC can read the
 * embedded /$bunfs copy: the prebuilt object is loaded from an anonymous memory file (memfd_create,
 * Linux) kept open for the process's life, else, like the C source for TinyCC, written into a fresh 0700
 * mkdtemp directory that is removed once loaded (under load, that directory's mkdir/unlink/rmdir cost
 * milliseconds per helper at every start). The prebuilt object is used for a helper only if it was built
 * from that helper's source: scripts/build.ts records the SHA-256 of each source it compiled and fails
 * the build unless the sources are the same once the binary (which embeds them) is made, so nothing is
 * hashed at run time (~0.25 ms of every start: the first SHA-256 of a process is slow). A prebuilt
 * object that fails to load (an older glibc, say) falls back to TinyCC. TRACER_NATIVE=cc forces TinyCC. Returns a loader
 * that loads once per process and remembers a failure.
 */
import { noFTL } from "bun:jsc";
import { type FFIFunction, cc, dlopen } from "bun:ffi";
import { closeSync, mkdtempSync, rmSync, writeFileSync, writeSync } from "./fs.ts";
import { memfdCreate } from "./libc.ts";

declare const TRACER_NATIVE: string | undefined;

type Prebuilt = { sha256: Record<string, string>; so: string };
let prebuilt: Prebuilt | undefined | null = null;
let object: Buffer | undefined;
/**
 * The prebuilt object when it holds the helper `name` (built from the very source this binary embeds:
 * checked by scripts/build.ts), else undefined.
 */
function prebuiltFor(name: string): Buffer | undefined {
  if (prebuilt === null)
    prebuilt =
      typeof TRACER_NATIVE === "string" && process.env.TRACER_NATIVE !== "cc"
        ? (JSON.parse(TRACER_NATIVE) as Prebuilt)
        : undefined;
  if (!prebuilt?.sha256[name]) return undefined;
  object ??= Buffer.from(prebuilt.so, "base64");
  return object;
}

/** "/proc/self/fd/N" of the memory file holding the prebuilt object; undefined: not tried yet */
let memoryPath: string | null | undefined;

/**
 * dlopen the prebuilt object from an anonymous memory file (memfd): nothing written to or removed from
 * a file system at start-up, nothing left behind, no directory anyone else could touch. The file is
 * written once and stays open: every later helper's dlopen names the same path, which the dynamic
 * loader finds already loaded. Undefined when that is not possible here (no memfd_create, a memfd that
 * may not be mapped executable): the caller then uses a private temp directory.
 */
function fromMemory<S extends Record<string, FFIFunction>>(so: Buffer, symbols: S) {
  if (memoryPath === undefined) {
    memoryPath = null;
    const fd = memfdCreate("native.c.so");
    if (fd >= 0)
      try {
        for (let off = 0; off < so.length; ) off += writeSync(fd, so, off);
        memoryPath = `/proc/self/fd/${fd}`;
      } catch {
        closeSync(fd);
      }
  }
  if (memoryPath === null) return undefined;
  try {
    return dlopen(memoryPath, symbols).symbols;
  } catch {
    return undefined;
  }
}

export function embeddedC<const S extends Record<string, FFIFunction>>(
  name: string,
  source: string,
  symbols: S,
  what: string,
): () => ReturnType<typeof cc<S>>["symbols"] {
  let native: ReturnType<typeof cc<S>>["symbols"] | undefined;
  let failure: Error | undefined;
  const load = () => {
    if (native) return native;
    if (failure) throw failure;
    const so = prebuiltFor(name);
    const mem = so && process.platform === "linux" ? fromMemory(so, symbols) : undefined;
    if (mem) {
      native = mem as unknown as ReturnType<typeof cc<S>>["symbols"];
      return native;
    }
    let dir: string | undefined;
    try {
      // a temp dir that cannot be made (TMPDIR missing) is a failure to load, said as such
      // (node:os and node:path only here, on this rare path: they cost start-up time, issue 15)
      const { tmpdir } = require("node:os") as typeof import("node:os");
      const { join } = require("node:path") as typeof import("node:path");
      dir = mkdtempSync(join(tmpdir(), "tracer-cc-"));
      if (so) {
        try {
          const file = join(dir, "native.c.so");
          writeFileSync(file, so, { mode: 0o600, flag: "wx" });
          native = dlopen(file, symbols).symbols as unknown as ReturnType<typeof cc<S>>["symbols"];
          return native;
        } catch {
          // not loadable here: compile it instead
        }
      }
      const file = join(dir, name);
      writeFileSync(file, source, { mode: 0o600, flag: "wx" });
      native = cc({ source: file, symbols }).symbols;
      return native;
    } catch (e) {
      failure = new Error(`cannot compile ${what}: ${(e as Error).message}`, { cause: e });
      throw failure;
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  };
  // called before every native call: kept out of JavaScriptCore's FTL tier (src/core/jit-tier.ts)
  noFTL(load);
  return load;
}
