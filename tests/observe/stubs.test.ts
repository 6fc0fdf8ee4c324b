/**
 * The recorder's stub table (src/observe/_stubs.ts) answers as a Map of the same stubs would, through
 * growth, deletions (backward shifts across the table's wrap-around), expiry and shrinking.
 */
import { expect, test } from "bun:test";
import { type Stub, StubTable } from "../../src/observe/_stubs.ts";
import { rng } from "../helpers/rng.ts";

const stub = (pid: number, t: number, startKnown: boolean): Stub => ({
  startTicks: pid * 7 + t,
  startedAt: startKnown ? t + 0.25 : undefined,
  endedAt: t + 1.5,
  rowId: pid + 1_000_000,
  forgetAt: t + 20_000,
});

test("the table answers as a Map: set, get, has, delete, expiry, 200,000 operations", () => {
  const next = rng(20261130);
  const table = new StubTable();
  const model = new Map<number, Stub>();
  let maxSize = 0;
  for (let t = 0; t < 200_000; t++) {
    // pids from a small range (reused, as the kernel does) and a few far apart
    const pid = next(10) === 0 ? 1 + next(4_000_000) : 300 + next(40_000);
    const op = next(10);
    if (op < 6) {
      const s = stub(pid, t, op !== 0);
      table.set(pid, s);
      model.set(pid, s);
    } else if (op < 8) {
      expect(table.delete(pid)).toBe(model.delete(pid));
    } else {
      expect(table.has(pid)).toBe(model.has(pid));
      expect(table.get(pid)).toEqual(model.get(pid));
    }
    if (t % 997 === 0) {
      // sometimes a long pause: everything expires and the table shrinks
      const now = next(40) === 0 ? t + 30_000 : t;
      table.expire(now);
      for (const [p, s] of model) if (s.forgetAt < now) model.delete(p);
      expect(table.size).toBe(model.size);
      for (const [p, s] of model) expect(table.get(p)).toEqual(s);
    }
    maxSize = Math.max(maxSize, model.size);
  }
  expect(maxSize).toBeGreaterThan(5_000); // it grew well past its first 1,024 slots
  expect(table.size).toBe(model.size);
});
