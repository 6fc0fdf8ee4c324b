/**
 * ffi/execargv.c: argv and cwd of every exec in tracer run's tree, read by an eBPF program in the exec
 * itself and handed over through a ring buffer, in the exec watcher's record layout. See the C file.
 */
import { ptr } from "bun:ffi";
import { embeddedC } from "./_cc.ts";
import { embeddedText } from "./_text.ts" with { type: "macro" };
import { ARGV_CAP_BYTES, EXEC_RECORD_HEAD, type SeenExec, readExecRecords } from "./execwatch.ts";

/** the C source (TinyCC compiles it where the binary carries no prebuilt object: ./_cc.ts) */
const source = embeddedText("execargv.c");

const symbols = {
  xa_open_async: { args: ["i32"], returns: "i32" },
  xa_status_now: { args: [], returns: "i32" },
  xa_take: { args: ["ptr", "i32"], returns: "i32" },
  xa_close: { args: [], returns: "void" },
  xa_filter_execs: { args: ["i32"], returns: "i32" },
} as const;

const load = embeddedC("execargv.c", source, symbols, "the in-kernel exec reader");
const ENOSYS = 38;
/** the largest record xa_take writes: header, a full argv, the longest cwd (PATH_MAX), padding */
const RECORD_MAX = EXEC_RECORD_HEAD + ARGV_CAP_BYTES + 4096 + 8;
/** take()'s buffer, made at the first take: many records per call, any single one fits */
const OUT_BYTES = 256 << 10;
let out: Uint8Array | undefined;

/**
 * Start attaching the program (on a native thread: it waits for an RCU grace period), following the
 * tree of the scheduler-runtime ledger whose map is `ledgerFd` (ffi/schedrt.ts ledgerMapFd). 0
 * started, or a negative errno (-ENOSYS off x86-64/arm64 Linux or when the helper cannot load).
 * The outcome: kernelArgvStatus().
 */
export function openKernelArgv(ledgerFd: number): number {
  if (process.platform !== "linux") return -ENOSYS;
  try {
    return load().xa_open_async(ledgerFd);
  } catch {
    return -ENOSYS;
  }
}

/** 1 attached, 0 still attaching, or a negative errno (EINVAL: the verifier refused it; ENOENT: a kernel type lacks a member). */
export const kernelArgvStatus = (): number => load().xa_status_now();

/** Every exec recorded since the last call, oldest first; argv and cwd bytes decoded by `decode`. */
export function takeKernelArgv(decode: (bytes: Uint8Array) => string): SeenExec[] {
  const seen: SeenExec[] = [];
  out ??= new Uint8Array(OUT_BYTES);
  for (;;) {
    const n = load().xa_take(ptr(out), out.byteLength) as number;
    readExecRecords(out, n, decode, seen);
    // the buffer was the limit: the ring may hold more
    if (n === 0 || n + RECORD_MAX <= out.byteLength) return seen;
  }
}

/**
 * Once attached: filter proc-connector socket `fd` (the exec watcher's exec socket) down to the exec
 * events of processes whose exec the program could not put in the ring (full, or argv unreadable): the
 * thread then reads only those. 0, or a negative errno (the socket then keeps its filter).
 */
export const filterExecsByMisses = (fd: number): number => load().xa_filter_execs(fd);

/** Detach the program and free the ring (an attach under way does so when done). */
export const closeKernelArgv = (): void => load().xa_close();
