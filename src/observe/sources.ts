/**
 * Mode selection: the strongest capture this host allows, chosen automatically.
 *   connector+taskstats  proc connector events + exact taskstats figures at exit (root)
 *   connector            proc connector + /proc sampling (no taskstats: non-root)
 *   proc-poll            /proc polling of the run's tree + wait4 (own network namespace, non-Linux)
 * TRACER_CAPTURE=proc-poll|connector|connector+taskstats forces a mode (tests, benchmarks); a forced
 * mode that cannot start is an error, never a silent fallback.
 */
import { Exit, TracerError } from "../errors.ts";
import { ConnectorSource, type ConnectorOptions } from "./connector.ts";
import { ProcPollSource } from "./poll.ts";
import { TaskstatsSource, type TaskstatsOptions } from "./taskstats.ts";
import type { CaptureMode, CaptureSource } from "./types.ts";

export const MODES: readonly CaptureMode[] = ["connector+taskstats", "connector", "proc-poll"];

export interface OpenedSources {
  mode: CaptureMode;
  sources: CaptureSource[];
  /** why stronger modes were not used */
  skipped: string[];
}

export interface SourceOptions {
  forced?: CaptureMode;
  connector?: ConnectorOptions;
  taskstats?: TaskstatsOptions;
}

export function parseMode(v: string | undefined): CaptureMode | undefined {
  if (!v || v === "auto") return undefined;
  if ((MODES as readonly string[]).includes(v)) return v as CaptureMode;
  throw new TracerError(
    "E_CAPTURE_MODE",
    `unknown capture mode "${v}" (expected auto, ${MODES.join(", ")})`,
    Exit.usage,
  );
}

const unavailable = (mode: CaptureMode, why: string, cause: unknown) =>
  new TracerError("E_CAPTURE_MODE", `capture mode ${mode} is not available here: ${why}`, Exit.error, {
    cause,
  });

/** Start the sources for a tree rooted at `rootPid`; `wire` subscribes the consumer before start(). */
export async function openSources(
  rootPid: number,
  wire: (s: CaptureSource) => void,
  o: SourceOptions = {},
): Promise<OpenedSources> {
  const skipped: string[] = [];
  const started: CaptureSource[] = [];
  const tryStart = async (s: CaptureSource, mode: CaptureMode): Promise<boolean> => {
    wire(s);
    try {
      await s.start();
      started.push(s);
      return true;
    } catch (e) {
      const why = (e as Error).message;
      if (o.forced === mode) throw unavailable(mode, why, e);
      skipped.push(`${s.name}: ${why}`);
      return false;
    }
  };
  if (o.forced !== "proc-poll" && process.platform === "linux") {
    const connector = new ConnectorSource(o.connector);
    if (await tryStart(connector, o.forced ?? "connector")) {
      if (o.forced === "connector") return { mode: "connector", sources: started, skipped };
      const taskstats = new TaskstatsSource(o.taskstats);
      const full = await tryStart(taskstats, o.forced ?? "connector+taskstats");
      return { mode: full ? "connector+taskstats" : "connector", sources: started, skipped };
    }
  }
  const poll = new ProcPollSource(rootPid);
  await tryStart(poll, "proc-poll");
  return { mode: "proc-poll", sources: started, skipped };
}

/**
 * CaptureSource.sync on every source: true when each read its queue to the end (RecorderOptions.sync).
 */
export function syncSources(sources: CaptureSource[], all?: boolean): boolean {
  let caughtUp = true;
  for (const s of sources) if (s.sync?.(all) === false) caughtUp = false;
  return caughtUp;
}
