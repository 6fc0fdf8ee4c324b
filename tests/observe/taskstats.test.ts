/**
 * The taskstats exit listener against real processes: exact peak RSS, O_DIRECT write bytes, exit
 * codes, signals, and a multi-threaded process summed into one group. Needs root (CAP_NET_ADMIN).
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { probeTaskstats, TaskstatsSource } from "../../src/observe/taskstats.ts";
import type { ExitFigures } from "../../src/observe/types.ts";
import { cProgram } from "../helpers/bigrun.ts";
import { cleanupTemp, tempDir } from "../helpers/harness.ts";
import { oracleBinary, readTruths } from "../oracle/index.ts";

const probe = process.platform === "linux" ? probeTaskstats() : { available: false, reason: "not Linux" };
if (!probe.available) console.warn(`skipping taskstats tests: ${probe.reason}`);

const started: TaskstatsSource[] = [];
afterEach(async () => {
  for (const s of started.splice(0)) await s.stop();
});
afterAll(cleanupTemp);

async function listen() {
  const src = new TaskstatsSource();
  const figures: ExitFigures[] = [];
  src.onExitFigures((f) => figures.push(f));
  started.push(src);
  await src.start();
  return { src, figures };
}

/** Run argv to completion and return its exit figures (waits for them to arrive). */
async function figuresOf(figures: ExitFigures[], argv: string[], env?: Record<string, string>) {
  const p = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe", env });
  const stdout = await new Response(p.stdout).text();
  await p.exited;
  const end = Date.now() + 5000;
  const find = () => figures.find((x) => x.tgid === p.pid);
  while (!find() && Date.now() < end) await Bun.sleep(10);
  const f = find();
  if (!f) throw new Error(`no exit figures for ${argv.join(" ")} (pid ${p.pid})`);
  return { f, stdout, pid: p.pid };
}

/** the scheduler tick at the lowest HZ Linux builds with (100): one unaccounted slice is shorter */
const TICK_US = 10_000;

const within = (got: number, want: number, fraction: number) => Math.abs(got - want) <= want * fraction;

/**
 * Perl (in every Debian base system) allocating and touching 200 MiB, then printing its own VmHWM
 * (KiB) — the truth — just before exit 3. A JIT runtime keeps growing while it exits; perl does not.
 */
const TOUCH_200_MIB = `
my $x = ""; vec($x, 200 * 1024 * 1024 - 1, 8) = 1;
for (my $i = 0; $i < length $x; $i += 4096) { vec($x, $i, 8) = 1 }
open(my $f, "<", "/proc/self/status");
while (<$f>) { print "$1\\n" if /^VmHWM:\\s+(\\d+)/ }
exit 3;
`;

describe.skipIf(!probe.available)("taskstats", () => {
  test("probe registers for every CPU and sees a record arrive", () => {
    expect(probe.available).toBe(true);
    expect(probe.reason).toMatch(/^exit records arrive \(CPUs 0/);
  });

  test("a process touching 200 MiB: peak RSS within 1 % of its own VmHWM, exit code 3", async () => {
    const { figures } = await listen();
    const { f, stdout } = await figuresOf(figures, ["perl", "-e", TOUCH_200_MIB]);
    const vmHwmKb = Number(stdout.trim());
    expect(vmHwmKb).toBeGreaterThanOrEqual(200 * 1024);
    expect(within(f.peakRssKb, vmHwmKb, 0.01)).toBe(true);
    expect(f.exitCode).toBe(3);
    expect(f.signal).toBeUndefined();
    expect(f.comm).toBe("perl");
    expect(f.userUs + f.systemUs).toBeGreaterThan(0);
    expect(f.peakVmKb).toBeGreaterThanOrEqual(f.peakRssKb);
  });

  test("dd oflag=direct of 50 MiB: write_bytes within 1 %", async () => {
    const { figures } = await listen();
    const out = join(tempDir(), "out");
    const { f } = await figuresOf(figures, [
      "dd",
      "if=/dev/zero",
      `of=${out}`,
      "bs=1M",
      "count=50",
      "oflag=direct",
    ]);
    expect(f.comm).toBe("dd");
    expect(within(f.writeBytes, 50 * 1024 * 1024, 0.01)).toBe(true);
    expect(f.wchar).toBe(50 * 1024 * 1024);
    expect(f.exitCode).toBe(0);
  });

  test("sh -c 'exit 3' → 3; SIGKILL → signal 9", async () => {
    const { figures } = await listen();
    const { f: three } = await figuresOf(figures, ["sh", "-c", "exit 3"]);
    expect(three.exitCode).toBe(3);
    const { f: killed } = await figuresOf(figures, ["sh", "-c", "kill -9 $$"]);
    expect(killed.signal).toBe(9);
    expect(killed.exitCode).toBeUndefined();
  });

  test("a multi-threaded process (Bun) is one group: threads' CPU and I/O summed", async () => {
    const { figures } = await listen();
    // every thread of Bun writes via its own fd; the main thread exits with 5
    const script = `
      const w = new Worker(URL.createObjectURL(new Blob(["require('node:fs').writeFileSync('/dev/null', Buffer.alloc(3 << 20)); postMessage(1)"])));
      w.onmessage = () => { require("node:fs").writeFileSync("/dev/null", Buffer.alloc(1 << 20)); process.exit(5); };
    `;
    const { f } = await figuresOf(figures, [process.execPath, "-e", script], {
      ...(process.env as Record<string, string>),
      BUN_BE_BUN: "1",
    });
    expect(f.exitCode).toBe(5);
    // the Worker thread's 3 MiB and the main thread's 1 MiB, plus whatever Bun writes itself
    expect(f.wchar).toBeGreaterThanOrEqual(4 << 20);
    expect(figures.filter((x) => x.tgid === f.tgid)).toHaveLength(1);
  });

  test("200 threads one after another: CPU within one tick of wait4 rusage (runtime probes), never above", async () => {
    const { figures } = await listen();
    // each thread spins 10 ms; main rests 1 s after the last join, so the group is probed once every
    // worker is gone and only the main thread's last slice and exit can be missing
    const out = join(tempDir(), "truth.jsonl");
    const p = Bun.spawn([oracleBinary(), out, cProgram("threads"), "seq", "200", "10", "1000"], {
      stdout: "ignore",
    });
    expect(await p.exited).toBe(0);
    const truth = readTruths(out)[0]!;
    const end = Date.now() + 5000;
    while (!figures.some((x) => x.tgid === truth.pid) && Date.now() < end) await Bun.sleep(10);
    const f = figures.find((x) => x.tgid === truth.pid)!;
    const rusageUs = truth.userUs + truth.systemUs;
    // never above (1 µs: rusage truncates user and system to µs separately)
    expect(f.userUs + f.systemUs).toBeLessThanOrEqual(rusageUs + 1);
    // without the probes each of the 200 records lacks its thread's last slice: 20–90 ms in all here
    expect(rusageUs - (f.userUs + f.systemUs)).toBeLessThanOrEqual(TICK_US + 2000);
  }, 60_000);

  test("elapsed and CPU of a busy process are plausible", async () => {
    const { figures } = await listen();
    const { f } = await figuresOf(figures, ["sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"]);
    expect(f.userUs + f.systemUs).toBeGreaterThan(0);
    // CPU time cannot exceed elapsed time for a single-threaded process (4 ms accounting steps)
    expect(f.userUs + f.systemUs).toBeLessThanOrEqual(f.elapsedUs + 8000);
    expect(f.beginSec).toBeGreaterThan(Date.now() / 1000 - 60);
  });
});
