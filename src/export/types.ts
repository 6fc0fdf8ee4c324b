/**
 * What the exporter takes: plain typed inputs, independent of the store's row shapes, so any producer
 * (the `tracer run` recorder, the daemon) can hand over a run, its processes and its metrics.
 * Times are milliseconds since the epoch; sizes are bytes unless the name says otherwise.
 */
import type { ProcessOutcome } from "../observe/types.ts";

export interface ExportRun {
  /** a UUID (v7 in practice); its 32 hex digits become the OTLP trace id */
  id: string;
  name: string;
  pipeline: string;
  command?: string[];
  cwd?: string;
  host?: string;
  /** capture mode (connector+taskstats, proc-poll, ...) */
  mode?: string;
  startedAt: number;
  endedAt?: number;
  exitCode?: number;
  signal?: number;
  /** done | failed | interrupted | running */
  status?: string;
  eventsLost?: number;
}

export interface ExportProcess extends ProcessOutcome {
  /** unique within the run (the store's row id, or `${pid}:${startTicks}`) */
  key: string;
  /** key of the parent process when it is in the same run; otherwise the span hangs off the run span */
  parentKey?: string;
  pid: number;
  ppid?: number;
  startTicks?: number;
  /** kernel command name (comm) */
  comm?: string;
  executablePath?: string;
  argv?: string[];
  cwd?: string;
  startedAt: number;
  endedAt?: number;
}

/** One host-wide sample. */
export interface ExportSystemSample {
  at: number;
  /** 0–100; null when unknown (a run's first reading has none earlier to compare with) */
  cpuPct: number | null;
  memTotalKb: number;
  memUsedKb: number;
  swapTotalKb: number;
  swapUsedKb: number;
  load1: number;
  load5: number;
  load15: number;
  diskTotalBytes: number;
  diskUsedBytes: number;
}

export interface ExportOptions {
  /**
   * Include process.command_args / process.command_line. Off by default: the semantic conventions say
   * they SHOULD NOT be collected without sanitisation (arguments may hold secrets).
   */
  commandArgs?: boolean;
}
