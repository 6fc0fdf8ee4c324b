/**
 * The process table's tree order (src/run/format.ts treeOrder) reuses the tree and walk order the steps
 * were grouped from when it is given the same list (src/steps/_tree.ts treeOf): the order and depths
 * must be those of a plain depth-first walk — children by start time, then row id — whether the tree
 * was made by groupSteps first, by treeOrder itself, or for a list not in start order (a sorted copy).
 */
import { expect, test } from "bun:test";
import { loadRules } from "../../src/rules/index.ts";
import { treeOrder } from "../../src/run/format.ts";
import { groupSteps } from "../../src/steps/index.ts";
import type { ReportProcessRow } from "../../src/store/index.ts";
import { rng } from "../helpers/rng.ts";

/** a forest of n processes: parents earlier in start order, some starts equal, a few parents unknown */
function forest(n: number, seed: number): ReportProcessRow[] {
  const r = rng(seed);
  const out: ReportProcessRow[] = [];
  let t = 1_000_000;
  for (let i = 0; i < n; i++) {
    t += r(3); // equal starts too: then by row id
    const parent = i === 0 || r(100) < 3 ? null : out[r(i)]!.id;
    out.push({
      id: 10 + i,
      pid: 100 + i,
      parentId: r(100) < 1 ? 999_999 : parent, // a parent outside the list: a root
      comm: "true",
      argv: ["/bin/true", String(i % 7)],
      cwd: "/",
      figures: "taskstats",
      startedAt: t,
      endedAt: t + 1,
      durationUs: 1000,
      exitCode: 0,
      signal: null,
      oomKilled: false,
      oomLimitKb: null,
      userUs: 1,
      systemUs: 1,
      peakRssKb: 10,
      rchar: 0,
      wchar: 0,
      readBytes: 0,
      writeBytes: 0,
    });
  }
  return out;
}

/** the walk, recursively (small trees only): order of ids and depths */
function expected(procs: ReportProcessRow[]): { ids: number[]; depth: number[] } {
  const sorted = [...procs].sort((a, b) => (a.startedAt ?? 0) - (b.startedAt ?? 0) || a.id - b.id);
  const ids = new Set(sorted.map((p) => p.id));
  const kids = new Map<number, ReportProcessRow[]>();
  for (const p of sorted)
    if (p.parentId !== null && ids.has(p.parentId))
      kids.set(p.parentId, [...(kids.get(p.parentId) ?? []), p]);
  const out = { ids: [] as number[], depth: [] as number[] };
  const visit = (p: ReportProcessRow, d: number) => {
    out.ids.push(p.id);
    out.depth.push(d);
    for (const c of kids.get(p.id) ?? []) visit(c, d + 1);
  };
  for (const p of sorted) if (p.parentId === null || !ids.has(p.parentId)) visit(p, 0);
  return out;
}

const shown = (r: ReturnType<typeof treeOrder>) => ({
  ids: r.order.map((p) => p.id),
  depth: [...r.depth.subarray(0, r.order.length)],
});

test("treeOrder is the depth-first walk, with the steps' tree reused or not", () => {
  const rules = loadRules({ files: [] });
  for (const seed of [1, 2, 3]) {
    const procs = forest(2000, seed);
    const want = expected(procs);
    // made by treeOrder itself
    expect(shown(treeOrder(procs))).toEqual(want);
    // made by groupSteps first, then reused
    const again = forest(2000, seed);
    groupSteps(again, rules);
    expect(shown(treeOrder(again))).toEqual(want);
    // a list out of start order: treeOrder sorts a copy of its own
    const shuffled = [...procs].reverse();
    expect(shown(treeOrder(shuffled))).toEqual(want);
  }
});
