/** bytes() (src/run/units.ts) writes sizes without toFixed where the value is exact: the same text as toFixed. */
import { expect, test } from "bun:test";
import { bytes } from "../../src/run/units.ts";

/** the definition: toFixed(1) under 10 of a unit, toFixed(0) from 10 */
function byToFixed(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v}B` : `${v.toFixed(v < 10 ? 1 : 0)}${units[i]}`;
}

test("bytes gives toFixed's digits at every rounding edge of every unit", () => {
  const xs: number[] = [0, 1, 1023, 1024, 1025, 10239, 10240, 1048575, 1048576];
  // a tie (x.x5 or x.5 of a unit) and its neighbours, in each unit
  for (let i = 1; i <= 4; i++)
    for (let m = 1; m < 1024; m += 7)
      for (const f of [0.05, 0.25, 0.5, 0.95])
        for (let d = -2; d <= 2; d++) xs.push(Math.round((m + f) * 1024 ** i) + d);
  xs.push(2 ** 50 * 1500, 2 ** 53, -1, -4096, 1536.5, Number.NaN, Number.POSITIVE_INFINITY);
  let wrong = 0;
  for (const x of xs) if (bytes(x) !== byToFixed(x)) wrong++;
  expect(wrong).toBe(0);
  expect(bytes(1536)).toBe("1.5KiB");
  expect(bytes(10189)).toBe("10.0KiB"); // 9.95… rounds up to 10.0 (toFixed(1): one decimal under 10)
  expect(bytes(10 * 1024 * 1024 - 1)).toBe("10.0MiB");
  expect(bytes(10 * 1024 * 1024)).toBe("10MiB");
  expect(bytes(null)).toBe("-");
});
