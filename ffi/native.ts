/**
 * Compiles ffi/spawn.c with bun:ffi's built-in TinyCC, once per process, on first use.
 * Inside a compiled binary TinyCC cannot read the embedded /$bunfs copy, so the source is embedded as
 * text and written into a fresh 0700 mkdtemp directory that is removed right after compilation.
 */
import { cc, ptr } from "bun:ffi";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import spawnSource from "./spawn.c" with { type: "text" };

const symbols = {
  tracer_spawn_fd: { args: ["i32", "ptr", "ptr", "i32"], returns: "i32" },
} as const;

type Native = ReturnType<typeof cc<typeof symbols>>["symbols"];
let native: Native | undefined;
let loadError: Error | undefined;

export function loadNative(): Native {
  if (native) return native;
  if (loadError) throw loadError;
  const dir = mkdtempSync(join(tmpdir(), "tracer-cc-"));
  try {
    const file = join(dir, "spawn.c");
    writeFileSync(file, spawnSource, { mode: 0o600, flag: "wx" });
    native = cc({ source: file, symbols }).symbols;
    return native;
  } catch (e) {
    loadError = new Error(`cannot compile the native spawn helper: ${(e as Error).message}`, { cause: e });
    throw loadError;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Build a NULL-terminated char*[] whose backing buffers stay alive as long as the returned object. */
function cStringArray(items: string[]) {
  const bufs = items.map((s) => Buffer.from(`${s}\0`, "utf8"));
  const table = new BigUint64Array(items.length + 1);
  bufs.forEach((b, i) => {
    table[i] = BigInt(ptr(b));
  });
  return { bufs, table };
}

/** fork → fork → setsid → execveat(fd) / fexecve(fd) in native code. Returns the daemon pid. */
export function spawnFromFd(
  exeFd: number,
  argv: string[],
  env: Record<string, string>,
  logFd: number,
): number {
  const n = loadNative();
  const a = cStringArray(argv);
  const e = cStringArray(Object.entries(env).map(([k, v]) => `${k}=${v}`));
  const pid = n.tracer_spawn_fd(exeFd, ptr(a.table), ptr(e.table), logFd);
  // keep the buffers reachable until after the call
  void a.bufs.length;
  void e.bufs.length;
  return pid;
}
