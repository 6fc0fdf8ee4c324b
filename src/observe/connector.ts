/**
 * The netlink proc connector as a CaptureSource: fork / exec / exit of every task on the host, with
 * the exit status, even for processes that live 1 ms.
 *
 * The socket is non-blocking and drained from a timer (every 10 ms while events flow, backing off to
 * 50 ms when idle), so the event loop never waits on the kernel; a 32 MiB receive buffer (SO_RCVBUFFORCE when permitted) absorbs bursts in
 * between. Loss is never silent: an ENOBUFS from the kernel and every gap in a CPU's cn_msg.seq become
 * `loss` events, counted in stats(). See /work/shared/reference/linux-process-events.md §1.
 */
import { dfgOnly } from "../core/jit-tier.ts";
import { readFileSync } from "../../ffi/fs.ts";
import { release } from "../core/host.ts";
import {
  MARK_ENOBUFS,
  MARK_TRUNC,
  NETLINK_CONNECTOR,
  NetlinkError,
  NetlinkSocket,
} from "../../ffi/netlink.ts";
import {
  CN_IDX_PROC,
  CN_VAL_PROC,
  connectorControl,
  decodeProcEvent,
  kernelAtLeast,
  messages,
  NLMSG_DONE,
  PROC_CN_MCAST_IGNORE,
  PROC_CN_MCAST_LISTEN,
  PROC_EVENT,
  parseCpuList,
  probeFailure,
  SeqGaps,
  _Emitter,
  alignedWords,
} from "./_netlink-parse.ts";
import { realMinusMonoMs } from "./clock.ts";
import type { CaptureEvent, CaptureSource, Probe, SourceStats } from "./types.ts";

export interface ConnectorOptions {
  /** receive buffer to ask for (the kernel doubles it); default 32 MiB. Tiny values force loss. */
  receiveBufferBytes?: number;
  /** drain interval while events flow, ms; default 10 */
  pollMs?: number;
  /** longest drain interval when idle, ms; default 50 (a 32 MiB buffer holds ~80k events) */
  idlePollMs?: number;
  /**
   * Pace the drains by the host's event rate: up to `slowMs` apart while a drain finds fewer than
   * `batchEvents` messages, closer in proportion beyond, never closer than pollMs. Default: none
   * (every pollMs while events flow).
   */
  pace?: Pace;
  /** also emit fork/exit of threads (child pid ≠ tgid); default false: processes only */
  threads?: boolean;
  /** how long start() waits for the kernel's ACK; default 1000 ms */
  ackTimeoutMs?: number;
  /**
   * Applied to each drained buffer before it is parsed (daemon runs: the exec watcher's compact(),
   * which drops what no watched tree needs but keeps every sequence number). Default: none.
   */
  filter?: (buf: Uint8Array) => Uint8Array;
  /** every numbered message received (threads, ACKs and other event types too): for loss audits */
  onMessage?: (cpu: number, seq: number) => void;
  /**
   * Send no per-CPU baseline pings at start() (tracer run: each moves tracer's thread to a CPU and
   * waits for it). A CPU's baseline is then its first message. Ignored with a receive buffer below the
   * default, where the pings make a forced loss count exact from the first message.
   */
  noBaselines?: boolean;
}

export const DEFAULT_RCVBUF = 32 << 20;
/**
 * Buffers of ~2,500 events (ffi/netlink.ts DRAIN_BYTES) read per drain: 1, about 850 processes' fork,
 * exec and exit. On a backlog the next drain follows at once (not after pollMs), and `onCapped` (the
 * taskstats source's drain, about as many exit records) runs between them: exits are read in step with their figures, so ended
 * processes do not pile up in the recorder waiting for them. Measured on a 100,000-link chain on a
 * loaded host: 25,840 held at once with 16 buffers a drain (137 MB), up to 13,000 with 4 (peak RSS
 * 107–125 MB: the connector read ~16,000 processes' exits before taskstats was read).
 */
const DRAIN_ROUNDS = 1;
/**
 * Capped drains one after another for sync(all) and stop(): up to ~10 million events (of ~2,500 a
 * drain: ffi/netlink.ts DRAIN_BYTES). A capped drain
 * left the tail of a storm unread at the end of a run (a 100,000-link chain stored 99,950 rows), and
 * reports of processes whose fork was still queued were declared lost (1,000–1,800 extra rows).
 */
const MAX_ALL_ROUNDS = 4096;

export class ConnectorSource implements CaptureSource {
  readonly name = "proc-connector";
  private sock: NetlinkSocket | undefined;
  private readonly poller = new _Poller(
    () => {
      const got = this.poll();
      if (this.alongside) return this.alongside.drain() || got;
      if (!this.emptied) this.onCapped?.();
      return got;
    },
    () => (!this.emptied && this.sock?.capped === true) || this.alongside?.backlog() === true,
    () => this.drained / PROC_EVENT_MSG_BYTES,
  );
  /** bytes the last timed drain read, every message of the host's before the filter */
  private drained = 0;
  /** Called after a timed drain that stopped at its cap (a backlog): another source's drain, in step. */
  onCapped: (() => void) | undefined;
  /**
   * Another source drained right after every timed drain of this one, on this one's timer (taskstats:
   * ./sources.ts), instead of onCapped: `drain` says whether it read anything (the pace stays busy),
   * `backlog` whether it stopped at its cap with more queued (the next drain follows at once). One
   * timer, not two: a timer's wake-up alone costs Bun ~50–80 µs of CPU on this host, whatever it does.
   */
  alongside: { drain(): boolean; backlog(): boolean; soonMs?(): number } | undefined;
  private readonly out = new _Emitter<CaptureEvent>();
  private readonly gaps = new SeqGaps();
  /** our request's cn_msg.ack: the kernel's ACK to us carries ackTag + 1 */
  private readonly ackTag = 1 + ((Math.random() * 0x7ffffff0) >>> 0);
  private acked: number | undefined;
  /** bytes of messages read since the subscription was sent, the host's others' too: they prove it where its ACK is lost */
  private sinceListen = 0;
  /** losses already reported by ENOBUFS that a later sequence gap will account for */
  private credit = 0;
  /** ENOBUFS reports from the kernel */
  enobufs = 0;
  /** the last drain read the queue to its end (or there is no socket) */
  private emptied = true;
  /** effective receive buffer, bytes (as the kernel reports it, doubled) */
  receiveBufferBytes = 0;

  constructor(private readonly opts: ConnectorOptions = {}) {}

  onEvent(cb: (e: CaptureEvent) => void): void {
    this.out.listeners.push(cb);
  }

  stats(): SourceStats {
    return this.out.stats();
  }

  sync(all = false): boolean {
    if (!all) this.poll();
    else this.drainAll();
    return this.emptied;
  }

  /** Drain until the queue is empty (bounded: a storm that never pauses is read in MAX_ALL_ROUNDS). */
  private drainAll(): void {
    for (let i = 0; i < MAX_ALL_ROUNDS && this.poll(); i++) {}
  }

  async start(): Promise<void> {
    if (this.sock) return;
    const sock = NetlinkSocket.open(NETLINK_CONNECTOR, 1);
    this.sock = sock;
    this.acked = undefined;
    try {
      // the handshake and the per-CPU baselines get a full-size buffer, so a tiny requested one cannot
      // drop them; the requested size applies from then on
      const wanted = this.opts.receiveBufferBytes ?? DEFAULT_RCVBUF;
      this.receiveBufferBytes = sock.setReceiveBuffer(Math.max(wanted, DEFAULT_RCVBUF));
      sock.send(connectorControl(PROC_CN_MCAST_LISTEN, this.ackTag));
      const until = Date.now() + (this.opts.ackTimeoutMs ?? 1000);
      this.sinceListen = 0;
      while (this.acked === undefined) {
        this.poll();
        if (this.acked !== undefined) break;
        if (Date.now() > until) {
          // Behind a host's storm of events the ACK can be dropped (ENOBUFS) or still queued behind
          // them: events of the host arriving prove the subscription. tracer run fell back to /proc
          // polling in 2–3 of 8 starts beside 380,000 events a second (an attack, 2 Dec 2026).
          if (this.sinceListen > 8 * PROC_EVENT_MSG_BYTES) break;
          throw new Error("the kernel never acknowledged PROC_CN_MCAST_LISTEN (pid or user namespace?)");
        }
        // a capped drain: the rest at once (the ACK is behind it), not after a sleep
        if (!sock.capped) await Bun.sleep(2);
      }
      if (this.acked !== undefined && this.acked !== 0)
        throw new Error(`PROC_CN_MCAST_LISTEN refused: errno ${this.acked}`);
      if (!this.opts.noBaselines || wanted < DEFAULT_RCVBUF) this.pingEveryCpu(true);
      if (wanted < DEFAULT_RCVBUF) this.receiveBufferBytes = sock.setReceiveBuffer(wanted);
    } catch (e) {
      this.sock = undefined;
      sock.close();
      // the kernel's connector listens in the host's first network namespace only (a container's
      // own, or `unshare -n`, gets ECONNREFUSED): say so where `tracer run` and reports show it
      if (e instanceof NetlinkError && e.code === "ECONNREFUSED")
        throw new Error(
          `${e.message} (the proc connector is reachable only from the host's network namespace)`,
          {
            cause: e,
          },
        );
      throw e;
    }
    this.poller.start(this.opts.pollMs ?? 10, this.opts.idlePollMs ?? 50, this.opts.pace);
  }

  /**
   * Drain every `pollMs` while events flow (`idlePollMs` at most when none), unpaced, from now on, and
   * sooner while the source drained alongside asks (soonMs: taskstats watching an exit teardown): for
   * a recording whose exit teardowns only the drains can see (no scheduler-runtime ledger).
   */
  drainEvery(pollMs: number, idlePollMs: number): void {
    if (this.sock)
      this.poller.retune(pollMs, idlePollMs, () => this.alongside?.soonMs?.() ?? Number.POSITIVE_INFINITY);
  }

  async stop(): Promise<void> {
    const sock = this.sock;
    if (!sock) return;
    this.poller.stop();
    this.drainAll();
    // Messages missing at the tail of a CPU's stream show only with a later sequence number: the
    // closing pings give one. They are needed only after an overrun, which the kernel always reports
    // (ENOBUFS, read by the drain above): without one nothing was dropped for this socket. Each ping
    // waits for its CPU (1–4 ms at `tracer run`'s end on this loaded 2-CPU host: issue 15).
    if (this.enobufs > 0) {
      // a full-size buffer again, so that the closing baselines cannot be dropped
      if ((this.opts.receiveBufferBytes ?? DEFAULT_RCVBUF) < DEFAULT_RCVBUF) {
        try {
          sock.setReceiveBuffer(DEFAULT_RCVBUF);
        } catch {}
      }
      this.pingEveryCpu();
      // a storm still going can queue more than one drain's worth before the pings' answers
      this.drainAll();
    }
    try {
      sock.send(connectorControl(PROC_CN_MCAST_IGNORE, this.ackTag));
    } catch {}
    this.sock = undefined;
    sock.close();
  }

  /**
   * Get one numbered message from every online CPU: on subscribing it sets each CPU's sequence
   * baseline (so even the first loss is counted), on stopping (after an ENOBUFS) it exposes a gap at
   * the tail of a CPU's stream. It re-sends LISTEN from each CPU, whose ACK takes that CPU's next sequence number. Only on
   * kernels ≥ 6.6, where a repeated LISTEN does not count the socket twice. `baselines`: only the CPUs
   * no message has come from yet (the subscription's own ACK, or any event of the busy host, set the
   * others'), since each ping moves tracer's thread to that CPU, which waits for it on a loaded host.
   */
  private pingEveryCpu(baselines = false): void {
    const sock = this.sock;
    if (!sock || !kernelAtLeast(release(), 6, 6)) return;
    let cpus: number[] = [];
    try {
      cpus = parseCpuList(readFileSync("/sys/devices/system/cpu/online", "utf8"));
    } catch {}
    const listen = connectorControl(PROC_CN_MCAST_LISTEN, this.ackTag);
    for (const cpu of cpus) {
      if (baselines && this.gaps.knows(cpu)) continue;
      try {
        sock.sendOnCpu(listen, cpu);
      } catch {} // a CPU outside our cpuset: its gaps show up with its next event instead
    }
    // one drain for all of them (the buffer is full-size here): each CPU's messages stay in order
    this.poll();
  }

  /** Drain everything queued and emit it, in kernel order; true if anything came. Never blocks. */
  private poll(): boolean {
    const sock = this.sock;
    this.emptied = !sock;
    this.drained = 0;
    if (!sock) return false;
    for (let round = 0; round < DRAIN_ROUNDS; round++) {
      let buf: Uint8Array;
      try {
        buf = sock.drain();
      } catch (e) {
        this.lose(1, `recv failed: ${(e as Error).message}`);
        return true;
      }
      if (buf.byteLength === 0) {
        this.emptied = true;
        return round > 0;
      }
      // a drain below its cap read the socket to its end
      const capped = sock.capped;
      this.drained += buf.byteLength;
      this.sinceListen += buf.byteLength;
      if (this.opts.filter) buf = this.opts.filter(buf);
      this.parse(buf, realMinusMonoMs());
      if (!capped) {
        this.emptied = true;
        return true;
      }
    }
    return true;
  }

  /**
   * Read every message of a drained buffer in place (one view per buffer, nothing allocated per
   * message but the event emitted): the socket carries every fork, exec and exit of the whole host.
   * Layout: nlmsghdr (16), cn_msg (20: idx, val, seq, ack, len, flags), proc_event at 36 (what, cpu,
   * timestamp_ns, event_data at 52); see decodeProcEvent, its readable twin.
   */
  private parse(buf: Uint8Array, wallMinusMonoMs: number): void {
    const threads = this.opts.threads ?? false;
    // host-order words (./_netlink-parse.ts words: a typed array read is one interpreter instruction)
    const u = alignedWords(buf);
    const n = buf.byteLength;
    for (let off = 0, len = 0; off + 16 <= n; off += (len + 3) & ~3) {
      const w = off >>> 2;
      len = u[w]!;
      if (len < 16 || off + len > n) return;
      const type = u[w + 1]! & 0xffff;
      if (type === MARK_ENOBUFS) {
        this.enobufs++;
        this.credit++;
        this.lose(1, "ENOBUFS");
        continue;
      }
      if (type === MARK_TRUNC) {
        this.lose(1, "truncated");
        continue;
      }
      if (type !== NLMSG_DONE || len < 52) continue;
      if (u[w + 4] !== CN_IDX_PROC || u[w + 5] !== CN_VAL_PROC) continue;
      const what = u[w + 9]!;
      const cpu = u[w + 10]!;
      const seq = u[w + 6]!;
      // event_data word k (at byte 52 + 4k), 0 when the message is too short to hold it
      const w0 = len >= 56 ? u[w + 13]! : 0;
      const w1 = len >= 60 ? u[w + 14]! : 0;
      if (what === PROC_EVENT.none && u[w + 7] === this.ackTag + 1) this.acked ??= w0;
      // ACKs share the per-CPU numbering on current kernels; older ones sent them with cpu = -1, unnumbered
      const numbered = cpu !== 0xffffffff;
      if (numbered) this.opts.onMessage?.(cpu, seq);
      const gap = numbered ? this.gaps.observe(cpu, seq) : 0;
      if (gap > 0) {
        const absorbed = Math.min(gap, this.credit);
        this.credit -= absorbed;
        if (gap > absorbed) this.lose(gap - absorbed, "seq-gap");
      }
      // timestamp_ns as two words: the same double as Number() of the u64 (one rounding), no BigInt
      const ns = u[w + 11]! + u[w + 12]! * 2 ** 32;
      const at = ns / 1e6 + wallMinusMonoMs;
      switch (what) {
        case PROC_EVENT.fork: {
          const w2 = len >= 64 ? u[w + 15]! : 0;
          const w3 = len >= 68 ? u[w + 16]! : 0;
          if (threads || w2 === w3)
            this.out.emit({ type: "fork", at, ppid: w0, ptgid: w1, pid: w2, tgid: w3 });
          break;
        }
        case PROC_EVENT.exec:
          this.out.emit({ type: "exec", at, pid: w0, tgid: w1 });
          break;
        case PROC_EVENT.exit:
          if (threads || w0 === w1)
            this.out.emit(exitEvent(at, w0, w1, len >= 64 ? u[w + 15]! : 0, len >= 76 ? u[w + 18]! : 0));
          break;
      }
    }
  }

  private lose(count: number, reason: string): void {
    this.out.emit({ type: "loss", at: Date.now(), count, reason });
  }
}

/** An exit event from a raw wait status, with the fields decodeWaitStatus gives (one object, no spread). */
function exitEvent(at: number, pid: number, tgid: number, status: number, ptgid: number): CaptureEvent {
  const sig = status & 0x7f;
  const parentTgid = ptgid > 0 ? ptgid : undefined;
  if (sig === 0) return { type: "exit", at, pid, tgid, exitCode: (status >> 8) & 0xff, parentTgid };
  return (status & 0x80) !== 0
    ? { type: "exit", at, pid, tgid, signal: sig, coreDumped: true, parentTgid }
    : { type: "exit", at, pid, tgid, signal: sig, parentTgid };
}

/** connector messages are all one size: nlmsghdr (16), cn_msg (20), struct proc_event (40) */
const PROC_EVENT_MSG_BYTES = 76;

/**
 * How far apart drains may be while the host's events trickle. Each drain's work costs more per event
 * when it comes often with little (the code and data it touches have gone cold on the CPU since the
 * last): `tracer run` at ~100 execs/s used 2.5 % of a core draining every 100 ms, 1.96 % every 500 ms
 * (DEVELOPERS-NOTES.md). What bounds the interval is the kernel's receive buffer: `batchEvents` per
 * drain leaves room for a surge of (buffer's events / batchEvents)× the rate the pace was set at.
 */
export interface Pace {
  /** longest interval while events flow, ms */
  slowMs: number;
  /** messages a drain may find at the slow pace; more, and the next comes sooner in proportion */
  batchEvents: number;
}

/**
 * The next drain's delay, ms, after one that read `messages` over the last `elapsedMs`: the interval at
 * which a drain would find `pace.batchEvents` at that rate, between `busyMs` and `pace.slowMs`.
 */
export function pacedDelay(busyMs: number, pace: Pace, elapsedMs: number, messages: number): number {
  const due = Math.floor((Math.max(1, elapsedMs) * pace.batchEvents) / Math.max(1, messages));
  return Math.max(busyMs, Math.min(pace.slowMs, due));
}

/**
 * Calls `drain` every `busyMs` while it finds data, doubling the interval up to `idleMs` when not; at
 * once again while `capped` says the last drain stopped at its cap with more queued. With a `pace`,
 * the interval while data flows follows the volume the last drain read (`volume`, messages).
 */
export class _Poller {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private delay = 0;

  constructor(
    private readonly drain: () => boolean,
    private readonly capped: () => boolean = () => false,
    private readonly volume: () => number = () => 0,
  ) {}

  private busyMs = 10;
  private idle = 50;
  private pace: Pace | undefined;
  private tick: (() => void) | undefined;
  /** once retuned with it: the next drain at most this far off (ms) */
  private soon: (() => number) | undefined;

  start(busyMs: number, idleMs: number, pace?: Pace): void {
    this.set(busyMs, idleMs, pace);
    this.delay = busyMs;
    let last = Date.now();
    const tick = () => {
      const pace = this.pace;
      const now = pace ? Date.now() : 0;
      const elapsed = now - last;
      last = now;
      let got = true;
      try {
        got = this.drain();
      } finally {
        // an error still surfaces (uncaught), but capture goes on
        const busyMs = this.busyMs;
        if (!got) this.delay = Math.min(this.idle, Math.max(busyMs, this.delay * 2));
        else if (this.capped()) this.delay = 0;
        else if (!pace) this.delay = busyMs;
        else this.delay = pacedDelay(busyMs, pace, elapsed, this.volume());
        if (this.soon) this.delay = Math.min(this.delay, this.soon());
        if (this.timer) this.timer = setTimeout(tick, this.delay);
      }
    };
    this.tick = tick;
    this.timer = setTimeout(tick, busyMs);
  }

  /**
   * Drain on another schedule from now on (as start's, unpaced), the next drain at most `soon()` ms
   * after one; the next one at once when it was further off.
   */
  retune(busyMs: number, idleMs: number, soon?: () => number): void {
    this.set(busyMs, idleMs, undefined);
    this.soon = soon;
    if (!this.timer || !this.tick || this.delay <= busyMs) return;
    clearTimeout(this.timer);
    this.delay = busyMs;
    this.timer = setTimeout(this.tick, busyMs);
  }

  private set(busyMs: number, idleMs: number, pace: Pace | undefined): void {
    this.busyMs = busyMs;
    this.idle = Math.max(busyMs, idleMs, pace?.slowMs ?? 0);
    this.pace = pace;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/**
 * Can this process subscribe to the proc connector? Subscribes, looks for the kernel's ACK and
 * unsubscribes. Never throws. The kernel answers inside send(); a few short retries cover the rest.
 */
export function probeConnector(): Probe {
  let sock: NetlinkSocket | undefined;
  try {
    sock = NetlinkSocket.open(NETLINK_CONNECTOR, 1);
    const tag = 1 + ((Math.random() * 0x7ffffff0) >>> 0);
    sock.send(connectorControl(PROC_CN_MCAST_LISTEN, tag));
    let err: number | undefined;
    for (let i = 0; i < 20 && err === undefined; i++) {
      if (i > 0) Bun.sleepSync(5);
      const buf = sock.drain();
      for (const m of messages(buf)) {
        const ev = decodeProcEvent(buf, m);
        if (ev?.what === PROC_EVENT.none && ev.ack === tag + 1) err = ev.data[0] ?? 0;
      }
    }
    sock.send(connectorControl(PROC_CN_MCAST_IGNORE, tag));
    if (err === undefined)
      return { available: false, reason: "no ACK from the kernel (pid or user namespace?)" };
    if (err !== 0) return { available: false, reason: `PROC_CN_MCAST_LISTEN refused: errno ${err}` };
    return { available: true, reason: "subscribed and acknowledged" };
  } catch (e) {
    return probeFailure(e);
  } finally {
    sock?.close();
  }
}

/**
 * Audits a listener's loss count against a reference listener on the same host that lost nothing
 * (tests and bench/capture.ts): pass `reference` and `subject` as their `onMessage`. The true
 * shortfall is what the reference received inside the subject's per-CPU sequence windows, minus
 * what the subject received.
 */
export class SeqAudit {
  private readonly ref = new Map<number, number[]>();
  private readonly win = new Map<number, { first: number; last: number }>();
  private received = 0;

  readonly reference = (cpu: number, seq: number): void => {
    const list = this.ref.get(cpu) ?? [];
    list.push(seq);
    this.ref.set(cpu, list);
  };

  readonly subject = (cpu: number, seq: number): void => {
    this.received++;
    const w = this.win.get(cpu);
    if (!w) this.win.set(cpu, { first: seq, last: seq });
    else w.last = seq;
  };

  shortfall(): number {
    let truth = 0;
    for (const [cpu, w] of this.win)
      truth += (this.ref.get(cpu) ?? []).filter((s) => s >= w.first && s <= w.last).length;
    return truth - this.received;
  }
}

// called for every message or process of a recording: kept out of the FTL tier (src/observe/tiers.ts)
dfgOnly(exitEvent);
