/**
 * `tracer run`'s closing line and `tracer runs` give one run one wall time (they differed by tracer's
 * start-up and final drain: 0.145 against 0.161 s, found by the newcomer test).
 */
import { afterAll, expect, test } from "bun:test";
import { cleanupTemp, isolatedEnv, run } from "../helpers/harness.ts";

afterAll(cleanupTemp);

test("the closing line's wall is the stored run's, as runs shows it", async () => {
  const env = isolatedEnv();
  const r = await run(["run", "--", "sh", "-c", "sleep 0.2"], { env });
  expect(r.code).toBe(0);
  const said = /, (\d+\.\d{3})s, exit 0,/.exec(r.stderr)?.[1];
  expect(said).toBeDefined();
  const [row] = JSON.parse((await run(["runs", "--json"], { env })).stdout) as {
    startedAt: number;
    endedAt: number;
  }[];
  expect(said).toBe(((row!.endedAt - row!.startedAt) / 1000).toFixed(3));
  const table = (await run(["runs"], { env })).stdout;
  expect(table).toContain(`${said}s`);
});
