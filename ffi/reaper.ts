/**
 * ffi/reaper.c: `tracer run`'s orphan reaper, a native thread that reaps every orphan re-parented to
 * tracer the moment it is a zombie, after reading its CPU clock, final I/O and start time. The JS side
 * drains the reaps from a queue. See the C file.
 */
import { ptr } from "bun:ffi";
import { embeddedC } from "./_cc.ts";
import { type Reaped, decodeWaitStatus } from "./libc.ts";
import { embeddedText } from "./_text.ts" with { type: "macro" };

/** the C source (TinyCC compiles it where the binary carries no prebuilt object: ./_cc.ts) */
const source = embeddedText("reaper.c");

const symbols = {
  rp_start: { args: ["i32", "i32", "i32"], returns: "i32" },
  rp_cmd_reaped: { args: [], returns: "void" },
  rp_reap_now: { args: ["i32"], returns: "i32" },
  rp_take: { args: ["ptr", "i32"], returns: "i32" },
  rp_stop: { args: [], returns: "void" },
} as const;

const load = embeddedC("reaper.c", source, symbols, "the native orphan reaper");

/** doubles per record (RP_FIELDS in reaper.c) */
const FIELDS = 12;
const BATCH = 1024;

/** One orphan reaped by the thread, with the CLOCK_REALTIME epoch ms of its reap. */
export type OrphanReap = { r: Reaped; at: number };

/**
 * Start the thread. `cmd`: CMD's pid (left to the caller, who reaps it for its status); `wake`: the
 * SIGCHLD pipe's read end (ffi/init.ts chldPipe); `notify`: the JS wake-up pipe's write end, which gets a
 * byte after reaps. Returns false when the thread could not be made (the caller then reaps).
 */
export function startReaper(cmd: number, wake: number, notify: number): boolean {
  try {
    return load().rp_start(cmd, wake, notify) === 0;
  } catch {
    return false;
  }
}

/** CMD has been reaped by the caller: its pid is no longer excluded. */
export const cmdReaped = (): void => load().rp_cmd_reaped();

/**
 * Reap at once on this thread: the main thread's children (orphans are re-parented to it), or with
 * `allThreads` every thread's. The reaps are queued as the thread's are.
 */
export const reapNow = (allThreads: boolean): number => load().rp_reap_now(allThreads ? 1 : 0);

/** Stop the thread (not joined: tracer exits next); queued reaps stay for takeReaped. */
export const stopReaper = (): void => load().rp_stop();

let buf: Float64Array | undefined;

const opt = (v: number) => (v < 0 ? undefined : v);

/** Every reap queued since the last call, oldest first. */
export function takeReaped(): OrphanReap[] {
  const out: OrphanReap[] = [];
  // one buffer for every call: a fresh one per wake-up (thousands a second in a fork storm) is garbage
  // outside the JS heap that piles up until the next collection
  buf ??= new Float64Array(FIELDS * BATCH);
  for (;;) {
    const n = load().rp_take(ptr(buf), BATCH);
    for (let i = 0; i < n; i++) {
      const f = buf.subarray(i * FIELDS, (i + 1) * FIELDS);
      const io =
        f[8]! < 0 || f[9]! < 0 || f[10]! < 0 || f[11]! < 0
          ? undefined
          : { rchar: f[8]!, wchar: f[9]!, readBytes: f[10]!, writeBytes: f[11]! };
      out.push({
        at: f[2]!,
        r: {
          pid: f[0]!,
          ...decodeWaitStatus(f[1]!),
          userUs: f[3]!,
          systemUs: f[4]!,
          maxRssKb: f[5]!,
          zombie: { startTicks: opt(f[6]!), cpuNs: opt(f[7]!), io },
        },
      });
    }
    if (n < BATCH) return out;
  }
}
