/**
 * Argv at exec time, for processes too short for the capture sources' drain interval. A native thread
 * (ffi/execwatch.c) blocks on its own proc-connector subscription and reads /proc/PID/cmdline and cwd
 * the moment a watched process execs; the recorder asks here when /proc no longer has the process.
 * Optional: when it cannot start (not root, no connector, no compiler), the recorder works as before.
 */
import { type NameFilter, NativeExecWatch, type SeenExec } from "../../ffi/execwatch.ts";
import { NETLINK_CONNECTOR, NetlinkSocket } from "../../ffi/netlink.ts";
import { filterExecsByLedger, ledgerMapFd } from "../../ffi/schedrt.ts";
import { probeLedgerOpen } from "./schedrt.ts";
import {
  closeKernelArgv,
  filterExecsByMisses,
  kernelArgvStatus,
  openKernelArgv,
  takeKernelArgv,
} from "../../ffi/execargv.ts";
import { realMinusMonoMs } from "./clock.ts";
import { connectorControl, PROC_CN_MCAST_IGNORE, PROC_CN_MCAST_LISTEN } from "./_netlink-parse.ts";
import { decodeLossless } from "../core/lossless.ts";
import type { Probe } from "./types.ts";

/** What the watcher read for one process, `at` in epoch ms; argv cut at ARGV_CAP_BYTES (./argv.ts). */
export interface ExecArgv {
  at: number;
  /**
   * epoch ms by which the watcher's thread had read argv from /proc (rounded up to 10 µs; Infinity:
   * 655 ms or more after the exec); undefined when the kernel read it in the exec itself. A process
   * that exec'd again before this showed the later image, not the one exec'd at `at`.
   */
  readAt?: number;
  argv: string[];
  /** bytes of the whole command line (each argument and its NUL) */
  argvBytes: number;
  argvTruncated: boolean;
  cwd?: string;
  /** UTF-16 code units of argv and cwd: what remembering it holds (ExecWatcher's HELD_CHARS_CAP) */
  chars?: number;
  /**
   * The tgid that forked it (the fork event the thread saw, else /proc's parent then) and its start in
   * clock ticks since boot, read through the same open of /proc/PID as argv (ffi/execwatch.ts
   * SeenExec): undefined when it was gone by then, and for the kernel's reads. What the daemon records a
   * process by when it was gone or a zombie by its drain (Recorder.adoptsRead).
   */
  ppid?: number;
  startTicks?: number;
  /**
   * The exec before this one of the same pid, while it is remembered (at most EARLIER_KEPT back: the
   * newest of them and the oldest, see trimmed): a
   * pid reused at once (a reaped process's, by `clone3` set_tid) has the two processes' execs ms apart,
   * and the recorder asks for the one at its exec's time (ExecWatcher.lookup).
   */
  earlier?: ExecArgv;
}

export type { NameFilter } from "../../ffi/execwatch.ts";

/** how long an exec stays answerable (the recorder asks within a drain interval: 100–500 ms as root) */
const KEEP_MS = 30_000;
/** most execs remembered at once (the oldest go first): bounds memory whatever the exec rate */
export const SEEN_CAP = 4096;
/**
 * Most text remembered at once (UTF-16 code units of argv and cwd, earlier execs included): beyond
 * it the oldest execs go first, but none younger than MIN_KEEP_MS. By count alone, 4,096 command
 * lines of up to 64 KiB stayed for 30 s after their processes had ended and been written: `tracer
 * run` of a loop exec'ing one 60 KB command line at a time peaked at 386 MB (982 MB with bytes that
 * are not UTF-8, each kept as a UTF-16 unit), a daemon recording it at 493 MB (an attack, 2 Dec 2026).
 */
export const HELD_CHARS_CAP = 2 << 20;
/**
 * The youngest an exec dropped for HELD_CHARS_CAP can be, ms: twice the slowest paced drain (500 ms,
 * src/run/index.ts), so every exec event drained is still answered; beyond the cap only what the
 * last second exec'd is held.
 */
const MIN_KEEP_MS = 1000;
/**
 * How far apart the connector's time of an exec and a read of it can be, ms. The thread stamps its
 * read with the exec event's own timestamp, the kernel's reader at sched_process_exec (~1 µs before
 * the event is sent); both are converted to epoch ms with the same offset (./clock.ts), which adds
 * float rounding (~0.24 µs at epoch-ms scale). Two execs of one process are further apart: a static
 * binary that execs itself at once did so every 44–50 µs here (a newcomer's attack found 50 µs too
 * wide: a read of the final exec was taken for one of the exec before).
 */
export const SAME_EXEC_SLACK_MS = 0.002;
/** earlier execs of a pid remembered besides its latest (ExecArgv.earlier) */
const EARLIER_KEPT = 3;
const PULL_MS = 250;
const RCVBUF = 8 << 20;

export class ExecWatcher {
  private readonly seen = new Map<number, ExecArgv>();
  /** text each remembered pid holds (its latest exec and the earlier ones chained to it), and the sum */
  private readonly held = new Map<number, number>();
  private heldChars = 0;
  /**
   * Empties the native ring even when nobody asks: watching the whole host (root 0), it fills on its
   * own. Below a root (tracer run) none: every exec the thread reads there comes with the exec event
   * the recorder looks it up for (lookup pulls), and a timer's wake-up costs Bun ~50–80 µs of CPU
   * (4 a second: ~0.03 % of a core idle). A ring left full drops records: the recorder reads /proc.
   */
  private readonly timer: ReturnType<typeof setInterval> | undefined;
  /**
   * The in-kernel reader (ffi/execargv.c) below a root: "opening" once the ledger follows the tree, "on"
   * once attached (the thread's exec socket then passes only the execs it missed), "off" when it
   * cannot be had.
   */
  private kernel: "none" | "opening" | "on" | "off" = "none";

  private constructor(
    private readonly socks: NetlinkSocket[],
    private readonly native: NativeExecWatch,
    private readonly cap: number,
    private readonly charsCap: number,
    private readonly root: number,
    /** a name filter decides what is watched (daemon): every exec must reach the thread */
    private readonly filtered: boolean,
  ) {
    if (root === 0) {
      this.timer = setInterval(() => this.pull(), PULL_MS);
      this.timer.unref?.();
    }
  }

  /**
   * Watch the tree below `root` (0: every process on the host; with `filter`, only processes whose
   * exec passes it and their descendants); undefined when it cannot start. `cap`: most execs kept.
   * It reads every exec once start returns, or with `deferReady` once ready() has returned.
   * `ringBytes`: its native ring (default 2 MiB), which must hold the execs read between two lookups.
   */
  static start(
    root: number,
    {
      filter,
      cap = SEEN_CAP,
      charsCap = HELD_CHARS_CAP,
      deferReady = false,
      ringBytes,
    }: {
      filter?: NameFilter;
      cap?: number;
      charsCap?: number;
      deferReady?: boolean;
      ringBytes?: number;
    } = {},
  ): ExecWatcher | undefined {
    if (process.platform !== "linux" || process.env.TRACER_NO_EXEC_WATCH === "1") return undefined;
    const socks: NetlinkSocket[] = [];
    try {
      // one for execs (they wake the thread), one for forks (read on each exec, to follow the tree)
      for (let i = 0; i < (root || filter ? 2 : 1); i++) {
        const sock = NetlinkSocket.open(NETLINK_CONNECTOR, 1);
        socks.push(sock);
        sock.setReceiveBuffer(RCVBUF);
        sock.send(connectorControl(PROC_CN_MCAST_LISTEN, 0));
      }
      const native = new NativeExecWatch(
        socks[0]!.fd,
        socks[1]?.fd ?? -1,
        root,
        filter,
        !deferReady,
        ringBytes,
      );
      return new ExecWatcher(socks, native, cap, charsCap, root, filter !== undefined);
    } catch {
      for (const s of socks) s.close();
      return undefined;
    }
  }

  /**
   * Below a root (`tracer run`), once the scheduler-runtime ledger is open and follows the whole tree:
   * let the kernel drop every exec of a process outside it before it reaches the thread
   * (filterExecsByLedger). Other processes' execs on a busy host then cost the thread nothing; each
   * cost it a wake-up, a receive and a read of the fork socket. True when the filter is in place.
   */
  followLedger(): boolean {
    if (!this.root || this.filtered) return false;
    const filtered = filterExecsByLedger(this.socks[0]!.fd) === 0;
    // Then the kernel reads each exec of the tree itself, in the exec (ffi/execargv.c): once attached,
    // only an exec it could not put in its ring wakes the thread. Till then, and when it cannot
    // attach, the thread reads them all.
    if (filtered && this.kernel === "none" && process.env.TRACER_NO_KERNEL_ARGV !== "1") {
      const fd = ledgerMapFd();
      this.kernel = fd >= 0 && openKernelArgv(fd) === 0 ? "opening" : "off";
    }
    return filtered;
  }

  /** Whether the kernel reads the tree's execs (see followLedger); false while it is attaching. */
  get inKernel(): boolean {
    this.pull();
    return this.kernel === "on";
  }

  /** Wait until the thread reads every exec (at once when it does already: see start's `deferReady`). */
  ready(): void {
    this.native.ready();
  }

  /**
   * What `pid`'s exec at `at` (epoch ms, the connector's time of it) ran: of the execs of `pid` the
   * watcher remembers stamped later than `after` (epoch ms: the recorder's bound, the process's previous
   * exec or its fork; when unknown, `at` − `nearMs`), the latest stamped no later than `at`; else the
   * latest (a later exec's: its `at` tells). Without `at`, the latest. Undefined when none is later
   * than the bound. The thread stamps a read with the exec event's own time; the kernel's reader at
   * sched_process_exec, before the event is sent: µs, or as long as a ptracer holds the
   * PTRACE_EVENT_EXEC stop in between. The nearest read was taken before: under a 50 ms stop, the next
   * exec's read, 1 ms after the event, was nearer than this exec's own (found by an attack, 2 Dec 2026).
   * Only one exec of a process lies between two of its exec events, so the latest read in between is
   * this one's.
   */
  lookup(pid: number, at?: number, nearMs = 0, after = Number.NEGATIVE_INFINITY): ExecArgv | undefined {
    let latest = this.seen.get(pid);
    // The rings are emptied only when what is remembered cannot answer: when it holds no exec of
    // `pid` at `at` or later (the kernel's reader puts an exec in its ring before the exec's event is
    // sent, so a drain's first lookup takes all of the drain's execs at once). A take could then add
    // only a later exec, or the same exec read again (within SAME_EXEC_SLACK_MS), or an earlier one
    // that pull() drops for the later one remembered: never a nearer answer. An exec of the same pid
    // shortly before (`cd D && exec T` in a shell) is no answer: the take comes. An empty take is two
    // native calls (~6 µs); a lookup per exec made them ~5 % of tracer's CPU in a 200-step pipeline.
    // (while the kernel's reader attaches, every lookup takes: pull() also sees it through to reading)
    if (
      this.kernel === "opening" ||
      at === undefined ||
      latest === undefined ||
      latest.at < at - SAME_EXEC_SLACK_MS
    ) {
      this.pull();
      latest = this.seen.get(pid);
    }
    if (at !== undefined && after === Number.NEGATIVE_INFINITY) after = at - nearMs;
    if (latest === undefined || latest.at <= after) return undefined;
    if (at === undefined) return latest;
    // both readers' reads of it (the thread's stamped at the event, the kernel's before a ptracer's
    // stop): the kernel's, made in the exec itself (were exec events lost, the window can hold an
    // earlier exec's kernel read beside this one's thread read: counted as lost events, not told apart)
    let found: ExecArgv | undefined;
    for (let e: ExecArgv | undefined = latest; e && e.at > after; e = e.earlier)
      if (e.at <= at + SAME_EXEC_SLACK_MS) {
        if (e.readAt === undefined) return e;
        found ??= e;
      }
    return found ?? latest;
  }

  /** execs remembered now (at most the cap) */
  get size(): number {
    return this.seen.size;
  }

  /** Every exec remembered now, by pid, oldest first (each pid's latest exec only). */
  remembered(): ReadonlyMap<number, ExecArgv> {
    this.pull();
    return this.seen;
  }

  /**
   * Can the process that exec'd at `at` (epoch ms, the connector's time of that exec) be in a
   * watched tree? False only when the thread has handled that exec and did not watch the pid.
   */
  mayWatch(pid: number, at: number): boolean {
    // the very conversion the connector applied to this exec's timestamp (./clock.ts), undone
    return this.native.mayWatch(pid, at - realMinusMonoMs(), SAME_EXEC_SLACK_MS);
  }

  /**
   * Of a drained proc-connector buffer, the messages about watched trees, renumbered so that loss
   * counting sees only what the kernel dropped. For ConnectorOptions.filter. With a name filter
   * (daemon) threads' events are dropped too; below a root (`tracer run`) they are kept. Watching
   * every process, or once events were lost, nothing is dropped.
   */
  compact(buf: Uint8Array): Uint8Array {
    return this.native.compact(buf);
  }

  /**
   * Of a drained taskstats buffer, all but the exit records of processes outside the watched trees
   * (read in place natively; records of another shape are kept). For TaskstatsOptions.compact.
   */
  compactTaskstats(buf: Uint8Array): Uint8Array {
    return this.native.compactTaskstats(buf);
  }

  /** Watched trees as of now: every process forked before this call is known. */
  watchedNow(): (pid: number) => boolean {
    this.native.sync();
    return (pid) => this.native.watched(pid);
  }

  /** Stop reading execs, without waiting for the thread (lookups still answer what it read); then stop(). */
  stopSoon(): void {
    this.native.stopSoon();
  }

  stop(): void {
    clearInterval(this.timer);
    if (this.kernel === "opening" || this.kernel === "on") closeKernelArgv();
    this.kernel = "off";
    this.native.stop();
    for (const sock of this.socks) {
      try {
        sock.send(connectorControl(PROC_CN_MCAST_IGNORE, 0));
      } catch {}
      sock.close();
    }
    this.seen.clear();
    this.held.clear();
    this.heldChars = 0;
  }

  /** text remembered now (UTF-16 code units of argv and cwd, earlier execs included) */
  get chars(): number {
    return this.heldChars;
  }

  /** `pid`'s chain of remembered execs as it is now: the text it holds counted again */
  private reweigh(pid: number, latest: ExecArgv): void {
    let w = 0;
    for (let e: ExecArgv | undefined = latest; e; e = e.earlier) w += e.chars ?? 0;
    this.heldChars += w - (this.held.get(pid) ?? 0);
    this.held.set(pid, w);
  }

  private pull(): void {
    if (this.kernel === "opening") {
      const s = kernelArgvStatus();
      // attached: the thread now wakes only for an exec the kernel could not put in its ring (what it
      // has read stays in its own ring for the take below)
      if (s === 1) this.kernel = filterExecsByMisses(this.socks[0]!.fd) === 0 ? "on" : "off";
      else if (s < 0) this.kernel = "off";
      if (this.kernel === "off") closeKernelArgv();
    }
    // bytes that are not UTF-8 kept as U+DC80–U+DCFF, like /proc reads (src/core/lossless.ts)
    const batch: SeenExec[] = this.native.take(decodeLossless);
    if (this.kernel === "on") for (const s of takeKernelArgv(decodeLossless)) batch.push(s);
    if (!batch.length) return;
    // the connector's conversion (./clock.ts): an exec event and the watcher's record of it agree
    const wallMinusMono = realMinusMonoMs();
    for (const s of batch) {
      const e: ExecArgv = {
        at: s.monoMs + wallMinusMono,
        readAt: s.readLagMs === undefined ? undefined : s.monoMs + wallMinusMono + s.readLagMs,
        argv: s.argv,
        argvBytes: s.argvBytes,
        argvTruncated: s.argvTruncated,
        cwd: s.cwd,
        chars: textOf(s.argv, s.cwd),
        ppid: s.ppid,
        startTicks: s.startTicks,
      };
      const had = this.seen.get(s.tgid);
      if (had && had.at > e.at + SAME_EXEC_SLACK_MS) {
        // an earlier exec than the latest remembered: the two rings are taken one after the other, so
        // the thread's read of an exec can come before the kernel's read of the exec before it (a chain
        // then lost its first image's read, which its priorArgv is): into its place in the chain
        placeEarlier(had, e);
        this.reweigh(s.tgid, had);
        continue;
      }
      // the same exec read twice (by the kernel and the thread): the kernel's read, made in the exec
      // itself, is kept; else the later read replaces it
      if (had && had.readAt === undefined && e.readAt !== undefined && had.at >= e.at - SAME_EXEC_SLACK_MS)
        continue;
      const earlier = had && had.at < e.at - SAME_EXEC_SLACK_MS ? had : had?.earlier;
      if (earlier) e.earlier = trimmed(earlier, EARLIER_KEPT - 1);
      // re-inserted, so the map stays in exec order and pruning stops at the first young entry
      this.seen.delete(s.tgid);
      this.seen.set(s.tgid, e);
      this.reweigh(s.tgid, e);
    }
    const now = Date.now();
    const old = now - KEEP_MS;
    const young = now - MIN_KEEP_MS;
    let over = this.seen.size - this.cap;
    for (const [pid, e] of this.seen) {
      if (e.at >= old && over <= 0 && (this.heldChars <= this.charsCap || e.at >= young)) break;
      this.seen.delete(pid);
      this.heldChars -= this.held.get(pid) ?? 0;
      this.held.delete(pid);
      over--;
    }
  }
}

/** UTF-16 code units of one exec's argv and cwd (what remembering it holds, the arrays aside) */
function textOf(argv: string[], cwd: string | undefined): number {
  let n = cwd?.length ?? 0;
  for (let i = 0; i < argv.length; i++) n += argv[i]!.length + 1;
  return n;
}

/**
 * `e` (an exec older than `latest`) put into `latest`'s chain of earlier execs where its time falls
 * (newest first), unless a read of the same exec is there already (the kernel's read replaces the
 * thread's); the chain then trimmed as pull() trims it.
 */
function placeEarlier(latest: ExecArgv, e: ExecArgv): void {
  let prev = latest;
  let cur = latest.earlier;
  while (cur && cur.at > e.at + SAME_EXEC_SLACK_MS) {
    prev = cur;
    cur = cur.earlier;
  }
  if (cur && cur.at >= e.at - SAME_EXEC_SLACK_MS) {
    // a read of the same exec: the kernel's (made in the exec) replaces the thread's
    if (cur.readAt === undefined || e.readAt !== undefined) return;
    cur = cur.earlier;
  }
  e.earlier = cur;
  prev.earlier = e;
  latest.earlier = trimmed(latest.earlier!, EARLIER_KEPT - 1);
}

/**
 * `e` with at most `more` earlier execs behind it (the chain cut there, in place): the newest `more`
 * − 1 of them and the oldest remembered. A process that execs again and again within one drain (a
 * chain of `exec`s) keeps its first image's read, which the recorder asks for first and keeps as the
 * process's priorArgv, besides its latest ones; the newest `more` alone made priorArgv a later image
 * (`selfexec 3` for `selfexec 20`, tests/run/kernel-argv.test.ts).
 */
function trimmed(e: ExecArgv, more: number): ExecArgv {
  let cur = e;
  for (let i = 1; i < more && cur.earlier; i++) cur = cur.earlier;
  let oldest = more > 0 ? cur.earlier : undefined;
  while (oldest?.earlier) oldest = oldest.earlier;
  cur.earlier = oldest;
  return e;
}

/** Can the watcher run here? Starts it on this process's (empty) tree and stops it. Never throws. */
export function probeExecWatch(): Probe {
  if (process.env.TRACER_NO_EXEC_WATCH === "1") return { available: false, reason: "TRACER_NO_EXEC_WATCH=1" };
  const w = ExecWatcher.start(process.pid);
  if (!w) return { available: false, reason: "no proc connector, or its thread could not start" };
  w.stop();
  return { available: true, reason: "a native thread reads argv and cwd at each exec" };
}

/**
 * Can the kernel read argv and cwd at each exec here (ffi/execargv.c)? Opens the scheduler-runtime
 * ledger on this process, attaches the reader to it, then closes both (waiting at most `waitMs` for
 * each). Never throws.
 */
export function probeKernelArgv(waitMs = 1000): Probe {
  if (process.env.TRACER_NO_KERNEL_ARGV === "1")
    return { available: false, reason: "TRACER_NO_KERNEL_ARGV=1" };
  const ledger = probeLedgerOpen(waitMs);
  if (typeof ledger === "string")
    return { available: false, reason: `needs the sched runtime ledger (${ledger})` };
  try {
    const started = openKernelArgv(ledgerMapFd());
    let s = Math.min(started, 0);
    for (const until = performance.now() + waitMs; s === 0 && performance.now() < until; ) {
      Bun.sleepSync(1);
      s = kernelArgvStatus();
    }
    if (started >= 0) closeKernelArgv();
    if (s === 1)
      return { available: true, reason: "eBPF: sched_process_exec copies argv and cwd into a ring buffer" };
    if (s === 0) return { available: false, reason: `no answer within ${waitMs} ms` };
    return { available: false, reason: KERNEL_ARGV_REASONS[-s] ?? `error ${-s}` };
  } finally {
    ledger.close();
  }
}

const KERNEL_ARGV_REASONS: Record<number, string> = {
  1: "not permitted (needs CAP_BPF and CAP_PERFMON: root)",
  2: "the kernel's type information (/sys/kernel/btf/vmlinux) lacks a member it reads",
  7: "the kernel's verifier found the program too complex",
  13: "not permitted (needs CAP_BPF and CAP_PERFMON: root)",
  22: "the kernel refused the program or its maps (ring buffers need Linux 5.8)",
  38: "not available on this platform",
  71: "the kernel's type information is not what it expects",
};
