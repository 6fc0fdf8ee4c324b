/**
 * The contract between capture sources (netlink proc connector, taskstats, /proc polling) and their
 * consumers (the recorder behind `tracer run` and the daemon). Sources emit facts; consumers key every
 * process by (pid, start time) so PID reuse can never merge two processes.
 */

/** Linux: /proc/PID/stat field 22 (starttime, clock ticks since boot). */
export type StartTicks = number;

/** A process identity that survives PID reuse: `${pid}:${startTicks}`. */
export type ProcKey = string;
export const procKey = (pid: number, startTicks: StartTicks): ProcKey => `${pid}:${startTicks}`;

/** Events in kernel order from a capture source. `at` is ms since the epoch (wall clock). */
export type CaptureEvent =
  | { type: "fork"; at: number; pid: number; tgid: number; ppid: number; ptgid: number }
  | { type: "exec"; at: number; pid: number; tgid: number }
  /** exitCode is the decoded status: code when exited, undefined when killed; signal when killed */
  | {
      type: "exit";
      at: number;
      pid: number;
      tgid: number;
      exitCode?: number;
      signal?: number;
      coreDumped?: boolean;
      /**
       * the parent the kernel notified (the connector's parent_tgid, read after exit_notify): its end
       * bounds this process's (see Recorder.finish); absent when unknown
       */
      parentTgid?: number;
    }
  /** the source knows it missed events (ENOBUFS, sequence gap); count = how many, at least */
  | { type: "loss"; at: number; count: number; reason: string };

/** Exact final figures of an exiting thread group (taskstats, summed over its threads by tgid). */
export interface ExitFigures {
  tgid: number;
  pid: number;
  /** parent at exit (ac_ppid; an orphan's is its reaper); set by taskstats */
  ppid?: number;
  comm: string;
  exitCode?: number;
  signal?: number;
  /** process start, seconds since the epoch (ac_btime) */
  beginSec: number;
  /** taskstats ac_etime: fork → the exit record, which comes before the address space is torn down */
  elapsedUs: number;
  /** user / system CPU, µs: `cpuNs` in the kernel's tick ratio (as rusage), or tick samples without it */
  userUs: number;
  systemUs: number;
  /** the scheduler's exact runtime of all threads, ns (cpu_run_virtual_total); absent on kernels without it */
  cpuNs?: number;
  /** peak resident set, KiB (hiwater_rss) */
  peakRssKb: number;
  /** peak virtual memory, KiB (hiwater_vm) */
  peakVmKb: number;
  rchar: number;
  wchar: number;
  readBytes: number;
  writeBytes: number;
}

export type CaptureMode = "connector+taskstats" | "connector" | "proc-poll";

export interface SourceStats {
  events: number;
  lost: number;
  lossReasons: Record<string, number>;
}

/** A capture source. start() resolves once it is subscribed (events from then on are delivered). */
export interface CaptureSource {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  onEvent(cb: (e: CaptureEvent) => void): void;
  onExitFigures?(cb: (f: ExitFigures) => void): void;
  /**
   * Deliver what the kernel has queued now (before a reap: the reaped process's events are queued).
   * A drain is capped (a fork storm's backlog is read in steps, so exits do not run far ahead of their
   * figures); `all`: until the queue is empty. True when the queue was read to its end: until then a
   * report whose process is not known yet may only be behind the backlog, not lost.
   */
  sync?(all?: boolean): boolean;
  stats(): SourceStats;
}

/** Whether a capture source can run here, and why not (for `tracer doctor` / `info`). */
export interface Probe {
  available: boolean;
  reason: string;
}

/** How a process ended and what it cost: the figures every consumer (store, export) carries. */
export interface ProcessOutcome {
  exitCode?: number;
  signal?: number;
  coreDumped?: boolean;
  oomKilled?: boolean;
  /** when oomKilled: the memory limit of the cgroup the kill was counted in, KiB */
  oomLimitKb?: number;
  userUs?: number;
  systemUs?: number;
  peakRssKb?: number;
  rchar?: number;
  wchar?: number;
  readBytes?: number;
  writeBytes?: number;
  /** where the exit figures came from: taskstats | wait4 | proc | wait4+proc (CPU wait4's, the peak RSS the last sample's) */
  figures?: string;
}
