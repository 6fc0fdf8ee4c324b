/**
 * The init side of `tracer run`: a child subreaper that starts CMD, forwards signals to it (or to its
 * process group), reaps every orphan, and ends with CMD's status.
 *
 * Signals are handled natively (ffi/init.c): a sigaction handler forwards each one with kill(2) the
 * moment it arrives and wakes this side through a pipe; SIGCHLD wakes it to reap. CMD is forked
 * natively too (own process group and the terminal with --signal-group, PR_SET_PDEATHSIG with
 * --pdeathsig) and reaped here with wait4(pid) — never wait4(-1), which could steal a status Bun waits for.
 *
 * Orphans are reaped by a native thread (ffi/reaper.c) the moment they are zombies, whatever the
 * recorder is doing, with their CPU clock and final I/O read just before; this side drains those reaps
 * on every wake-up. Reaping them here instead (the fallback when no thread can be made) ties the reap
 * rate to the recorder's: a fork storm then piles up zombies until fork fails at pid_max. This side
 * reaps during CMD's first NATIVE_REAPER_DELAY_MS too (the thread starts then).
 */
import { readFileSync } from "../../ffi/fs.ts";
import {
  cmdExited,
  forwardingDone,
  installForwarding,
  lateStopSignal,
  reaperPipes,
  setCmdNofile,
  spawnCmd,
  stopSignal,
} from "../../ffi/init.ts";
import { processCpuNs, type Reaped, reapPid, setChildSubreaper } from "../../ffi/libc.ts";
import {
  type OrphanReap,
  cmdReaped,
  reapNow,
  startReaper,
  stopReaper,
  takeReaped,
} from "../../ffi/reaper.ts";
import { childrenOf, readOwnIo, readStat } from "../observe/procfs.ts";
import { execFailure, resolveCommand } from "./exec.ts";
import { cBytes, exactEnviron, startedNofile } from "./own.ts";
import { forwardedSignals } from "./signals.ts";
import { mark } from "../core/timing.ts";

export { NotRunnable } from "./exec.ts";
export { signalNumber } from "./signals.ts";

/** A safety net only: SIGCHLD wakes the reaper at once. */
const REAP_MS = 1000;
/** how long after CMD's start the native orphan reaper starts (if CMD still runs) */
const NATIVE_REAPER_DELAY_MS = 5;
const LEFTOVER_POLL_MS = 50;
/** after SIGKILL, how long to wait for the leftovers to be gone */
const KILL_WAIT_MS = 5000;

export interface ChildEnd {
  pid: number;
  exitCode?: number;
  signal?: number;
  /** the status a shell would report: the code, or 128 + signal */
  status: number;
  startedAt: number;
  endedAt: number;
  /** wait4 rusage of CMD */
  reaped: Reaped;
  /** the first SIGHUP, SIGINT, SIGQUIT or SIGTERM tracer got (and passed on) before CMD ended: the run was asked to stop */
  stopSignal?: number;
  /** what --kill-leftovers did (absent: not asked, or nothing was left) */
  leftovers?: LeftoversEnded;
}

/** Processes CMD left running that --kill-leftovers signalled, by pid (a pid counted once). */
export interface LeftoversEnded {
  /** what CMD left running when it ended: each sent SIGTERM */
  terminated: number;
  /** still there after the grace, or forked during it: sent SIGKILL */
  killed: number;
  /** of `killed`, forked during the grace (never sent SIGTERM) */
  forkedDuringGrace: number;
  /** still there after the SIGKILL's wait (a process in uninterruptible sleep, or stopped under ptrace) */
  remaining: number;
}

export interface SuperviseOptions {
  cmd: string[];
  env?: Record<string, string | undefined>;
  /** CMD's working directory (default: tracer's, which tracer then leaves for /) */
  cwd?: string;
  /** CMD in a process group of its own (given the terminal when tracer has it); signals go to the group */
  signalGroup?: boolean;
  /** when CMD has exited, SIGTERM what is left of its tree, then SIGKILL after this many ms */
  killLeftoversAfterMs?: number;
  /** signal CMD gets when tracer dies (PR_SET_PDEATHSIG), 0/undefined: none */
  pdeathsig?: number;
  /** called right before CMD is spawned (after the signal handling is installed) */
  beforeSpawn?: () => void;
  /** CMD has started (before any of its output can matter to us) */
  onSpawn?: (pid: number, at: number) => void;
  /** orphans (not CMD) were reaped, oldest first; `at`: epoch ms of each reap */
  onReaped?: (reaps: OrphanReap[]) => void;
  /**
   * CMD was reaped (its orphans reaped so far too): called at once, before any wait for leftovers, so the
   * recorder pairs the reap with CMD's record while it still holds it (a grace of seconds outlasts that)
   */
  onCmdReaped?: (end: ChildEnd) => void;
}

/** Live (not zombie) processes below `root`, via every thread's children list; `root` excluded. */
export function liveDescendants(root: number): number[] {
  const out: number[] = [];
  const todo = [root];
  const seen = new Set<number>([root]);
  while (todo.length) {
    for (const c of childrenOf(todo.pop()!)) {
      if (seen.has(c)) continue;
      seen.add(c);
      todo.push(c);
      if (!isZombie(c)) out.push(c);
    }
  }
  return out;
}

function isZombie(pid: number): boolean {
  try {
    const t = readFileSync(`/proc/${pid}/stat`, "latin1");
    return t[t.lastIndexOf(")") + 2] === "Z";
  } catch {
    return true; // gone
  }
}

/**
 * Children of tracer's main thread. CMD is forked from it, and orphans are re-parented to the
 * subreaper's first live thread, the main one; a full scan of every thread runs once a second.
 */
function mainThreadChildren(): number[] {
  try {
    const t = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, "latin1");
    // (a loop, not filter/map: each Array builtin's first use costs `tracer run` ~0.05 ms, issue 15)
    const out: number[] = [];
    for (const s of t.split(" ")) if (s.trim() !== "") out.push(Number(s));
    return out;
  } catch {
    return childrenOf(process.pid);
  }
}

/** A zombie's start ticks, CPU clock and own I/O (see ffi/reaper.c); undefined unless `pid` is a zombie. */
function zombieFigures(pid: number): Reaped["zombie"] {
  const st = readStat(pid);
  if (st?.state !== "Z") return undefined;
  return { startTicks: st.startTicks, cpuNs: processCpuNs(pid), io: readOwnIo(pid) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Supervisor {
  subreaper = false;
  orphansReaped = 0;
  private pid = 0;
  private exited: ((at: number) => void) | undefined;
  private wake: { cancel(): Promise<void> } | undefined;
  /** the native orphan reaper runs (else this side reaps) */
  private native = false;
  /** its start was tried (it is started once) */
  private nativeTried = false;

  constructor(private readonly opts: SuperviseOptions) {}

  /** Runs CMD to its end; resolves with its status. Throws NotRunnable (127/126) when CMD cannot start. */
  async run(): Promise<ChildEnd> {
    this.subreaper = setChildSubreaper();
    const env = this.opts.env ?? process.env;
    const name = this.opts.cmd[0] ?? "";
    const path = resolveCommand(name, env);
    mark("CMD resolved");
    const wakeFd = installForwarding(forwardedSignals(), this.opts.signalGroup === true);
    mark("signals forwarded");
    const reaper = setInterval(() => this.onWake(true), REAP_MS);
    let nativeTimer: ReturnType<typeof setTimeout> | undefined;
    try {
      // (withResolvers: the Promise constructor's first use costs ~0.12 ms of `tracer run`, this ~0.01)
      const { promise: ended, resolve } = Promise.withResolvers<number>();
      this.exited = resolve;
      this.opts.beforeSpawn?.();
      // CMD gets the open-file limit tracer was started with, not the one its runtime raised
      setCmdNofile(startedNofile() ?? -1);
      const startedAt = Date.now();
      // argv, environment and cwd as exact bytes where they hold bytes that are not UTF-8 (./own.ts)
      const pid = spawnCmd(
        cBytes(path),
        this.opts.cmd.map(cBytes),
        exactEnviron(env, this.opts.env === undefined).map(cBytes),
        this.opts.cwd === undefined ? undefined : cBytes(this.opts.cwd),
        this.opts.pdeathsig ?? 0,
      );
      mark("CMD spawned");
      if (pid < 0) throw execFailure(name, path, -pid);
      this.pid = pid;
      // The native reaper from NATIVE_REAPER_DELAY_MS on, and only while CMD runs: until then this side
      // reaps orphans at each SIGCHLD, which a CMD as short as `true` (none) or a few ms of forks (tens)
      // keep up with; the thread's start (~0.35 ms) is then off tracer's start-up path (issue 15).
      nativeTimer = setTimeout(() => this.nativeReaper(), NATIVE_REAPER_DELAY_MS);
      this.opts.onSpawn?.(pid, startedAt);
      mark("CMD identified");
      // CMD has its working directory: tracer must not hold the caller's (it keeps a mount busy)
      process.chdir("/");
      this.onWake();
      // The wake pipe's reader only now, and only if CMD still runs: a CMD as short as `true` has ended
      // by now, and making the stream costs ~0.15 ms (issue 15). Signals are forwarded by the native
      // handler meanwhile; the wakes it wrote since are in the pipe, read as soon as the reader starts.
      if (this.running()) this.listen(wakeFd);
      const endedAt = await ended;
      mark("CMD ended");
      // a zombie (cmdExited waited with WNOWAIT) that only tracer may reap
      const reaped = reapPid(pid);
      if (!reaped) throw new Error(`CMD (pid ${pid}) ended but its status could not be read`);
      // until its exec CMD ran in tracer's memory (vfork; a fork's copy alike): ru_maxrss counts it
      reaped.maxRssKb = undefined;
      if (this.native) cmdReaped();
      // Orphans are re-parented to the main thread (the subreaper's first live thread), and CMD was
      // forked from it: its children list is enough here. Reading every thread's list would also make
      // tracer's own exit slow to reap (the kernel then walks those /proc entries: ~4 ms measured).
      this.reapOrphans(false);
      const { exitCode, signal } = reaped;
      const stop = stopSignal();
      const end: ChildEnd = {
        pid,
        exitCode,
        signal,
        status: signal ? 128 + signal : exitCode!,
        startedAt,
        endedAt,
        reaped,
        ...(stop ? { stopSignal: stop } : {}),
      };
      this.opts.onCmdReaped?.(end);
      if (this.opts.killLeftoversAfterMs !== undefined) {
        const ended = await this.endLeftovers(this.opts.killLeftoversAfterMs);
        if (ended) end.leftovers = ended;
      }
      return end;
    } finally {
      clearInterval(reaper);
      clearTimeout(nativeTimer);
    }
  }

  /**
   * Stop forwarding and listening. Signals stay handled (absorbed) until tracer exits, so one that
   * arrives while the run is being written cannot kill tracer halfway. `exiting`: the caller exits the
   * process next (process.exit): the wake-up pipe's reader is left to it, as closing that stream costs
   * Bun a thread-pool thread (started to close the fd) — without exiting, its pending read keeps the
   * event loop alive.
   */
  dispose(exiting = false): void {
    if (this.native) stopReaper();
    this.native = false;
    forwardingDone();
    if (!exiting) this.wake?.cancel().catch(() => {});
    this.wake = undefined;
  }

  /** CMD has not been seen to end yet (onWake resolves `exited` and clears it) */
  private running(): boolean {
    return this.exited !== undefined;
  }

  private listen(fd: number) {
    const reader = Bun.file(fd).stream().getReader();
    this.wake = reader;
    const loop = async () => {
      for (;;) {
        const r = await reader.read().catch(() => ({ done: true as const, value: undefined }));
        if (r.done) return;
        this.onWake();
      }
    };
    void loop();
  }

  /** A signal was handled (SIGCHLD among them) or the safety timer fired: reap what has ended. */
  private onWake(allThreads = false) {
    if (this.pid && this.exited && cmdExited() === this.pid) {
      const done = this.exited;
      this.exited = undefined;
      done(Date.now());
    }
    // Orphans already (CMD forks and leaves them): the native reaper at once, not at its timer. A fork
    // storm piles zombies up faster than this side reaps them, at the event loop's pace: in a cgroup of
    // 256 tasks a 20,000-link chain hit the limit before the timer's turn came (tests/run/reaper.test.ts,
    // 1–4 runs in 8 on a busy host). This wake comes right after CMD's spawn, then at each SIGCHLD.
    if (this.reapOrphans(allThreads, false) > 0) this.nativeReaper();
  }

  /** Start the native orphan reaper (once, and only while CMD runs). */
  private nativeReaper(): void {
    if (this.nativeTried || !this.exited) return;
    this.nativeTried = true;
    if (process.env.TRACER_JS_REAPER === "1") return;
    const pipes = reaperPipes();
    this.native = pipes !== undefined && startReaper(this.pid, pipes.chld, pipes.notify);
  }

  /**
   * Reap every child that is not CMD (orphans are re-parented to us, the subreaper) and pass the reaps
   * on; returns how many. Native: what the thread reaped (`now`: reap on this thread first, every thread's children);
   * else wait4(pid, WNOHANG) each child here (`allThreads`: every thread's children list).
   */
  reapOrphans(allThreads = true, now = true): number {
    let reaps: OrphanReap[] = [];
    if (this.native) {
      if (now) reapNow(allThreads);
      reaps = takeReaped();
    } else {
      for (const pid of allThreads ? childrenOf(process.pid) : mainThreadChildren()) {
        if (pid === this.pid) continue;
        // as the native reaper does: what only the zombie shows, read before its reap (this side is
        // then the only reaper, so the pid is the zombie's until wait4)
        const zombie = zombieFigures(pid);
        const r = reapPid(pid);
        if (!r) continue;
        if (zombie) r.zombie = zombie;
        reaps.push({ r, at: Date.now() });
      }
    }
    if (!reaps.length) return 0;
    this.orphansReaped += reaps.length;
    this.opts.onReaped?.(reaps);
    return reaps.length;
  }

  /**
   * SIGTERM every live process left of the tree, SIGKILL what is still there after `graceMs` — or at once
   * when tracer is asked to stop meanwhile (^C during a long grace: the user will not wait for it).
   */
  private async endLeftovers(graceMs: number): Promise<LeftoversEnded | undefined> {
    const termed = new Set<number>();
    const killed = new Set<number>();
    const signal = (pids: number[], sig: NodeJS.Signals, sent: Set<number>) => {
      for (const p of pids)
        try {
          process.kill(p, sig);
          sent.add(p);
        } catch {}
    };
    let left = liveDescendants(process.pid);
    if (!left.length) return undefined;
    signal(left, "SIGTERM", termed);
    const ended = () => {
      let forked = 0;
      for (const p of killed) if (!termed.has(p)) forked++;
      return {
        terminated: termed.size,
        killed: killed.size,
        forkedDuringGrace: forked,
        remaining: left.length,
      };
    };
    for (const [deadline, last] of [
      [Date.now() + graceMs, false],
      [Date.now() + graceMs + KILL_WAIT_MS, true],
    ] as const) {
      while (Date.now() < deadline && (last || !lateStopSignal())) {
        await sleep(LEFTOVER_POLL_MS);
        this.reapOrphans();
        left = liveDescendants(process.pid);
        if (!left.length) return ended();
      }
      // a process forked during the grace gets the SIGKILL without a SIGTERM: it counts as killed
      if (!last) signal(left, "SIGKILL", killed);
    }
    return ended();
  }
}
