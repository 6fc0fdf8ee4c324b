/** Final figures onto a process record: taskstats (exact) and the matching rule for its begin time. */
import type { ProcessRecord } from "../store/index.ts";
import type { ExitFigures } from "./types.ts";

/** taskstats' begin time (whole epoch seconds) against our start time: a reused pid differs. */
export const sameProcess = (rec: ProcessRecord, f: ExitFigures) =>
  rec.startedAt === undefined || Math.abs(rec.startedAt / 1000 - f.beginSec) <= 2;

/** Copy taskstats' exact figures (not the exit status: the recorder decides that). */
export function copyTaskstats(rec: ProcessRecord, f: ExitFigures): void {
  rec.durationUs = f.elapsedUs;
  if (rec.startedAt !== undefined && rec.endedAt === undefined)
    rec.endedAt = rec.startedAt + f.elapsedUs / 1000;
  rec.userUs = f.userUs;
  rec.systemUs = f.systemUs;
  rec.peakRssKb = f.peakRssKb;
  rec.rchar = f.rchar;
  rec.wchar = f.wchar;
  rec.readBytes = f.readBytes;
  rec.writeBytes = f.writeBytes;
  rec.figures = "taskstats";
  // the kernel's comm: right even when the process was gone before we could read its argv
  if (f.comm) rec.comm = f.comm;
}
