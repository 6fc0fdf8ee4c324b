/** Steps: what a report shows — a named tool, script, Snakemake job or Nextflow task with its subtree rolled up. */
import type { BusyProfile, LiveBusy } from "./_busy.ts";

/**
 * tool/script: a named process and its subtree; snakemake-job / nextflow-task / make-recipe: what a
 * workflow engine started; other: every process no step holds, grouped by executable (docs/RULES.md).
 */
export type StepKind = "tool" | "script" | "snakemake-job" | "nextflow-task" | "make-recipe" | "other";

export interface Step {
  /** 1-based, in start order */
  index: number;
  /**
   * what matches this step across runs of a pipeline (tracer diff, advise): the Nextflow task name, a
   * make recipe's target; else the kind and name, with `#N` (the ordinal in start order) when several
   * steps of the run share them
   */
  key: string;
  name: string;
  kind: StepKind;
  /** rule name for tools and scripts; the engine for jobs and tasks */
  tool: string;
  /** named tools found inside the step (a job's `bwa mem`, `samtools sort`) */
  tools: string[];
  /** store row id and pid of the step's root process */
  rootId: number;
  pid: number;
  command: string;
  /** the Nextflow task work dir */
  workdir?: string;
  /** all processes of the step (the root and its descendants) */
  processIds: number[];
  startedAt: number;
  endedAt: number | null;
  /**
   * wall, ms: a named step's root from start to end; an `other` step's the time at least one of its
   * processes ran (the union of their lifetimes: src/steps/_busy.ts), which can be far less than
   * endedAt − startedAt
   */
  durationMs: number | null;
  /** an ended `other` step's busy share along its extent (src/steps/_busy.ts): what the HTML timeline draws */
  busyProfile?: BusyProfile;
  /** a running `other` step's busy time so far: what `tracer top` counts its elapsed time from */
  liveBusy?: LiveBusy;
  /** user + system CPU of every process of the step, µs */
  cpuUs: number;
  /**
   * peak of the step's summed RSS over the sampled instants, at least its largest process's VmHWM: a
   * lower bound unless peakRssExact
   */
  peakRssKb: number;
  /** upper bound: the largest sum of per-process peaks of processes alive together (steps/_rollup.ts) */
  peakRssUpperKb: number;
  /** the bounds meet (e.g. one process at a time): peakRssKb is the step's peak */
  peakRssExact: boolean;
  rchar: number;
  wchar: number;
  readBytes: number;
  writeBytes: number;
  exitCode: number | null;
  signal: number | null;
  oomKilled: boolean;
  /** the largest memory limit (KiB) of the cgroups the step's OOM-killed processes died in; null: none recorded */
  oomLimitKb?: number | null;
  failed: boolean;
  /** how many of its processes have each figure unknown (a sum over them is a lower bound) */
  unknown?: UnknownCounts;
}

/** Processes whose figure was not recorded, per figure. */
export interface UnknownCounts {
  cpu: number;
  peakRss: number;
  readBytes: number;
  writeBytes: number;
  rchar: number;
  wchar: number;
}

/** One process as steps need it (a store ProcessRow fits). */
export interface StepProcess {
  id: number;
  pid: number;
  parentId: number | null;
  comm: string | null;
  argv: string[] | null;
  cwd: string | null;
  startedAt: number | null;
  endedAt: number | null;
  /** exact lifetime (taskstats/wait4), µs: finer than endedAt − startedAt (ms); absent: not known */
  durationUs?: number | null;
  /**
   * epoch ms of its last exec (absent/null: none seen, or times not exact): a child forked before it was
   * the earlier program's, so steps take it as its grandparent's (src/steps/_columns.ts)
   */
  execAt?: number | null;
  /**
   * CPU (µs) it had used at that exec (the scheduler ledger; absent/null: not known): what its earlier
   * images ran, not counted in a step that starts at the exec (src/steps/_rollup.ts)
   */
  execCpuUs?: number | null;
  /** the first command line it exec'd itself, once it exec'd another (absent/null: none) */
  priorArgv?: string[] | null;
  /** bytes of that whole command line when priorArgv holds only its head */
  priorArgvBytes?: number | null;
  /**
   * where its figures came from (the store's `figures`): "taskstats" or "wait4" (its exit's record),
   * "proc" (its last /proc sample: the peak RSS a lower bound), "wait4+proc" (CPU from wait4, the peak
   * its last sample's: CMD without an exit record); absent/null: none
   */
  figures?: string | null;
  /** KiB: at most the peak RSS of the images its execs replaced (absent/null: no bound needed; +Infinity: none known) */
  execPeakRssKb?: number | null;
  /** argv holds only the head of a longer command line (src/observe/argv.ts: 64 KiB kept) */
  argvTruncated?: boolean;
  /** bytes of the whole command line, cut or not */
  argvBytes?: number | null;
  exitCode: number | null;
  signal: number | null;
  oomKilled: boolean;
  /** memory limit of the cgroup an OOM kill was counted in, KiB (null/absent: unknown or not killed) */
  oomLimitKb?: number | null;
  userUs: number | null;
  systemUs: number | null;
  peakRssKb: number | null;
  rchar: number | null;
  wchar: number | null;
  readBytes: number | null;
  writeBytes: number | null;
}

/** RSS samples per process id: the sampler samples every live process at one instant `at`. */
export type RssSamples = Map<number, { at: number; rssKb: number }[]>;
