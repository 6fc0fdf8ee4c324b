/** The daemon's in-memory state and the JSON shapes of the /v1 API (documented in docs/CLI.md). */
export interface RunInfo {
  id: string;
  name: string;
  pipeline: string;
  startedAt: string;
  endedAt?: string;
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

  constructor(readonly meta: Omit<DaemonInfo, "uptimeMs" | "run" | "runsCompleted" | "startedAt" | "pid">) {}

  info(): DaemonInfo {
    return {
      ...this.meta,
      pid: process.pid,
      startedAt: this.startedAt.toISOString(),
      uptimeMs: Date.now() - this.startedAt.getTime(),
      run: this.run,
      runsCompleted: this.runsCompleted,
    };
  }

  start(name: string | undefined, pipeline: string | undefined): RunInfo {
    const now = new Date();
    this.run = {
      id: Bun.randomUUIDv7(),
      name: name || `run-${now.toISOString().replace(/[-:]/g, "").slice(0, 15)}`,
      pipeline: pipeline || "default",
      startedAt: now.toISOString(),
    };
    return this.run;
  }

  stop(): RunInfo | null {
    const run = this.run;
    if (!run) return null;
    this.run = null;
    this.runsCompleted++;
    return { ...run, endedAt: new Date().toISOString() };
  }
}
