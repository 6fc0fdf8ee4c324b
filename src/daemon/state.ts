/** The daemon's in-memory state and the JSON shapes of the /v1 API (documented in docs/CLI.md). */
import { DaemonRecording, type RecordingStats } from "./recording.ts";
import type { OtlpConfig } from "../export/config.ts";
import { log } from "./log.ts";
import { autoRunName } from "../store/runs.ts";

export interface RunInfo {
  id: string;
  name: string;
  pipeline: string;
  startedAt: string;
  endedAt?: string;
  /** host-wide capture of rule-matched processes: mode and counts so far (or why it could not start) */
  capture?: RecordingStats | { error: string };
}

export interface DaemonInfo {
  version: string;
  commit: string;
  pid: number;
  startedAt: string;
  uptimeMs: number;
  strategy: string;
  socket: string;
  log: string;
  stateDir: string;
  run: RunInfo | null;
  runsCompleted: number;
}

export class DaemonState {
  readonly startedAt = new Date();
  run: RunInfo | null = null;
  runsCompleted = 0;
  private recording: DaemonRecording | undefined;
  private exports = new Set<Promise<void>>();

  constructor(
    readonly meta: Omit<DaemonInfo, "uptimeMs" | "run" | "runsCompleted" | "startedAt" | "pid">,
    private readonly otlp?: OtlpConfig,
  ) {}

  info(): DaemonInfo {
    return {
      ...this.meta,
      pid: process.pid,
      startedAt: this.startedAt.toISOString(),
      uptimeMs: Date.now() - this.startedAt.getTime(),
      run: this.run && this.recording ? { ...this.run, capture: this.recording.stats() } : this.run,
      runsCompleted: this.runsCompleted,
    };
  }

  /** Begin a run and its recording; a recording that cannot start leaves the run named but says why. */
  async start(name: string | undefined, pipeline: string | undefined, record = true): Promise<RunInfo> {
    const now = new Date();
    const id = Bun.randomUUIDv7();
    const run: RunInfo = {
      id,
      name: name || autoRunName(id, now),
      pipeline: pipeline || "default",
      startedAt: now.toISOString(),
    };
    this.run = run;
    if (record) {
      try {
        this.recording = await DaemonRecording.start(run);
      } catch (e) {
        run.capture = { error: (e as Error).message };
        log("error", "recording could not start", { run: run.id, error: (e as Error).message });
      }
    }
    return this.info().run!;
  }

  async stop(): Promise<RunInfo | null> {
    const run = this.run;
    if (!run) return null;
    this.run = null;
    this.runsCompleted++;
    const capture = await this.recording?.stop();
    this.recording = undefined;
    if (capture && this.otlp) this.export(run.id, this.otlp);
    return { ...run, endedAt: new Date().toISOString(), ...(capture ? { capture } : {}) };
  }

  /** Send the run to the collector in the background; what cannot go now stays in the outbox. */
  private export(runId: string, config: OtlpConfig) {
    const done = import("../export/from-store.ts")
      .then(async ({ exportStoredRun, summaryLine }) => {
        const x = await exportStoredRun(runId, config);
        for (const l of x.lines) log("warn", l, { run: runId });
        log("info", summaryLine(x), { run: runId });
      })
      .catch((e) => log("error", "export failed", { run: runId, error: (e as Error).message }))
      .finally(() => this.exports.delete(done));
    this.exports.add(done);
  }

  /** Wait for exports still in flight (shutdown). */
  async exportsDone(): Promise<void> {
    await Promise.all([...this.exports]);
  }
}
