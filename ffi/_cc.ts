/**
 * Load embedded C: the object prebuilt for this binary when it carries one (scripts/_native.ts: built at
 * release time from the same source, loaded with dlopen in ~0.2 ms), else compiled with bun:ffi's TinyCC
 * (its first compile in a process costs 6–26 ms here). Either way the file is written into a fresh 0700
 * mkdtemp directory (inside a compiled binary neither dlopen nor TinyCC can read the embedded /$bunfs
 * copy) and the directory removed once loaded. A prebuilt object is used only if the SHA-256 of the
 * source it was built from matches the source this binary embeds; a prebuilt object that fails to load
 * (an older glibc, say) falls back to TinyCC. TRACER_NATIVE=cc forces TinyCC. Returns a loader that
 * loads once per process and remembers a failure.
 */
import { type FFIFunction, cc, dlopen } from "bun:ffi";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

declare const TRACER_NATIVE: string | undefined;

type Prebuilt = Record<string, { sha256: string; so: string }>;
let prebuilt: Prebuilt | undefined | null = null;
function prebuiltFor(name: string, source: string): Buffer | undefined {
  if (prebuilt === null)
    prebuilt =
      typeof TRACER_NATIVE === "string" && process.env.TRACER_NATIVE !== "cc"
        ? (JSON.parse(TRACER_NATIVE) as Prebuilt)
        : undefined;
  const entry = prebuilt?.[name];
  if (!entry) return undefined;
  if (new Bun.CryptoHasher("sha256").update(source).digest("hex") !== entry.sha256) return undefined;
  return Buffer.from(entry.so, "base64");
}

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
      const so = prebuiltFor(name, source);
      if (so) {
        try {
          const file = join(dir, `${name}.so`);
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
      rmSync(dir, { recursive: true, force: true });
    }
  };
}
