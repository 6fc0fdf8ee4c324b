/**
 * The scheduler-runtime ledger (ffi/schedrt.c) on its own, in this process: every process forked
 * below it is followed, its whole runtime taken once, identity kept by fork time. Against wait4's
 * rusage of the process itself (a child of this process, reaped at once: the case the taskstats record
 * and the zombie's CPU clock cannot give exactly). Root only (CAP_BPF + CAP_PERFMON).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import {
  closeSchedRuntime,
  followSchedRuntime,
  openSchedRuntime,
  schedRuntimeStatus,
  takeSchedRuntime,
} from "../../ffi/schedrt.ts";
import { openLedger, probeSchedRuntime } from "../../src/observe/schedrt.ts";
import { PY } from "../run/_helpers.ts";

const probe = probeSchedRuntime();
if (!probe.available) console.warn(`skipping ledger tests: ${probe.reason}`);

function open() {
  expect(openSchedRuntime(process.pid)).toBe(0);
  const until = performance.now() + 2000;
  while (schedRuntimeStatus() === 0 && performance.now() < until) Bun.sleepSync(1);
  expect(schedRuntimeStatus()).toBe(1);
}
afterAll(() => closeSchedRuntime());

const cpuUs = (r: { cpuTime: { user: bigint | number; system: bigint | number } }) =>
  Number(r.cpuTime.user) + Number(r.cpuTime.system);

/**
 * A ledger figure (µs) against wait4's rusage of the same process: rusage truncates user and system to
 * µs each (2 µs), and is taken at the reap, which can come before the exiting task's last slice ends
 * (after exit_notify woke the parent: 39 µs once in CI) — the ledger counts that slice. Far inside the
 * milliseconds a missed teardown or another process's runtime would make.
 */
function expectRusage(gotUs: number, rusageUs: number) {
  expect(gotUs).toBeGreaterThanOrEqual(rusageUs - 2);
  expect(gotUs).toBeLessThanOrEqual(rusageUs + 200);
}

/** Wait until `ledger` is open and its first poll has entered the processes that existed then. */
async function entered(ledger: { status(): number }) {
  const until = performance.now() + 2000;
  while (ledger.status() === 0 && performance.now() < until) await Bun.sleep(5);
  await Bun.sleep(20); // the poll after the open enters them
}

/**
 * A Python program (root) that prints "ready", then, for each pid read from stdin, makes its next fork
 * take that pid (ns_last_pid) and burn `burnS` s of CPU there; it prints "pid cpuUs" (wait4's, µs;
 * "0 0" when the pid could not be taken: another task forked between the write and the fork and keeps it).
 */
const pidTaker = (burnS: number) => [
  PY,
  "-S",
  "-u",
  "-c",
  `import os, sys, time
print("ready")
for line in iter(sys.stdin.readline, ""):
    want = int(line)
    out = "0 0"
    for _ in range(50):
        with open("/proc/sys/kernel/ns_last_pid", "w") as f: f.write(str(want - 1))
        c = os.fork()
        if c == 0:
            if os.getpid() == want:
                t = time.process_time()
                while time.process_time() - t < ${burnS}: pass
            os._exit(0)
        _, _, ru = os.wait4(c, 0)
        if c == want:
            out = "%d %d" % (c, round((ru.ru_utime + ru.ru_stime) * 1e6))
            break
    print(out)`,
];

describe.skipIf(!probe.available)("scheduler-runtime ledger", () => {
  test("a child reaped at once: its whole runtime, 200 MiB teardown included, = rusage to the µs; taken once", () => {
    open();
    // the teardown of 200 MiB runs after the taskstats record and before the reap
    const p = Bun.spawnSync([PY, "-S", "-c", "b = bytearray(200 << 20); b[::4096] = b'x' * len(b[::4096])"]);
    expect(p.exitCode).toBe(0);
    const got = takeSchedRuntime(p.pid, 1, 0);
    expect(got).toBeDefined();
    expectRusage(got!.runtimeNs / 1000, cpuUs(p.resourceUsage!));
    expect(takeSchedRuntime(p.pid, 1, 0)).toBeUndefined();
  });

  test("identity: an entry is not taken for a start outside its fork window, and stays for its own", () => {
    open();
    const p = Bun.spawnSync(["sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"]);
    // a window of the first µs after boot: no process of this test was forked then (a window placed
    // relative to Bun.nanoseconds() held the fork time when the host had been up 1,000–2,000 s)
    expect(takeSchedRuntime(p.pid, 1, 1000)).toBeUndefined();
    const got = takeSchedRuntime(p.pid, 1, 0);
    expect(got?.forkNs).toBeGreaterThan(0);
    expectRusage(got!.runtimeNs / 1000, cpuUs(p.resourceUsage!));
  });

  test("a process forked before the ledger opened: entered then, what it ran before read from its CPU clock", async () => {
    closeSchedRuntime();
    const startedAt = Date.now();
    const child = Bun.spawn(
      [PY, "-S", "-c", "import sys; sum(range(3000000)); sys.stdin.read(); sum(range(3000000))"],
      {
        stdin: "pipe",
      },
    );
    await Bun.sleep(300); // the first sum is done: it waits on stdin
    // the raw entry alone holds only what runs from now on
    open();
    expect(followSchedRuntime(child.pid, 0)).toBe(1);
    expect(followSchedRuntime(child.pid, 0)).toBe(0);
    closeSchedRuntime();
    // the ledger as the recorder uses it: enters the live process and learns what it ran before
    const ledger = openLedger(process.pid, () => [{ pid: child.pid, startedAt }])!;
    await entered(ledger);
    child.stdin.end();
    await child.exited;
    const got = ledger.take(child.pid, startedAt)?.runtimeNs;
    ledger.close();
    const rusage = cpuUs(child.resourceUsage()!);
    expect(got).toBeDefined();
    // below only by what ran between the clock's reading and the entry's (idle here)
    expect(got! / 1000).toBeLessThanOrEqual(rusage + 200);
    expect(got! / 1000).toBeGreaterThanOrEqual(rusage - 20);
  });
});

/** Lines from a pid taker's stdout, one at a time. */
function lineReader(stream: ReadableStream<Uint8Array>) {
  const reader = stream.getReader();
  const dec = new TextDecoder();
  let held = "";
  return async (): Promise<string> => {
    for (;;) {
      const nl = held.indexOf("\n");
      if (nl >= 0) {
        const line = held.slice(0, nl);
        held = held.slice(nl + 1);
        return line;
      }
      const { value, done } = await reader.read();
      if (done) return held;
      held += dec.decode(value);
    }
  };
}

/**
 * Run `true` (followed, reaped at once, not taken) and have `taker` take its pid. Another task of the
 * host can win the pid between the taker's ns_last_pid write and its fork (a thread started then keeps
 * it for good: once in CI): that try's entry is dropped and a new `true` tried, at most 5 times.
 * Returns the process and its fork time as the ledger held it before the pid was taken again.
 */
async function reusedPid(taker: Bun.Subprocess<"pipe", "pipe">, next: () => Promise<string>) {
  for (let i = 0; ; i++) {
    const a = Bun.spawnSync(["true"]);
    const forkNs = takeSchedRuntime(a.pid, 1, 0, true)?.forkNs ?? 0; // before the pid is taken again
    taker.stdin.write(`${a.pid}\n`);
    taker.stdin.flush();
    const taken = Number((await next()).split(" ")[0]);
    if (taken === a.pid || i === 4) {
      expect(taken).toBe(a.pid); // the pid was taken by the taker's fork
      return { a, forkNs };
    }
    takeSchedRuntime(a.pid, 1, 0);
  }
}

describe.skipIf(!probe.available)("scheduler-runtime ledger: pid reuse", () => {
  test("a process outside the tree that takes an ended process's pid before it is taken: none of its runtime goes to the ended one", async () => {
    closeSchedRuntime();
    // forked before the ledger opens: not followed, nor any process it forks. Given a pid, it makes
    // its next fork take it (ns_last_pid, root) and that process runs 200 ms of CPU.
    const other = Bun.spawn(pidTaker(0.2), { stdin: "pipe", stdout: "pipe" });
    try {
      const next = lineReader(other.stdout);
      expect(await next()).toBe("ready");
      open();
      const { a } = await reusedPid(other, next);
      const got = takeSchedRuntime(a.pid, 1, 0);
      expect(got).toBeDefined();
      expectRusage(got!.runtimeNs / 1000, cpuUs(a.resourceUsage!));
    } finally {
      other.kill();
      closeSchedRuntime();
    }
  });
});

describe.skipIf(!probe.available)("scheduler-runtime ledger: a pid set on purpose", () => {
  test("a process of the tree that takes an ended process's pid within the fork window: never taken for the ended one", async () => {
    open();
    // followed (forked after the open); given a pid, its next fork takes it (ns_last_pid, root) and runs
    // 50 ms of CPU — within milliseconds of the ended process's fork, inside the identity window
    const setter = Bun.spawn(pidTaker(0.05), { stdin: "pipe", stdout: "pipe" });
    try {
      const next = lineReader(setter.stdout);
      expect(await next()).toBe("ready"); // started and waiting on stdin
      const { a, forkNs } = await reusedPid(setter, next);
      expect(forkNs).toBeGreaterThan(0);
      const got = takeSchedRuntime(a.pid, forkNs - 1e8, forkNs + 1e8);
      expect(got).toBeDefined();
      expectRusage(got!.runtimeNs / 1000, cpuUs(a.resourceUsage!));
    } finally {
      setter.kill();
    }
  });
});

describe.skipIf(!probe.available)("scheduler-runtime ledger: entering a process", () => {
  test("a record whose pid is another process's by now (start ticks differ): not entered, none of that process's CPU", async () => {
    closeSchedRuntime();
    const other = Bun.spawn([PY, "-S", "-c", "import sys; sum(range(3000000)); sys.stdin.read()"], {
      stdin: "pipe",
    });
    await Bun.sleep(300); // it has run its sum: ~100 ms of CPU its clock holds
    const startedAt = Date.now() - 5000;
    const ledger = openLedger(process.pid, () => [{ pid: other.pid, startedAt, startTicks: 1 }])!;
    await entered(ledger);
    other.stdin.end();
    await other.exited;
    expect(ledger.take(other.pid, startedAt)).toBeUndefined();
    ledger.close();
  });
});

describe.skipIf(!probe.available)("scheduler-runtime ledger: what a late-entered process ran before", () => {
  test("is never added to a later process with its pid", async () => {
    closeSchedRuntime();
    // forked before the open, ~100 ms of CPU by then: entered late, with that as what it ran before
    const startedAt = Date.now();
    const early = Bun.spawn([PY, "-S", "-c", "import sys; sum(range(3000000)); sys.stdin.read()"], {
      stdin: "pipe",
    });
    await Bun.sleep(300);
    const stat = readFileSync(`/proc/${early.pid}/stat`, "latin1");
    const startTicks = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
    const ledger = openLedger(process.pid, () => [{ pid: early.pid, startedAt, startTicks }])!;
    try {
      await entered(ledger);
      // followed from its fork: given a pid, its next fork takes it (ns_last_pid, root), runs 50 ms of
      // CPU and reports that CPU (µs) from wait4
      const setter = Bun.spawn(pidTaker(0.05), { stdin: "pipe", stdout: "pipe" });
      const next = lineReader(setter.stdout);
      expect(await next()).toBe("ready"); // started and waiting on stdin
      early.stdin.end();
      await early.exited; // ended, reaped; the recorder would have taken it — not here
      const at = Date.now();
      setter.stdin.write(`${early.pid}\n`);
      setter.stdin.end();
      const [pid, cpuUsB] = (await next()).trim().split(" ").map(Number);
      expect(pid).toBe(early.pid);
      const got = ledger.take(early.pid, at)?.runtimeNs;
      expect(got).toBeDefined();
      // the later process's own runtime, not plus what the early one ran before the open
      expect(got! / 1000).toBeLessThanOrEqual(cpuUsB! + 200);
    } finally {
      ledger.close();
      early.kill();
    }
  });
});
