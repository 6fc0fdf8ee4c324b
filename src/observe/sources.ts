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
      // drained on the connector's timer, right after it: one wake-up for both, and a backlog's exits
      // and their figures read in step (connector.ts DRAIN_ROUNDS)
      const taskstats = new TaskstatsSource({ ...o.taskstats, driven: true });
      const full = await tryStart(taskstats, o.forced ?? "connector+taskstats");
      if (full)
        connector.alongside = {
          drain: () => taskstats.drainNow(),
          backlog: () => taskstats.backlog(),
          soonMs: () => taskstats.soonMs(),
        };
      return { mode: full ? "connector+taskstats" : "connector", sources: started, skipped };
    }
  }
  const poll = new ProcPollSource(rootPid);
  await tryStart(poll, "proc-poll");
  return { mode: "proc-poll", sources: started, skipped };
}

/** rounds of one capped drain per source for syncSources(all), before each is read to its end */
const ALL_ROUNDS = 256;

/**
 * CaptureSource.sync on every source: true when each read its queue to the end (RecorderOptions.sync).
 * `all` (a backlog read to its end: the run is ending) reads the sources in turn, one capped drain of
 * each a round, so that a process's exit event and its taskstats figures are read about together:
 * read one source whole and then the other, every process ended in the first one's backlog waited in
 * the recorder for its figures in the second's (a 100,000-link chain's recorder held 24,000 of them
 * at once, its peak RSS 123 MB; issue 15).
 */
export function syncSources(sources: CaptureSource[], all?: boolean): boolean {
  for (let round = 0; all && round < ALL_ROUNDS; round++) {
    let caughtUp = true;
    for (const s of sources) if (s.sync?.(false) === false) caughtUp = false;
    if (caughtUp) return true;
  }
  let caughtUp = true;
  for (const s of sources) if (s.sync?.(all) === false) caughtUp = false;
  return caughtUp;
}

/**
 * Stop every source (Source.stop drains its socket to the end), their backlogs read in turn first
 * (syncSources with `all`). Never throws.
 */
export async function stopSources(sources: CaptureSource[]): Promise<void> {
  try {
    syncSources(sources, true);
  } catch {}
  for (const s of sources) await s.stop().catch(() => {});
}
