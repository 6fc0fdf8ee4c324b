/**
 * cgroupPath (src/observe/procfs.ts) reads /proc/PID/cgroup's text without a regex on the common path:
 * it must give exactly what the two regexes it replaces gave, hostile cgroup names included (a name may
 * hold \r, ':' or ',', and the text is latin1).
 */
import { expect, test } from "bun:test";
import { cgroupPath } from "../../src/observe/procfs.ts";

const V1 = /^\d+:(?:[^:\n]*,)?memory(?:,[^:\n]*)?:(.*)$/m;
const V2 = /^0::(.*)$/m;
const regexes = (t: string) => (V1.exec(t) ?? V2.exec(t))?.[1];

test("the kernel's own forms: v2, v1 with memory alone or among other controllers, hybrid", () => {
  const cases: [string, string | undefined][] = [
    ["0::/user.slice/user-1000.slice/session-2.scope", "/user.slice/user-1000.slice/session-2.scope"],
    ["12:pids:/a\n5:memory:/mem/x\n0::/unified", "/mem/x"],
    ["3:cpu,memory,blkio:/grp", "/grp"],
    ["3:cpu,memoryx:/no\n0::/yes", "/yes"],
    ["3:cpu,xmemory:/no", undefined],
    ["4:memory:/a:b:c", "/a:b:c"],
    ["0::/", "/"],
    ["", undefined],
  ];
  for (const [t, want] of cases) {
    expect(cgroupPath(t)).toBe(want);
    expect(regexes(t)).toBe(want);
  }
});

// the loop's texts (no \r) and the hostile ones (\r, U+2028: the regexes' own path)
const PLAIN = [
  "0",
  "1",
  "12",
  ":",
  "::",
  ",",
  "memory",
  "memory,",
  ",memory",
  "cpu",
  "/",
  "/a b",
  "\n",
  " ",
  "x",
  "\u0085",
  "é",
  "0::",
  "\n0::",
  "\n3:",
];
const HOSTILE = [...PLAIN, "\r", "\r\n", "\u2028"];

test.each([
  ["plain", PLAIN],
  ["hostile", HOSTILE],
])("the same answer as the regexes over 200,000 random %s texts of cgroup-like pieces", (_, pieces) => {
  let seed = 15;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  let differ = 0;
  let found = 0;
  for (let k = 0; k < 200_000; k++) {
    let t = "";
    const n = 1 + rand(14);
    for (let i = 0; i < n; i++) t += pieces[rand(pieces.length)];
    const want = regexes(t);
    if (want !== undefined) found++;
    if (cgroupPath(t) !== want) differ++;
  }
  expect(differ).toBe(0);
  expect(found).toBeGreaterThan(10_000); // the texts do reach the regexes' matches
});
