/**
 * Mode selection: the strongest capture this host allows, chosen automatically.
 *   connector+taskstats  proc connector events + exact taskstats figures at exit (root)
 *   connector            proc connector + /proc sampling (no taskstats: non-root)
 *   proc-poll            /proc polling of the run's tree + wait4 (own network namespace, non-Linux)
 * TRACER_CAPTURE=proc-poll|connector|connector+taskstats forces a mode (tests, benchmarks).
 */
import { Exit, TracerError } from "../errors.ts";
import { ProcPollSource } from "./poll.ts";
import type { CaptureMode, CaptureSource } from "./types.ts";

export const MODES: readonly CaptureMode[] = ["connector+taskstats", "connector", "proc-poll"];

export interface OpenedSources {
  mode: CaptureMode;
  sources: CaptureSource[];
  /** why stronger modes were not used */
  skipped: string[];
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

/** Start the sources for a tree rooted at `rootPid`; `wire` subscribes the consumer before start(). */
export async function openSources(
  rootPid: number,
  wire: (s: CaptureSource) => void,
  forced?: CaptureMode,
): Promise<OpenedSources> {
  const skipped: string[] = [];
  if (forced && forced !== "proc-poll")
    throw new TracerError(
      "E_CAPTURE_MODE",
      `capture mode ${forced} is not available in this build`,
      Exit.error,
    );
  const poll = new ProcPollSource(rootPid);
  wire(poll);
  await poll.start();
  return { mode: "proc-poll", sources: [poll], skipped };
}
