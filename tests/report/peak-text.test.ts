/** A step's peak cell: a range only when its two ends print differently ("38MiB–38MiB" said nothing more). */
import { expect, test } from "bun:test";
import { peakText } from "../../src/report/table.ts";

test("peakText: exact → one figure; a range whose ends print alike → one figure; else a–b", () => {
  expect(peakText({ peakRssKb: 38 * 1024, peakRssUpperKb: 60 * 1024, peakRssExact: true })).toBe("38MiB");
  expect(peakText({ peakRssKb: 38 * 1024, peakRssUpperKb: 38 * 1024 + 3, peakRssExact: false })).toBe(
    "38MiB",
  );
  expect(peakText({ peakRssKb: 38 * 1024, peakRssUpperKb: 60 * 1024, peakRssExact: false })).toBe(
    "38MiB–60MiB",
  );
});
