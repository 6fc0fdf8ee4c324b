/**
 * The step table's column widths are computed from the steps' numbers (src/report/_widths.ts), not by
 * formatting 550,000 cells: each width function must give exactly the columns of its formatter's text,
 * for every value, or the table's padding (and so its bytes) would change.
 */
import { expect, test } from "bun:test";
import {
  bytesColumns,
  cpuColumns,
  intColumns,
  offsetColumns,
  secondsColumns,
  stepColumnWidths,
} from "../../src/report/_widths.ts";
import { startOffset, stepCells } from "../../src/report/table.ts";
import type { Report } from "../../src/report/types.ts";
import { OWN_TEXT, columns } from "../../src/run/table.ts";
import { bytes, cpuText, exitText, seconds } from "../../src/run/units.ts";
import type { Step } from "../../src/steps/index.ts";

// a fixed-seed generator: the same values on every run
let seed = 0x2545f491;
const rand = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32;
};
/** values across every magnitude, and the edges where a formatter's rounding adds a digit */
function values(): number[] {
  const out = [0, -0, 1, 9, 10, 99, 100, 999, 1000, 1023, 1024, 1025, -1, -1024, 0.5, 1.5, 1023.5, NaN];
  for (let p = 0; p < 16; p++) {
    const b = 1024 ** (p / 3);
    for (const f of [0.9999, 0.99995, 0.9995, 0.995, 0.95, 1, 1.0001, 9.95, 9.9995, 99.95, 599.95]) {
      out.push(Math.round(b * f), b * f, Math.round(10 ** p * f), 10 ** p * f);
    }
  }
  for (const u of [1e6, 1e7, 1e8, 6e8, 3.6e9, 1e3])
    for (const d of [-1, 0, 1, -500, 500, -50000, 50000])
      out.push(
        u * 9.999 + d,
        u * 10 + d,
        u * 99.9 + d,
        u * 99.95 + d,
        u * 100 + d,
        u * 599.9 + d,
        u * 599.95 + d,
        u * 600 + d,
        u + d,
      );
  for (let i = 0; i < 20000; i++) {
    const v = 10 ** (rand() * 16);
    out.push(Math.floor(v), v, Math.floor(v) * 1024);
  }
  for (let e = 0; e <= 53; e++) out.push(2 ** e - 1, 2 ** e, 2 ** e + 1, 1024 ** (e / 10) * 10.2);
  return out;
}

test("each width function gives exactly its formatter's columns, edge values included", () => {
  for (const v of values()) {
    if (Number.isInteger(v)) expect([v, intColumns(v)]).toEqual([v, String(v).length]);
    expect([v, bytesColumns(v)]).toEqual([v, columns(bytes(v))]);
    expect([v, secondsColumns(v)]).toEqual([v, columns(seconds(v))]);
    expect([v, cpuColumns(v)]).toEqual([v, columns(cpuText(v))]);
    expect([v, offsetColumns(v, 0)]).toEqual([v, columns(startOffset(v, 0))]);
    expect([v, offsetColumns(1e12 + v, 1e12)]).toEqual([v, columns(startOffset(1e12 + v, 1e12))]);
  }
  // the process table's own columns (src/run/proctable.ts) are made of these formatters' text
  const notOwn: string[] = [];
  for (const v of values())
    for (const text of [
      bytes(v),
      seconds(v),
      cpuText(v),
      startOffset(v, 0),
      exitText(v, null),
      exitText(null, v),
    ])
      if (!OWN_TEXT.test(text)) notOwn.push(text);
  expect(notOwn).toEqual([]);
  for (const n of [null, undefined]) {
    expect(bytesColumns(n)).toBe(1);
    expect(secondsColumns(n)).toBe(1);
    expect(cpuColumns(n)).toBe(1);
  }
});

test("stepColumnWidths is the widest formatted cell of each column, over varied steps", () => {
  const vs = values().filter((v) => Number.isFinite(v) && v >= 0);
  const pick = () => vs[Math.floor(rand() * vs.length)]!;
  for (let round = 0; round < 40; round++) {
    const steps: Step[] = [];
    const n = 1 + Math.floor(rand() * 300);
    for (let i = 0; i < n; i++) {
      const procs = 1 + Math.floor(rand() * (rand() < 0.1 ? 5000 : 3));
      const unk = () => (rand() < 0.7 ? 0 : Math.floor(rand() * (procs + 1)));
      const signal = rand() < 0.1 ? Math.floor(rand() * 64) : null;
      const exitCode = rand() < 0.1 ? null : Math.floor(rand() * (rand() < 0.5 ? 2 : 256));
      const peak = rand() < 0.1 ? 0 : Math.floor(pick() / 1024);
      steps.push({
        index: Math.floor(pick()),
        processIds: Array.from({ length: procs }, (_, k) => k),
        startedAt: rand() < 0.05 ? Number.POSITIVE_INFINITY : 1e12 + pick() - (rand() < 0.1 ? 5000 : 0),
        durationMs: rand() < 0.1 ? null : pick() / 1000,
        exitCode,
        signal,
        oomKilled: rand() < 0.05,
        failed: signal !== null || (exitCode ?? 0) !== 0 || rand() < 0.05,
        cpuUs: pick(),
        peakRssKb: peak,
        peakRssUpperKb: peak + Math.floor(pick() / 1024),
        peakRssExact: rand() < 0.5,
        rchar: pick(),
        wchar: pick(),
        readBytes: pick(),
        writeBytes: pick(),
        unknown: {
          cpu: unk(),
          peakRss: unk(),
          rchar: unk(),
          wchar: unk(),
          readBytes: unk(),
          writeBytes: unk(),
        },
      } as unknown as Step);
    }
    const r = { run: { startedAt: 1e12 }, steps } as unknown as Report;
    // the step table's cells as table.ts writes them (a styled cell's text), the STEP label aside, measured
    const expected = new Array<number>(11).fill(0);
    const notOwn: string[] = [];
    for (let i = 0; i < steps.length; i++) {
      const cells = stepCells(r, i, "").slice(0, -1);
      cells.forEach((c, k) => {
        const text = typeof c === "string" ? c : c.text;
        expected[k] = Math.max(expected[k]!, columns(text));
        // writeTable takes these columns as tracer's own text, unlooked at (OWN_TEXT)
        if (!OWN_TEXT.test(text)) notOwn.push(text);
      });
    }
    expect(stepColumnWidths(r)).toEqual(expected);
    expect(notOwn).toEqual([]);
  }
});
