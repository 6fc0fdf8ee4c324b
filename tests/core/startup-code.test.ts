/**
 * `tracer run` drops the executable's start-up pages once it records (src/core/startup-code.ts, issue
 * 15): only the read-only, never-written mappings of the executable are dropped (a written page would
 * be lost), and a process that dropped them runs on, mapping back from the page cache what it uses.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { droppableRanges } from "../../src/core/startup-code.ts";

/** the mappings of a compiled tracer as /proc/PID/smaps showed them (fields trimmed), and libc's */
const SMAPS = `00200000-01a39000 r--p 00000000 fe:00 5916150                            /opt/tracer/tracer
Rss:                5156 kB
Anonymous:             0 kB
01a40000-0684a000 r-xp 01838000 fe:00 5916150                            /opt/tracer/tracer
Rss:               29896 kB
Anonymous:             0 kB
0684a000-0685f000 rw-p 06641000 fe:00 5916150                            /opt/tracer/tracer
Rss:                  84 kB
Anonymous:            52 kB
0685f000-06867000 r--p 06656000 fe:00 5916150                            /opt/tracer/tracer
Rss:                  32 kB
Anonymous:            12 kB
06867000-06e4b000 rw-p 0665e000 fe:00 5916150                            /opt/tracer/tracer
Rss:                2596 kB
Anonymous:           120 kB
06e4b000-06e4c000 r--p 06c42000 fe:00 5916150                            /opt/tracer/tracer
Rss:                   4 kB
7f0ae21dd000-7f0ae2333000 r-xp 00026000 fe:00 339380                     /usr/lib/x86_64-linux-gnu/libc.so.6
Rss:                1228 kB
Anonymous:             0 kB
7f0ae2386000-7f0ae238a000 r--p 001cf000 fe:00 339380                     /usr/lib/x86_64-linux-gnu/libc.so.6
Rss:                  16 kB
Anonymous:            16 kB
`;

test("dropped: the executable's read-only mappings without a written page, nothing else", () => {
  // the program headers are in the first mapping of the executable
  expect(droppableRanges(SMAPS, 0x200040)).toEqual([
    { start: 0x200000, end: 0x1a39000 },
    { start: 0x1a40000, end: 0x684a000 },
  ]);
  // the relocation read-only part (copied pages), writable data, a mapping without the field: kept
  // not the executable: libc's own read-only code would be dropped, never tracer's
  expect(droppableRanges(SMAPS, 0x7f0ae21dd100)).toEqual([{ start: 0x7f0ae21dd000, end: 0x7f0ae2333000 }]);
  expect(droppableRanges(SMAPS, 0x1000)).toEqual([]);
});

test.skipIf(process.platform !== "linux")(
  "a process that dropped them: its file-backed RSS falls, and it runs on",
  () => {
    const script = `
      const { releaseStartupCode } = await import(${JSON.stringify(join(import.meta.dir, "../../src/core/startup-code.ts"))});
      const rssFile = () => Number(/RssFile:\\s+(\\d+)/.exec(require("node:fs").readFileSync("/proc/self/status", "latin1"))[1]);
      const before = rssFile();
      const bytes = releaseStartupCode();
      const after = rssFile();
      // code mapped back as it runs: JSON, regexes, a sort
      const work = JSON.stringify([3, 1, 2].sort()).replace(/\\d/g, "n");
      console.log(JSON.stringify({ before, after, bytes, work }));
    `;
    const p = Bun.spawnSync([process.execPath, "-e", script]);
    expect(p.stderr.toString()).toBe("");
    const r = JSON.parse(p.stdout.toString());
    expect(r.work).toBe("[n,n,n]");
    expect(r.bytes).toBeGreaterThan(0);
    expect(r.after).toBeLessThan(r.before);
  },
);
