/**
 * The proc connector source against real processes: exec/exit with exit codes and signals, and loss
 * that a forced tiny receive buffer makes happen, detected and counted.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { ConnectorSource, pacedDelay, probeConnector, SeqAudit } from "../../src/observe/connector.ts";
import type { CaptureEvent } from "../../src/observe/types.ts";
import { cProgram } from "../helpers/bigrun.ts";

const probe = process.platform === "linux" ? probeConnector() : { available: false, reason: "not Linux" };
if (!probe.available) console.warn(`skipping proc connector tests: ${probe.reason}`);

const started: ConnectorSource[] = [];
afterEach(async () => {
  for (const s of started.splice(0)) await s.stop();
});

async function listen(opts: ConstructorParameters<typeof ConnectorSource>[0] = {}) {
  const src = new ConnectorSource(opts);
  const events: CaptureEvent[] = [];
  src.onEvent((e) => events.push(e));
  started.push(src);
  await src.start();
  return { src, events };
}

/** Events of `root` and everything it forked (transitively), in order. */
function treeOf(events: CaptureEvent[], root: number): CaptureEvent[] {
  const tree = new Set([root]);
  return events.filter((e) => {
    if (e.type === "fork" && tree.has(e.ptgid)) tree.add(e.tgid);
    return e.type !== "loss" && tree.has(e.tgid);
  });
}

async function settle(src: ConnectorSource, events: CaptureEvent[], pid: number) {
  const end = Date.now() + 5000;
  while (!events.some((e) => e.type === "exit" && e.tgid === pid) && Date.now() < end) await Bun.sleep(10);
  void src;
}

test("paced drains: as far apart as slowMs while a drain finds few messages, closer in proportion to more", () => {
  const pace = { slowMs: 500, batchEvents: 2000 };
  // ~100 processes a second (fork, exec, exit) over 500 ms: the slow pace
  expect(pacedDelay(100, pace, 500, 150)).toBe(500);
  // nothing but the pace's own bound: 2,000 messages in 500 ms keeps 500 ms
  expect(pacedDelay(100, pace, 500, 2000)).toBe(500);
  // twice that rate: half the interval
  expect(pacedDelay(100, pace, 500, 4000)).toBe(250);
  // a storm: never closer than busyMs
  expect(pacedDelay(100, pace, 100, 60_000)).toBe(100);
  // a drain right after a capped one (elapsed 0) with a full batch: busyMs, not 0
  expect(pacedDelay(100, pace, 0, 8192)).toBe(100);
});

describe.skipIf(!probe.available)("proc connector", () => {
  test("paced: drains come slowMs apart while the host's events trickle", async () => {
    const { src, events } = await listen({
      pollMs: 20,
      idlePollMs: 20,
      pace: { slowMs: 400, batchEvents: 2000 },
    });
    // every timed drain runs the source drained alongside: a counter here
    let drains = 0;
    src.alongside = {
      drain: () => {
        drains++;
        return false;
      },
      backlog: () => false,
    };
    const p = Bun.spawn(["sh", "-c", "for i in $(seq 25); do /bin/true; sleep 0.1; done"]);
    const t0 = Date.now();
    await p.exited;
    const ms = Date.now() - t0;
    await settle(src, events, p.pid);
    expect(treeOf(events, p.pid).filter((e) => e.type === "exec").length).toBe(2 + 25 * 2); // sh, seq, then true and sleep
    // unpaced, a drain every 20 ms: > 100; paced, one per 400 ms (timers fire late, never early)
    expect(drains).toBeLessThanOrEqual(Math.ceil(ms / 400) + 2);
    expect(src.stats().lost).toBe(0);
  });

  test("probe reports it available", () => {
    expect(probe).toEqual({ available: true, reason: "subscribed and acknowledged" });
  });

  test("/bin/true: fork, exec and exit with code 0", async () => {
    const { src, events } = await listen();
    expect(src.receiveBufferBytes).toBeGreaterThanOrEqual(32 << 20);
    const p = Bun.spawn(["/bin/true"]);
    await p.exited;
    await settle(src, events, p.pid);
    const mine = treeOf(events, p.pid).map((e) => e.type);
    expect(mine).toEqual(["fork", "exec", "exit"]);
    const fork = events.find((e) => e.type === "fork" && e.tgid === p.pid);
    expect(fork).toMatchObject({ ptgid: process.pid, pid: p.pid });
    expect(events.find((e) => e.type === "exit" && e.tgid === p.pid)).toMatchObject({ exitCode: 0 });
    expect(src.stats().lost).toBe(0);
  });

  test("a backlog larger than one capped drain: stop() reads it to the end; sync() says when it has", async () => {
    // no timed drain (pollMs far away): 12,000 forks of the fan fixture queue ~36,000 events, many
    // times one drain's ~2,500 (ffi/netlink.ts DRAIN_BYTES) — the tail of a fork storm at the end of a run. Two
    // subscribers of the same events: one only stopped, one synced first.
    const stopped = await listen({ pollMs: 60_000 });
    const synced = await listen({ pollMs: 60_000 });
    const p = Bun.spawnSync([cProgram("fan"), "12000"]);
    expect(p.exitCode).toBe(0);
    expect(synced.src.sync()).toBe(false); // one capped drain: more is queued
    expect(synced.src.sync(true)).toBe(true);
    await stopped.src.stop();
    for (const { events, src } of [stopped, synced]) {
      const forks = events.filter((e) => e.type === "fork" && e.ptgid === p.pid).length;
      const exits = treeOf(events, p.pid).filter((e) => e.type === "exit").length;
      expect([forks, exits]).toEqual([12_000, 12_001]);
      expect(src.stats().lost).toBe(0);
    }
  });

  test("sh -c 'exit 3' → exit code 3, a 1 ms child included", async () => {
    const { src, events } = await listen();
    const p = Bun.spawn(["sh", "-c", "/bin/true; sh -c 'exit 3'; exit 3"]);
    expect(await p.exited).toBe(3);
    await settle(src, events, p.pid);
    const exits = treeOf(events, p.pid).filter((e) => e.type === "exit");
    // the outer sh, its /bin/true child and its inner sh child
    expect(exits).toHaveLength(3);
    expect(exits.map((e) => (e.type === "exit" ? e.exitCode : -1)).sort()).toEqual([0, 3, 3]);
    const execs = treeOf(events, p.pid).filter((e) => e.type === "exec");
    expect(execs).toHaveLength(3);
  });

  test("SIGKILL → signal 9, no exit code", async () => {
    const { src, events } = await listen();
    const p = Bun.spawn(["sleep", "30"]);
    await Bun.sleep(50);
    p.kill(9);
    expect(await p.exited).not.toBe(0);
    await settle(src, events, p.pid);
    const exit = events.find((e) => e.type === "exit" && e.tgid === p.pid);
    expect(exit).toMatchObject({ signal: 9 });
    expect(exit && "exitCode" in exit ? exit.exitCode : undefined).toBeUndefined();
  });

  test("threads are left out unless asked for", async () => {
    const quiet = await listen();
    const loud = await listen({ threads: true });
    // Bun itself starts a thread for the worker; its fork has child pid ≠ tgid
    const w = new Worker(URL.createObjectURL(new Blob(["postMessage(1)"])));
    await new Promise((r) => w.addEventListener("message", r, { once: true }));
    w.terminate();
    const p = Bun.spawn(["/bin/true"]);
    await p.exited;
    await settle(loud.src, loud.events, p.pid);
    const isThread = (e: CaptureEvent) => (e.type === "fork" || e.type === "exit") && e.pid !== e.tgid;
    expect(loud.events.some(isThread)).toBe(true);
    expect(quiet.events.some(isThread)).toBe(false);
  });

  test("a forced tiny receive buffer loses events, and every loss is detected and counted", async () => {
    const audit = new SeqAudit();
    const ref = await listen({ onMessage: audit.reference });
    const tiny = await listen({ receiveBufferBytes: 1, pollMs: 50, onMessage: audit.subject });
    expect(tiny.src.receiveBufferBytes).toBeLessThan(16 << 10);
    const p = Bun.spawn(["sh", "-c", "i=0; while [ $i -lt 400 ]; do /bin/true; i=$((i+1)); done"]);
    expect(await p.exited).toBe(0);
    await settle(ref.src, ref.events, p.pid);
    // stop() gets one message from every CPU, which exposes a gap at the tail of a CPU's stream
    await tiny.src.stop();
    await ref.src.stop();

    const burst = treeOf(ref.events, p.pid);
    const tgids = new Set(burst.map((e) => (e.type === "loss" ? 0 : e.tgid)));
    const seen = burst.length;
    // by tgid: the tiny listener may have lost the fork that links a child to the tree
    const kept = tiny.events.filter((e) => e.type !== "loss" && tgids.has(e.tgid)).length;
    expect(seen).toBe(3 + 400 * 3); // the shell: fork, exec, exit; each child: fork, exec, exit
    const shortfall = seen - kept;
    const stats = tiny.src.stats();
    expect(shortfall).toBeGreaterThan(0);
    // loss of other processes' events counts too, so the count is at least the burst's shortfall …
    expect(stats.lost).toBeGreaterThanOrEqual(shortfall);
    // … and exactly what a listener that lost nothing saw in the same per-CPU windows, minus ours
    expect(ref.src.stats().lost).toBe(0);
    expect(stats.lost).toBe(audit.shortfall());
    expect(tiny.events.filter((e) => e.type === "loss").length).toBeGreaterThan(0);
    expect(tiny.src.enobufs).toBeGreaterThan(0);
    expect(stats.lossReasons["seq-gap"] ?? 0).toBeGreaterThan(0);
    expect(ref.src.stats().lost).toBe(0);
  });
});
