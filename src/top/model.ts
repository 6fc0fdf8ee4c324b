/** The pure part of `tracer top`: one poll of a run (RunState) → what the screen shows (TopRun). */
import { stepLabels } from "../report/_labels.ts";
import { stepPeak } from "../report/table.ts";
import { exitText } from "../run/units.ts";
import type { Step } from "../steps/index.ts";
import type {
  LiveFigures,
  RunState,
  StepState,
  TopProcess,
  TopRun,
  TopStep,
  WatchedProcess,
} from "./types.ts";

const commandOf = (p: WatchedProcess) => (p.argv?.length ? p.argv.join(" ") : (p.comm ?? "?"));

const sum = (xs: (number | null)[]): number | null => {
  let s: number | null = null;
  for (const x of xs) if (x !== null) s = (s ?? 0) + x;
  return s;
};

function topProcess(p: WatchedProcess, f: LiveFigures | undefined, now: number): TopProcess {
  return {
    id: p.id,
    pid: p.pid,
    command: commandOf(p),
    elapsedMs: p.startedAt === null ? null : Math.max(0, now - p.startedAt),
    cpuPct: f?.cpuPct ?? null,
    rssKb: f?.rssKb ?? null,
    ioRate: f?.ioRate ?? null,
  };
}

function stepState(s: Step, runLive: boolean): StepState {
  if (s.failed) return "failed";
  if (s.endedAt === null) return runLive ? "running" : "unfinished";
  return "done";
}

/** `end`: now while the run is recorded, else the instant its figures stop at (RunState.endAt) */
export function topStep(
  runId: string,
  s: Step,
  label: string,
  live: TopProcess[],
  runLive: boolean,
  end: number,
): TopStep {
  const state = stepState(s, runLive);
  const ended = state !== "running";
  // an `other` step's: the time one of its processes ran, as the report's wall (not since its first start)
  const elapsedMs =
    s.durationMs ??
    (s.liveBusy
      ? s.liveBusy.msBefore + Math.max(0, end - s.liveBusy.liveFrom)
      : Math.max(0, end - s.startedAt));
  // an average rate over less than a second says more about start-up reads than about the step
  const perSecond = (n: number) => (elapsedMs >= 1000 ? (n * 1000) / elapsedMs : null);
  return {
    key: `${runId}:${s.rootId}`,
    index: s.index,
    // as `tracer report` labels it: a name several steps share gets its ordinal ("gzip #2")
    name: label,
    state,
    startedAt: s.startedAt,
    elapsedMs,
    cpuPct: ended ? (elapsedMs > 0 ? s.cpuUs / 10 / elapsedMs : null) : sum(live.map((p) => p.cpuPct)),
    rssKb: ended ? s.peakRssKb || null : sum(live.map((p) => p.rssKb)),
    // an ended step's peak as `tracer report` shows it: a range when samples may have missed it
    peak: ended ? stepPeak(s) : undefined,
    ioRate: ended ? perSecond(s.rchar + s.wchar) : sum(live.map((p) => p.ioRate)),
    processes: s.processIds.length,
    exit:
      state === "running" ? "" : state === "unfinished" ? "?" : exitText(s.exitCode, s.signal, s.oomKilled),
    live,
  };
}

/**
 * What the screen shows of one run at `now` (ms since the epoch): every running step, and the newest
 * `keepEnded` failed and the newest `keepEnded` other ended steps (the rest are counted in `hidden`, so a
 * 50,000-step run costs no 50,000 objects a second). Recorded text is left as is: the renderer sanitises.
 */
export function topRun(state: RunState, now: number, keepEnded = 50): TopRun {
  const { run } = state;
  const runLive = run.status === "running";
  const end = state.endAt ?? now;
  const liveBy = new Map<number, TopProcess[]>();
  const other: TopProcess[] = [];
  for (const [id, f] of state.live) {
    const p = state.watched.get(id);
    if (!p) continue;
    const at = state.stepOf(id);
    const tp = topProcess(p, f, now);
    if (at === undefined) other.push(tp);
    else {
      const list = liveBy.get(at) ?? [];
      if (!list.length) liveBy.set(at, list);
      list.push(tp);
    }
  }
  const counts: Record<StepState, number> = { running: 0, failed: 0, done: 0, unfinished: 0 };
  const steps: TopStep[] = [];
  const kept = { failed: 0, ended: 0 };
  const labels = stepLabels(state.steps);
  // newest first: steps are in start order
  for (let i = state.steps.length - 1; i >= 0; i--) {
    const s = state.steps[i]!;
    const st = stepState(s, runLive);
    counts[st]++;
    const slot = st === "running" ? undefined : st === "failed" ? "failed" : "ended";
    if (slot !== undefined && kept[slot]++ >= keepEnded) continue;
    steps.push(topStep(run.id, s, labels[i]!, liveBy.get(i) ?? [], runLive, end));
  }
  let notFollowed = 0;
  if (state.endAt !== null) for (const p of state.watched.values()) if (p.endedAt === null) notFollowed++;
  return {
    id: run.id,
    name: run.name,
    pipeline: run.pipeline,
    status: run.status,
    mode: run.mode,
    elapsedMs: Math.max(0, (run.endedAt ?? end) - run.startedAt),
    exit: runLive ? "" : run.status === "interrupted" ? "?" : exitText(run.exitCode, run.signal),
    processes: state.processCount,
    liveProcesses: state.live.size,
    notFollowed,
    host: state.host,
    running: counts.running,
    done: counts.done,
    failed: counts.failed,
    hidden: state.steps.length - steps.length,
    steps,
    other,
  };
}
