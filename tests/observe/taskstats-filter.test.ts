/** TaskstatsSource's filter (daemon runs): exit records it refuses are dropped before they are summed. */
import { expect, test } from "bun:test";
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
