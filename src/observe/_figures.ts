/**
 * Final figures onto a process record, each from its most exact source:
 *  - CPU: the scheduler's runtime (taskstats, the zombie's CPU clock, the ledger) split as wait4's
 *    rusage splits it: by the tick samples at the exit's notification (the ledger: adjustCputime),
 *    else by taskstats' (sent before the teardown's ticks); wait4 rusage or the last /proc sample only
 *    when taskstats has nothing;
 *  - peak RSS: taskstats hiwater_rss (process-wide);
 *  - I/O: the largest of taskstats (rounded down to whole KiB per thread by the kernel), the last
 *    reading of the process's own threads' /proc I/O (exact at that moment; counters only grow) and
 *    the ledger's sum of every thread's counters at its exit (exact: ./schedrt.ts);
 *  - times are never taken from here: start is the fork event, end the exit event (see recorder.ts).
 */
import type { Reaped } from "../../ffi/libc.ts";
import type { ProcessRecord } from "../store/index.ts";
import type { ProcIo } from "./procfs.ts";
import { splitRuntime } from "./_netlink-parse.ts";

export { adjustCputime } from "./_netlink-parse.ts";
import type { ExitFigures } from "./types.ts";

/** taskstats' begin time (whole epoch seconds) against our start time: a reused pid differs. */
export const sameProcess = (rec: ProcessRecord, f: ExitFigures) =>
  rec.startedAt === undefined || Math.abs(rec.startedAt / 1000 - f.beginSec) <= 2;

/**
 * A reap against a record: the start ticks the orphan reaper read at the zombie stage against the
 * record's (an estimate from the fork time may be 2 ticks off); a reused pid differs by far more, for
 * pids are reused only after going round pid_max. Without them, the pid's newest record is meant.
 */
export const isIncarnation = (rec: ProcessRecord, r: Reaped) =>
  r.zombie?.startTicks === undefined ||
  rec.startTicks === undefined ||
  Math.abs(rec.startTicks - r.zombie.startTicks) <= 2;

const IO_KEYS = ["rchar", "wchar", "readBytes", "writeBytes"] as const;

/** Raise the record's I/O counters to `io` where that is larger (never lowers a figure). */
export function raiseIo(rec: ProcessRecord, io: Pick<ProcIo, (typeof IO_KEYS)[number]>): void {
  for (const k of IO_KEYS) rec[k] = Math.max(rec[k] ?? 0, io[k]);
}

/** Copy taskstats' exact figures (not the exit status nor times: the recorder decides those). */
export function copyTaskstats(rec: ProcessRecord, f: ExitFigures): void {
  rec.userUs = f.userUs;
  rec.systemUs = f.systemUs;
  rec.peakRssKb = Math.max(f.peakRssKb, rec.peakRssKb ?? 0);
  raiseIo(rec, f);
  rec.figures = "taskstats";
  // the kernel's comm: right even when the process was gone before we could read its argv
  if (f.comm) rec.comm = f.comm;
}

/**
 * wait4 rusage, only when nothing better is known: it includes the descendants the process waited
 * for. Its max RSS is the process's own peak (children's are not added).
 */
export function copyRusage(rec: ProcessRecord, r: Reaped): void {
  if (rec.figures !== undefined && rec.figures !== "proc") return;
  rec.userUs = r.userUs;
  rec.systemUs = r.systemUs;
  if (r.maxRssKb !== undefined) rec.peakRssKb = Math.max(r.maxRssKb, rec.peakRssKb ?? 0);
  // without wait4's max RSS (CMD's: it counts tracer's memory, which CMD ran in until its exec) a peak
  // is still its last sample's, a lower bound: "wait4+proc" (CMD growing 150 MiB after its last sample
  // read an exact 13 MiB: a review, 2 Dec 2026)
  rec.figures = r.maxRssKb === undefined && rec.peakRssKb !== undefined ? "wait4+proc" : "wait4";
}

/**
 * Raise a process's CPU to `cpuNs` (ns), its CPU clock read while it was a zombie: the scheduler's
 * whole runtime, exit teardown and every thread's last slice included, which the taskstats record
 * (sent before exit_mm) lacks. Split in the user/system ratio already recorded; never lowered.
 */
export function raiseCpu(rec: ProcessRecord, cpuNs: number): void {
  const user = rec.userUs ?? 0;
  const system = rec.systemUs ?? 0;
  if (Math.floor(cpuNs / 1000) <= user + system) return;
  Object.assign(rec, splitRuntime(cpuNs, user, system));
}
