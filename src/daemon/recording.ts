/**
 * Daemon mode: while a run is active, record host-wide only the processes a recognition rule matches
 * (bwa, samtools, snakemake, …) plus their descendants, into the store under the run's id. Capture as
 * strong as the host allows (connector + taskstats as root); loss is counted like `tracer run` does.
 */
import { hostname } from "node:os";
import { ExecWatcher } from "../observe/execwatch.ts";
import { Recorder } from "../observe/recorder.ts";
import { Sampler } from "../observe/sampler.ts";
import { leanTiers } from "../observe/tiers.ts";
import { type SchedRuntime, openLedger } from "../observe/schedrt.ts";
import { openSources, stopSources, syncSources } from "../observe/sources.ts";
import type { CaptureMode, CaptureSource } from "../observe/types.ts";
import { loadRules, matchProcess } from "../rules/index.ts";
import { nameFilter } from "../rules/prefilter.ts";
import { StoreWriter, createRun, finishRun, openStore } from "../store/index.ts";
import { log } from "./log.ts";
import type { RunInfo } from "./state.ts";

const FLUSH_MS = 500;
/** no process has this parent: in daemon mode nothing is in scope until a rule adopts it */
const NO_ROOT = -1;

export interface RecordingStats {
  mode: CaptureMode;
  processes: number;
  lost: number;
}

export class DaemonRecording {
  private constructor(
    private readonly run: RunInfo,
    private readonly db: ReturnType<typeof openStore>,
    private readonly recorder: Recorder,
    private readonly sampler: Sampler,
    private readonly sources: CaptureSource[],
    private readonly flusher: ReturnType<typeof setInterval>,
    readonly mode: CaptureMode,
    private readonly watcher: ExecWatcher | undefined,
    private readonly ledger: SchedRuntime | undefined,
  ) {}

  static async start(run: RunInfo): Promise<DaemonRecording> {
    const rules = loadRules();
    const db = openStore();
    const writer = new StoreWriter(db, run.id);
    let watcher: ExecWatcher | undefined;
    let sources: CaptureSource[] = [];
    let runRow = false;
    let ledger: SchedRuntime | undefined;
    // a recording's code stays out of the FTL tier (src/observe/tiers.ts)
    leanTiers();
    const recorder = new Recorder(writer, NO_ROOT, {
      // each process's whole CPU from the scheduler-runtime ledger: adopted tools are entered as they
      // are recorded, their descendants from their fork (docs/CAPTURE.md)
      ledger: (pid, startedAt) => ledger?.take(pid, startedAt),
      onIdentified: (rec) => ledger?.follow(rec.pid, rec.startedAt, rec.startTicks),
      adopt: (argv, comm) => matchProcess(rules, { argv, comm }) !== undefined,
      // execs the watcher's name filter dropped: no rule can match them, no /proc read
      mayAdopt: (pid, at) => watcher?.mayWatch(pid, at) ?? true,
      execArgv: (pid, at, nearMs, after) => watcher?.lookup(pid, at, nearMs, after),
      sync: (all) => syncSources(sources, all),
      // once the run row exists a backlog is written at once; a failure (a locked store) is logged and
      // the rows wait for the next flush: it must not leave Recorder.finish halfway (its caller may
      // still have a process to record)
      onBacklog: () => {
        if (!runRow) return;
        try {
          recorder.writeNow();
        } catch (e) {
          log("warn", "recording error", { run: run.id, error: (e as Error).message });
        }
      },
    });
    // exit records of processes outside every watched tree are dropped before any work
    const keep = () => {
      const watched = watcher?.watchedNow();
      return watched && ((tgid: number, ppid: number) => watched(tgid) || watched(ppid));
    };
    // a failure while recording is logged, never fatal to the daemon
    const guard =
      <T>(f: (x: T) => void) =>
      (x: T) => {
        try {
          f(x);
        } catch (e) {
          log("warn", "recording error", { run: run.id, error: (e as Error).message });
        }
      };
    const opened = await openSources(
      1, // proc-poll fallback watches the whole host
      (s) => {
        s.onEvent(guard(recorder.onEvent));
        s.onExitFigures?.(guard(recorder.onExitFigures));
      },
      {
        // connector messages about processes outside every watched tree are dropped natively
        connector: { pollMs: 100, filter: (buf) => watcher?.compact(buf) ?? buf },
        taskstats: { pollMs: 100, filter: keep },
      },
    );
    sources = opened.sources;
    // argv of short processes below an adopted one: nothing is in a tree until a rule adopts it, so
    // the watcher reads every exec on the host, and keeps those whose names a rule can match (and
    // their descendants'); without a name filter (a rule that matches on arguments only) it keeps all
    if (opened.mode.startsWith("connector")) watcher = ExecWatcher.start(0, { filter: nameFilter(rules) });
    createRun(db, {
      id: run.id,
      name: run.name,
      pipeline: run.pipeline,
      command: [],
      cwd: "/",
      host: hostname(),
      mode: opened.mode,
      recorderPid: process.pid,
      startedAt: Date.parse(run.startedAt),
      captureSkipped: opened.skipped,
    });
    runRow = true;
    // after the last step that can fail: nothing left attached by a start that throws
    if (opened.mode.startsWith("connector") && process.env.TRACER_NO_SCHED_RUNTIME !== "1")
      ledger = openLedger(process.pid, () => recorder.liveRecords());
    const sampler = new Sampler(recorder, writer, 1000, "/");
    sampler.start();
    const flusher = setInterval(
      guard(() => recorder.flush()),
      FLUSH_MS,
    );
    for (const why of opened.skipped) log("info", "capture source skipped", { why });
    log("info", "recording", { run: run.id, mode: opened.mode });
    return new DaemonRecording(
      run,
      db,
      recorder,
      sampler,
      opened.sources,
      flusher,
      opened.mode,
      watcher,
      ledger,
    );
  }

  stats(): RecordingStats {
    const lost = this.sources.reduce((n, s) => n + s.stats().lost, 0);
    return { mode: this.mode, processes: this.recorder.stats().processes, lost };
  }

  /** Stop capture, write what is pending, close the run. Never throws. */
  async stop(endedAt = Date.now()): Promise<RecordingStats> {
    this.sampler.stop();
    clearInterval(this.flusher);
    await stopSources(this.sources);
    const stats = this.stats();
    try {
      this.recorder.flush(true);
      // a daemon run has no command of its own: stopping it normally ends it with code 0
      finishRun(this.db, this.run.id, {
        endedAt,
        exitCode: 0,
        eventsLost: stats.lost,
        lossReasons: this.recorder.stats().lossReasons,
        recovered: this.recorder.recovered,
        argvLost: this.recorder.stats().argvLost,
        mode: this.mode,
      });
      this.db.close();
    } catch (e) {
      log("error", "could not finish the run's record", { run: this.run.id, error: (e as Error).message });
    }
    this.watcher?.stop();
    this.ledger?.close();
    if (stats.lost) log("warn", "events lost during the run", { run: this.run.id, lost: stats.lost });
    return stats;
  }
}
