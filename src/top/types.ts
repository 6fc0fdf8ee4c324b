/** Shapes of `tracer top`: what a poll of the store yields (RunState) and the snapshot the screen shows. */
import type { Step, StepProcess } from "../steps/index.ts";

/** The run row as top reads it. Times ms since the epoch. */
export interface WatchedRun {
  id: string;
  name: string;
  pipeline: string;
  mode: string;
  recorderPid: number;
  /** the recorder beyond its pid (src/store/runs.ts processStart); null: not kept */
  recorderStart: string | null;
  startedAt: number;
  endedAt: number | null;
  exitCode: number | null;
  signal: number | null;
  /** running | done | failed | interrupted (the recorder died before finishing the run) */
  status: string;
}

/** A live process's newest sample: CPU % of one core, RSS KiB, bytes read + written per second (rchar + wchar). */
export interface LiveFigures {
  cpuPct: number | null;
  rssKb: number | null;
  ioRate: number | null;
}

/** The host's newest system metrics recorded for the run. */
export interface HostNow {
  at: number;
  cpuPct: number | null;
  memUsedKb: number | null;
  memTotalKb: number | null;
}

/** A process top watches (alive, or just ended): what its line and its I/O rate are made of. */
export type WatchedProcess = Pick<
  StepProcess,
  | "id"
  | "pid"
  | "parentId"
  | "comm"
  | "argv"
  | "startedAt"
  | "endedAt"
  | "exitCode"
  | "signal"
  | "rchar"
  | "wchar"
>;

/** One poll of one run (src/top/watch.ts). */
export interface RunState {
  run: WatchedRun;
  /**
   * null while the run is recorded; else the instant its figures stop at (ms since the epoch): its end,
   * or for an interrupted run the newest time recorded. The store no longer follows its processes then:
   * `live` is empty and a process with no end recorded is "not followed".
   */
  endAt: number | null;
  /** how many processes the run has recorded so far */
  processCount: number;
  /** the processes watched now (every live one, and those ended a poll or two ago), by row id: not the ended ones */
  watched: ReadonlyMap<number, WatchedProcess>;
  steps: readonly Step[];
  /** position in `steps` of the step holding a process, if any */
  stepOf: (processId: number) => number | undefined;
  /** figures of the processes alive now, by row id */
  live: ReadonlyMap<number, LiveFigures>;
  host: HostNow | null;
}

/** A process as the screen shows it. */
export interface TopProcess {
  id: number;
  pid: number;
  /** argv joined by spaces, else comm (recorded text: sanitised when rendered) */
  command: string;
  elapsedMs: number | null;
  cpuPct: number | null;
  rssKb: number | null;
  ioRate: number | null;
}

export type StepState = "running" | "failed" | "done" | "unfinished";

/**
 * A step as the screen shows it. Running: its live processes' current CPU % (summed), RSS (summed) and
 * I/O rate; ended: its average CPU % and I/O rate over its duration and its peak RSS.
 */
export interface TopStep {
  /** stable across polls: run id + root process row id */
  key: string;
  index: number;
  name: string;
  state: StepState;
  startedAt: number;
  elapsedMs: number;
  cpuPct: number | null;
  /** running: its live processes' RSS now; ended: its sampled peak (a lower bound unless `peak` is one figure) */
  rssKb: number | null;
  /**
   * ended: its peak RSS as `tracer report` shows it (src/report/table.ts stepPeak): "198MiB" when the
   * bounds meet, else "198MiB–215MiB" (sampled peak – the most its processes alive together can have
   * held), "-" when unknown
   */
  peak?: string;
  ioRate: number | null;
  /** processes of the step recorded so far */
  processes: number;
  exit: string;
  /** the step's processes alive now */
  live: TopProcess[];
}

export interface TopRun {
  id: string;
  name: string;
  pipeline: string;
  status: string;
  mode: string;
  elapsedMs: number;
  exit: string;
  processes: number;
  liveProcesses: number;
  /** processes with no end recorded in a run no longer recorded: not known to be alive, not followed */
  notFollowed: number;
  host: HostNow | null;
  running: number;
  done: number;
  failed: number;
  /** every running step, the newest failed and the newest other ended ones (src/top/model.ts) */
  steps: TopStep[];
  /** ended steps not in `steps` */
  hidden: number;
  /** live processes that belong to no step (the pipeline's own shell, helpers) */
  other: TopProcess[];
}

export interface Snapshot {
  /** ms since the epoch */
  at: number;
  runs: TopRun[];
  /** a line shown above the runs (e.g. "no active run: the newest run") */
  note?: string;
}
