/** TaskstatsSource's filter (daemon runs) and native compaction (tracer run): exit records refused are dropped before they are summed. */
import { expect, test } from "bun:test";
import { ExecWatcher } from "../../src/observe/execwatch.ts";
import { probeTaskstats, TaskstatsSource } from "../../src/observe/taskstats.ts";

const probe = process.platform === "linux" ? probeTaskstats() : { available: false, reason: "not Linux" };
if (!probe.available) console.warn(`skipping taskstats filter test: ${probe.reason}`);

test.skipIf(!probe.available)(
  "only the records the filter keeps become figures; it sees tgid and parent",
  async () => {
    const asked = new Map<number, number>();
    const keepPids = new Set<number>();
    const src = new TaskstatsSource({
      pollMs: 20,
      filter: () => (tgid, ppid) => {
        asked.set(tgid, ppid);
        return keepPids.has(tgid);
      },
    });
    const figures: number[] = [];
    src.onExitFigures((f) => figures.push(f.tgid));
    await src.start();
    const pids: number[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const p = Bun.spawn(["/bin/sleep", "0.01"], { stdio: ["ignore", "ignore", "ignore"] });
        if (i % 2 === 0) keepPids.add(p.pid);
        pids.push(p.pid);
        await p.exited;
      }
      await Bun.sleep(200);
    } finally {
      await src.stop();
    }
    for (const pid of pids) expect(asked.get(pid)).toBe(process.pid);
    expect(pids.filter((p) => figures.includes(p))).toEqual(pids.filter((p) => keepPids.has(p)));
  },
);

test.skipIf(!probe.available || !ExecWatcher.start(0))(
  "tracer run's native compaction: the exit records of processes outside the watched tree never reach JavaScript",
  async () => {
    // the tree: a shell that waits, then runs five short processes; the test's own children are outside it
    const root = Bun.spawn(["sh", "-c", "sleep 0.3; for i in 1 2 3 4 5; do /bin/sleep 0.01; done"], {
      stdio: ["ignore", "ignore", "ignore"],
    });
    const watcher = ExecWatcher.start(root.pid)!;
    const asked: number[] = [];
    const records: { tgid: number; ppid: number }[] = [];
    const src = new TaskstatsSource({
      pollMs: 20,
      filter: () => {
        const watched = watcher.watchedNow();
        return (tgid, ppid) => {
          asked.push(tgid);
          return watched(tgid) || watched(ppid);
        };
      },
      compact: (buf) => watcher.compactTaskstats(buf),
      onRecord: (rec) => records.push({ tgid: rec.tgid, ppid: rec.ppid }),
    });
    await src.start();
    const outside: number[] = [];
    try {
      for (let i = 0; i < 10; i++) {
        const p = Bun.spawn(["/bin/sleep", "0.01"], { stdio: ["ignore", "ignore", "ignore"] });
        outside.push(p.pid);
        await p.exited;
      }
      await root.exited;
      await Bun.sleep(200);
    } finally {
      await src.stop();
      watcher.stop();
    }
    // none of the outside processes was decoded, nor asked of the filter (dropped before it)
    for (const pid of outside) {
      expect(records.some((r) => r.tgid === pid)).toBe(false);
      expect(asked.includes(pid)).toBe(false);
    }
    // the tree's processes were: its five children and the root itself
    expect(records.filter((r) => r.ppid === root.pid).length).toBeGreaterThanOrEqual(5);
    expect(records.some((r) => r.tgid === root.pid)).toBe(true);
  },
);
