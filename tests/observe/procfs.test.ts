/** /proc readers on real processes, and the parser on a command name built to confuse it. */
import { afterAll, expect, test } from "bun:test";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import {
  childrenOf,
  readCgroup,
  readCmdline,
  readCwd,
  readIo,
  readStat,
  readStatus,
  readThreadsIo,
  ticksToEpochMs,
} from "../../src/observe/procfs.ts";
import { cleanupTemp, tempDir, waitFor } from "../helpers/harness.ts";

afterAll(cleanupTemp);

test("a command name with spaces and parentheses: fields are counted from the last ')'", async () => {
  // a real process whose comm is "a) b (c" : copy sleep under that name
  const dir = tempDir();
  const exe = join(dir, "a) b (c");
  copyFileSync("/bin/sleep", exe);
  Bun.spawnSync(["chmod", "755", exe]);
  const p = Bun.spawn([exe, "5"], { cwd: dir });
  try {
    // the exec sets comm before the new image's argv is in place (cmdline reads empty in between)
    await waitFor(() => readStat(p.pid)?.comm === "a) b (c" && !!readCmdline(p.pid)?.length, 5000, "exec");
    const st = readStat(p.pid)!;
    expect(st.ppid).toBe(process.pid);
    expect(st.state).not.toBe("Z"); // R, S, or D while paging in
    expect(readCmdline(p.pid)).toEqual([exe, "5"]);
    expect(readCwd(p.pid)).toBe(dir);
    // its start time is now, give or take the 10 ms tick and scheduling
    expect(Math.abs(ticksToEpochMs(st.startTicks) - Date.now())).toBeLessThan(5000);
    expect(childrenOf(process.pid)).toContain(p.pid);
  } finally {
    p.kill();
    await p.exited;
  }
});

test("status, io and cgroup of this process", () => {
  const status = readStatus(process.pid)!;
  expect(status.vmHwmKb).toBeGreaterThanOrEqual(status.vmRssKb);
  expect(status.vmRssKb).toBeGreaterThan(1000);
  const io = readIo(process.pid)!;
  expect(io.rchar).toBeGreaterThan(0);
  expect(readCgroup(process.pid)).toMatch(/^\//);
});

test("status lines read in place agree with the file; one thread's I/O is its task directory's sum", async () => {
  const text = await Bun.file(`/proc/${process.pid}/status`).text();
  const line = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(text)![1]);
  const status = readStatus(process.pid)!;
  expect(status.vmPeakKb).toBeGreaterThanOrEqual(status.vmHwmKb);
  // Threads and VmPeak move little between two reads of a settled test process
  expect(status.threads).toBe(line("Threads"));
  expect(status.vmPeakKb).toBe(line("VmPeak"));
  // a process that reads 1 MiB and then sleeps, single-threaded: the direct read and the sum agree
  const p = Bun.spawn(["sh", "-c", "head -c 1048576 /dev/zero > /dev/null; exec sleep 5"]);
  try {
    await waitFor(() => readCmdline(p.pid)?.[0] === "sleep", 5000, "the sleep");
    expect(readStat(p.pid)!.numThreads).toBe(1);
    const direct = readThreadsIo(p.pid, 1)!;
    expect(direct).toEqual(readThreadsIo(p.pid)!);
    expect(direct.rchar).toBeGreaterThan(0);
  } finally {
    p.kill();
    await p.exited;
  }
});

test("a zombie's stat carries its wait status (field 52); a gone pid reads as undefined", async () => {
  // the subshell exits 7 and stays a zombie: its parent exec'd into sleep, which never waits
  const p = Bun.spawn(["sh", "-c", "(exit 7) & exec sleep 2"]);
  try {
    await waitFor(() => childrenOf(p.pid).some((c) => readStat(c)?.state === "Z"), 5000, "the zombie");
    const z = readStat(childrenOf(p.pid)[0]!)!;
    expect(z.state).toBe("Z");
    expect(z.exitStatus).toBe(7 << 8);
  } finally {
    p.kill();
    await p.exited;
  }
  expect(readStat(p.pid)).toBeUndefined();
  expect(readCmdline(p.pid)).toBeUndefined();
});

test("system metrics: memory, swap, load and the disk of a path are sane; CPU % is a share", async () => {
  const { SystemSampler } = await import("../../src/observe/system.ts");
  const s = new SystemSampler(tempDir());
  await Bun.sleep(50);
  const m = s.read();
  expect(m.memTotalKb).toBeGreaterThan(0);
  expect(m.memUsedKb).toBeGreaterThan(0);
  expect(m.memUsedKb).toBeLessThanOrEqual(m.memTotalKb);
  expect(m.swapUsedKb).toBeLessThanOrEqual(m.swapTotalKb);
  expect(m.load1).toBeGreaterThanOrEqual(0);
  expect(m.diskTotalBytes).toBeGreaterThan(m.diskUsedBytes);
  expect(m.diskUsedBytes).toBeGreaterThan(0);
  expect(m.cpuPct).toBeGreaterThanOrEqual(0);
  expect(m.cpuPct).toBeLessThanOrEqual(100);
});
