/** Roll a subtree of processes up into one step's figures. */
import type { RssSamples, Step, StepProcess } from "./types.ts";

type Figures = Omit<Step, "index" | "name" | "kind" | "tool" | "tools" | "workdir">;

/** max/min over any number of values (spreading 100k+ values into Math.max overflows the stack) */
export const maxOf = (values: Iterable<number>, start = Number.NEGATIVE_INFINITY) => {
  let m = start;
  for (const v of values) if (v > m) m = v;
  return m;
};
export const minOf = (values: Iterable<number>) => -maxOf([...values].map((v) => -v));

const sum = (ps: StepProcess[], f: (p: StepProcess) => number | null) =>
  ps.reduce((a, p) => a + (f(p) ?? 0), 0);

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
  const startedAt = root.startedAt ?? minOf(procs.map((p) => p.startedAt ?? Number.POSITIVE_INFINITY));
  const ends = procs.map((p) => p.endedAt);
  const endedAt = root.endedAt === null ? null : maxOf(ends.filter((e) => e !== null));
  const oomKilled = procs.some((p) => p.oomKilled);
  return {
    rootId: root.id,
    pid: root.pid,
    command: (root.argv?.length ? root.argv : [root.comm ?? "?"]).join(" "),
    processIds: procs.map((p) => p.id),
    startedAt,
    endedAt,
    durationMs: endedAt === null ? null : endedAt - startedAt,
    cpuUs: sum(procs, (p) => (p.userUs ?? 0) + (p.systemUs ?? 0)),
    peakRssKb: peakRss(procs, samples),
    rchar: sum(procs, (p) => p.rchar),
    wchar: sum(procs, (p) => p.wchar),
    readBytes: sum(procs, (p) => p.readBytes),
    writeBytes: sum(procs, (p) => p.writeBytes),
    exitCode: root.exitCode,
    signal: root.signal,
    oomKilled,
    failed: oomKilled || root.signal !== null || (root.exitCode !== null && root.exitCode !== 0),
  };
}
