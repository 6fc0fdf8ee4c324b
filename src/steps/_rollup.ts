/** Roll a subtree of processes up into one step's figures. */
import type { RssSamples, Step, StepProcess } from "./types.ts";

type Figures = Omit<Step, "index" | "key" | "name" | "kind" | "tool" | "tools" | "workdir">;

/** max/min over any number of values (spreading 100k+ values into Math.max overflows the stack) */
export const maxOf = (values: Iterable<number>, start = Number.NEGATIVE_INFINITY) => {
  let m = start;
  for (const v of values) if (v > m) m = v;
  return m;
};
export const minOf = (values: Iterable<number>) => -maxOf([...values].map((v) => -v));

/**
 * Peak memory of a step: the largest sum of its processes' RSS at one sampled instant (what Snakemake's
 * benchmark calls max_rss), and never less than the largest single process's VmHWM (exact, per process).
 */
export function peakRss(procs: StepProcess[], samples: RssSamples): number {
  const byInstant = new Map<number, number>();
  for (const p of procs)
    for (const s of samples.get(p.id) ?? []) byInstant.set(s.at, (byInstant.get(s.at) ?? 0) + s.rssKb);
  return Math.max(
    maxOf(byInstant.values(), 0),
    maxOf(
      procs.map((p) => p.peakRssKb ?? 0),
      0,
    ),
  );
}

export function rollUp(root: StepProcess, procs: StepProcess[], samples: RssSamples): Figures {
  // one pass over the step's processes for every sum (a step can hold 100,000 processes)
  let firstStart = Number.POSITIVE_INFINITY;
  let lastEnd = Number.NEGATIVE_INFINITY;
  let oomKilled = false;
  let cpuUs = 0;
  let rchar = 0;
  let wchar = 0;
  let readBytes = 0;
  let writeBytes = 0;
  const processIds = new Array<number>(procs.length);
  for (let i = 0; i < procs.length; i++) {
    const p = procs[i]!;
    processIds[i] = p.id;
    if (p.startedAt !== null && p.startedAt < firstStart) firstStart = p.startedAt;
    if (p.endedAt !== null && p.endedAt > lastEnd) lastEnd = p.endedAt;
    if (p.oomKilled) oomKilled = true;
    cpuUs += (p.userUs ?? 0) + (p.systemUs ?? 0);
    rchar += p.rchar ?? 0;
    wchar += p.wchar ?? 0;
    readBytes += p.readBytes ?? 0;
    writeBytes += p.writeBytes ?? 0;
  }
  const startedAt = root.startedAt ?? firstStart;
  const endedAt = root.endedAt === null ? null : lastEnd;
  return {
    rootId: root.id,
    pid: root.pid,
    command: (root.argv?.length ? root.argv : [root.comm ?? "?"]).join(" "),
    processIds,
    startedAt,
    endedAt,
    durationMs: endedAt === null ? null : endedAt - startedAt,
    cpuUs,
    peakRssKb: peakRss(procs, samples),
    rchar,
    wchar,
    readBytes,
    writeBytes,
    exitCode: root.exitCode,
    signal: root.signal,
    oomKilled,
    failed: oomKilled || root.signal !== null || (root.exitCode !== null && root.exitCode !== 0),
  };
}
