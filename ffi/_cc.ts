/**
 * Compile embedded C with bun:ffi's TinyCC. Inside a compiled binary TinyCC cannot read the embedded
 * /$bunfs copy, so the source (imported `with { type: "text" }`) is written into a fresh 0700 mkdtemp
 * directory, compiled, and the directory removed. Returns a loader that compiles once per process and
 * remembers a failure.
 */
import { type FFIFunction, cc } from "bun:ffi";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function embeddedC<const S extends Record<string, FFIFunction>>(
  name: string,
  source: string,
  symbols: S,
  what: string,
): () => ReturnType<typeof cc<S>>["symbols"] {
  let native: ReturnType<typeof cc<S>>["symbols"] | undefined;
  let failure: Error | undefined;
  return () => {
    if (native) return native;
    if (failure) throw failure;
    const dir = mkdtempSync(join(tmpdir(), "tracer-cc-"));
    try {
      const file = join(dir, name);
      writeFileSync(file, source, { mode: 0o600, flag: "wx" });
      native = cc({ source: file, symbols }).symbols;
      return native;
    } catch (e) {
      failure = new Error(`cannot compile ${what}: ${(e as Error).message}`, { cause: e });
      throw failure;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}
