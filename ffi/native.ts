/** ffi/spawn.c (native fork → fork → setsid → exec of a descriptor), compiled by TinyCC via ./_cc.ts. */
import { ptr } from "bun:ffi";
import { embeddedC } from "./_cc.ts";
import { embeddedText } from "./_text.ts" with { type: "macro" };

/** the C source (TinyCC compiles it where the binary carries no prebuilt object: ./_cc.ts) */
const spawnSource = embeddedText("spawn.c");

const symbols = {
  tracer_spawn_fd: { args: ["i32", "ptr", "ptr", "i32"], returns: "i32" },
} as const;

/** Compile once per process, on first use (≈ 8 ms). */
export const loadNative = embeddedC("spawn.c", spawnSource, symbols, "the native spawn helper");

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
