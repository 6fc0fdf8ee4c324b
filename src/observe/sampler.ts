/**
 * The live sampler: every interval (default 1 s) reads CPU, RSS and I/O of each live process of the run
 * and the host's system metrics. Running figures (CPU time, peak RSS from VmHWM, I/O) also stand as a
 * process's final figures when no exact source (taskstats, wait4) reports them.
 */
import type { ProcessRecord, StoreWriter } from "../store/index.ts";
import {
  CLK_TCK,
  hasEnded,
  readLiveThreadStatus,
  readStat,
  readStatus,
  readThreadsIo,
  ticksToUs,
} from "./procfs.ts";
import type { Recorder } from "./recorder.ts";
import { SystemSampler } from "./system.ts";

interface Prev {
  at: number;
  ticks: number;
}

export class Sampler {
  private prev = new WeakMap<ProcessRecord, Prev>();
  private missed = new WeakSet<ProcessRecord>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private system: SystemSampler;
  samples = 0;

  constructor(
    private readonly recorder: Recorder,
    private readonly writer: StoreWriter,
    private readonly intervalMs = 1000,
    diskPath = process.cwd(),
  ) {
    this.system = new SystemSampler(diskPath);
  }

  /** Sample the host at once (a run shorter than the interval still has metrics), then every interval. */
  start(): void {
    this.systemSample();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
  }

  /** Stop sampling; the host is sampled once more (the run's end), if it was started. */
  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.systemSample();
  }

  private systemSample(): void {
    try {
      this.writer.system(this.system.read());
    } catch {
      // the host's metrics are extra: a failed read or write never stops a recording
    }
  }

  tick(): void {
    const at = Date.now();
    for (const rec of this.recorder.liveRecords()) this.sampleOne(rec, at);
    this.systemSample();
  }

  sampleOne(rec: ProcessRecord, at = Date.now()): void {
    const st = readStat(rec.pid);
    if (!st || st.startTicks !== rec.startTicks) {
      // gone, and its exit event never came (lost): after two samples in a row, stop tracking it
      if (this.missed.has(rec)) this.recorder.gone(rec, at);
      this.missed.add(rec);
      return;
    }
    this.missed.delete(rec);
    // ended: its figures come from its exit
    if (hasEnded(st)) return;
    // only its main thread has ended (pthread_exit in main): the leader's stat still holds the whole
    // process's CPU, and its memory is read through a live thread
    const leaderGone = st.state === "Z";
    const status = leaderGone ? readLiveThreadStatus(rec.pid) : readStatus(rec.pid);
    if (leaderGone && !status) return;
    const ticks = st.utime + st.stime;
    const p = this.prev.get(rec);
    const since = p ? at - p.at : at - (rec.startedAt ?? at);
    const cpuPct = since > 0 ? (100 * (((ticks - (p?.ticks ?? 0)) * 1000) / CLK_TCK)) / since : 0;
    this.prev.set(rec, { at, ticks });
    // its threads' own: /proc/PID/io would add the children it reaped, charging their bytes twice
    const io = readThreadsIo(rec.pid, st.numThreads);
    const rssKb = status?.vmRssKb ?? st.rssKb;
    this.writer.sample(rec, { at, cpuPct, rssKb, readBytes: io?.readBytes, writeBytes: io?.writeBytes });
    this.samples++;
    if (rec.figures === undefined || rec.figures === "proc") {
      rec.figures = "proc";
      rec.userUs = ticksToUs(st.utime);
      rec.systemUs = ticksToUs(st.stime);
      rec.peakRssKb = Math.max(rec.peakRssKb ?? 0, status?.vmHwmKb ?? rssKb);
      if (io) Object.assign(rec, io);
      this.writer.process(rec);
    }
  }
}
