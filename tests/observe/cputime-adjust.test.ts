/**
 * adjustCputime against kernel/sched/cputime.c cputime_adjust, branch by branch (the real-process
 * comparison with wait4 is tests/run/oracle.test.ts "as wait4 splits them"): the ratio of the tick
 * samples, the all-user and all-system cases, the floor at an earlier report (prev_cputime), and a
 * runtime not above that report.
 */
import { expect, test } from "bun:test";
import { adjustCputime } from "../../src/observe/_figures.ts";

const ticks = (userNs: number, systemNs: number, prevUserNs = 0, prevSystemNs = 0) => ({
  userNs,
  systemNs,
  prevUserNs,
  prevSystemNs,
});

test("the runtime shared in the ticks' ratio, each part truncated to µs", () => {
  // stime = 12 ms × 10,000,001 / 16 ms = 7,500,000.75 ns → 7,500,000 (integer division), user the rest
  expect(adjustCputime(10_000_001, ticks(4e6, 12e6))).toEqual({ userUs: 2500, systemUs: 7500 });
  // a product beyond 2^53 (hours of CPU) stays exact: 3 h runtime, ticks 1:2
  const h3 = 3 * 3600 * 1e9 + 7;
  expect(adjustCputime(h3, ticks(3600e9, 7200e9))).toEqual({
    userUs: Math.floor((h3 - Math.floor((h3 * 2) / 3)) / 1000),
    systemUs: Math.floor(Math.floor((h3 * 2) / 3) / 1000),
  });
});

test("no system sample: all user; no user sample: all system", () => {
  expect(adjustCputime(1_234_567, ticks(0, 0))).toEqual({ userUs: 1234, systemUs: 0 });
  expect(adjustCputime(1_234_567, ticks(4e6, 0))).toEqual({ userUs: 1234, systemUs: 0 });
  expect(adjustCputime(1_234_567, ticks(0, 4e6))).toEqual({ userUs: 0, systemUs: 1234 });
});

test("never below what an earlier report gave (prev_cputime)", () => {
  // the ratio gives system 5 ms of 10, an earlier report said 6 ms: system 6, user the rest
  expect(adjustCputime(10e6, ticks(4e6, 4e6, 1e6, 6e6))).toEqual({ userUs: 4000, systemUs: 6000 });
  // the ratio's user (5 ms) below an earlier 5.5 ms: user 5.5, system the rest
  expect(adjustCputime(10e6, ticks(4e6, 4e6, 5.5e6, 4e6))).toEqual({ userUs: 5500, systemUs: 4500 });
  // a runtime not above the earlier report: that report, as is
  expect(adjustCputime(9e6, ticks(4e6, 4e6, 3e6, 6e6))).toEqual({ userUs: 3000, systemUs: 6000 });
});
