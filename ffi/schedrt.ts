/**
 * ffi/schedrt.c: the scheduler-runtime ledger (eBPF programs that sum, in the kernel, the runtime the
 * scheduler charges to every process of tracer's tree, and its exited threads' I/O). See the C file.
 */
import { ptr } from "bun:ffi";
import { embeddedC } from "./_cc.ts";
import { embeddedText } from "./_text.ts" with { type: "macro" };

/** the C source (TinyCC compiles it where the binary carries no prebuilt object: ./_cc.ts) */
const source = embeddedText("schedrt.c");

const symbols = {
  sr_open_async: { args: ["i32"], returns: "i32" },
  sr_status_now: { args: [], returns: "i32" },
  sr_follow: { args: ["i32", "f64", "f64"], returns: "i32" },
  sr_take: { args: ["i32", "f64", "f64", "ptr", "i32"], returns: "i32" },
  sr_close: { args: [], returns: "void" },
  sr_filter_execs: { args: ["i32"], returns: "i32" },
  sr_map_fd: { args: [], returns: "i32" },
} as const;

const load = embeddedC("schedrt.c", source, symbols, "the scheduler-runtime ledger");
const ENOSYS = 38;

/**
 * Start opening the ledger on a native thread (attach the programs, follow `root` — tracer's pid —
 * and every process forked below it from then on). 0 started, or a negative errno (-ENOSYS off
 * x86-64/arm64 Linux or when the helper cannot load). The outcome: schedRuntimeStatus().
 */
export function openSchedRuntime(root: number): number {
  if (process.platform !== "linux") return -ENOSYS;
  try {
    return load().sr_open_async(root);
  } catch {
    return -ENOSYS;
  }
}

/** 1 open, 0 still opening, or a negative errno (EPERM without CAP_BPF/CAP_PERFMON; EPROTO: the kernel's types are not as expected; ENODATA: the self-check failed). */
export const schedRuntimeStatus = (): number => load().sr_status_now();

/**
 * Follow a process that existed before the ledger opened (its figure is then a lower bound): 1, 0
 * (already followed), -errno. `baselineKb` (a CLONE_VM child that has exec'd since: CMD): at least the
 * peak RSS its first exec brought from its parent; a later exec above it gives its own images' peak.
 */
export const followSchedRuntime = (tgid: number, forkMonoNs: number, baselineKb = -1): number =>
  load().sr_follow(tgid, forkMonoNs, baselineKb);

const out = new Float64Array(14);

/** The I/O counters of a process's threads that exited while it was followed (bytes). */
export interface LedgerIo {
  rchar: number;
  wchar: number;
  readBytes: number;
  writeBytes: number;
}

/**
 * A process's tick-sampled CPU at its exit's notification of its parent (ns; the kernel's
 * task_cputime: whole ticks where the tick accounts time), and its signal's prev_cputime (what an
 * earlier cputime_adjust reported: /proc/PID/stat read during its life) — what wait4's rusage splits
 * its runtime into user and system time by (src/observe/_figures.ts adjustCputime).
 */
export interface ExitTicks {
  userNs: number;
  systemNs: number;
  prevUserNs: number;
  prevSystemNs: number;
}

/**
 * Take process `tgid`'s summed runtime out of the ledger: { runtimeNs, forkNs (CLOCK_MONOTONIC),
 * maxRssKb: the largest peak RSS of the images an exec replaced (the kernel's signal->maxrss, as
 * wait4's ru_maxrss; 0 when none was larger, undefined for a child that shared its parent's address
 * space until its exec: vfork, posix_spawn), io: the I/O of its threads that exited since it was
 * entered (for a process followed since its fork and ended, its own I/O exactly; undefined when the
 * kernel does not count I/O per task), execRuntimeNs: the runtime it had at its last exec seen while
 * followed (what its earlier images used, the slice the exec ran in split at it once the process was
 * charged again; undefined: none
 * seen), maxRssBoundKb: maxRssKb, or where that is unknown for a vfork child that exec'd, the
 * parent's peak it started from, which its images did not exceed (undefined: neither), exitNs: when its
 * exit notified its parent (CLOCK_MONOTONIC ns: the signal exit_notify generates just before waking
 * the parent; undefined: not seen, as for a parent that ignores SIGCHLD), exitTicks: with exitNs, what
 * wait4 splits its runtime by (ExitTicks) }, or
 * undefined when it is not there or its fork time is outside [loNs, hiNs] (a later process with the
 * same pid; loNs > hiNs accepts any). Taken once: the entry is removed, unless `keep` (a look only).
 */
export function takeSchedRuntime(
  tgid: number,
  loNs: number,
  hiNs: number,
  keep = false,
):
  | {
      runtimeNs: number;
      forkNs: number;
      maxRssKb: number | undefined;
      io: LedgerIo | undefined;
      execRuntimeNs: number | undefined;
      maxRssBoundKb: number | undefined;
      exitNs: number | undefined;
      exitTicks: ExitTicks | undefined;
    }
  | undefined {
  if (load().sr_take(tgid, loNs, hiNs, ptr(out), keep ? 1 : 0) !== 1) return undefined;
  const io =
    out[3]! < 0 ? undefined : { rchar: out[3]!, wchar: out[4]!, readBytes: out[5]!, writeBytes: out[6]! };
  return {
    runtimeNs: out[0]!,
    forkNs: out[1]!,
    maxRssKb: out[2]! < 0 ? undefined : out[2]!,
    io,
    execRuntimeNs: out[7]! < 0 ? undefined : out[7]!,
    // unknown peak, known bound: a vfork child whose images stayed at or below its parent's peak
    maxRssBoundKb: out[2]! >= 0 ? out[2]! : out[8]! >= 0 ? out[8]! : undefined,
    exitNs: out[9]! < 0 ? undefined : out[9]!,
    exitTicks:
      out[10]! < 0
        ? undefined
        : { userNs: out[10]!, systemNs: out[11]!, prevUserNs: out[12]!, prevSystemNs: out[13]! },
  };
}

/** Detach the programs and free the ledger (an open under way does so when done; tracer's exit too). */
export const closeSchedRuntime = (): void => load().sr_close();

/**
 * Filter proc-connector socket `fd` (the exec watcher's exec socket) in the kernel down to the exec
 * events of processes the open ledger follows: an eBPF socket filter that looks each event's tgid up
 * in the ledger's map. 0, or a negative errno (-ENOENT: the ledger is not open; the socket then keeps
 * its filter). See sr_filter_execs in the C file.
 */
export const filterExecsByLedger = (fd: number): number => load().sr_filter_execs(fd);

/** The open ledger's map fd (for ffi/execargv.c, which follows the same tree), or -ENOENT. */
export const ledgerMapFd = (): number => load().sr_map_fd();
