/**
 * The argv of processes shorter than the recorder's drain interval (100 ms as root): the exec watcher
 * (ffi/execwatch.c) reads it the moment they exec. Thirty 10 ms `sleep`s, each with its own argument,
 * end long before the next drain; each must still be named by its command line.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { probeConnector } from "../../src/observe/connector.ts";
import { cleanupTemp, isolatedEnv, run } from "../helpers/harness.ts";

afterAll(cleanupTemp);

const STEPS = 30;
const script = Array.from({ length: STEPS }, (_, i) => `/bin/sleep 0.01 0.0000${i}`).join("; ");

async function sleepsNamed(extra: Record<string, string> = {}) {
  const env = isolatedEnv(extra);
  const r = await run(["run", "--quiet", "--", "sh", "-c", script], { env });
  expect(r.code).toBe(0);
  const rep = await run(["report", "--json"], { env });
  const { processes } = JSON.parse(rep.stdout) as { processes: { argv: string[] | null; comm: string }[] };
  const named = new Set(
    processes.filter((p) => p.argv?.[0] === "/bin/sleep" && p.argv[1] === "0.01").map((p) => p.argv![2]),
  );
  const sleeps = processes.filter((p) => p.comm === "sleep" || p.argv?.[0] === "/bin/sleep").length;
  return { named: named.size, sleeps };
}

const connector = probeConnector();
describe.skipIf(!connector.available)("argv of short processes", () => {
  test("each 10 ms sleep is named by its own argv; without the watcher most are not", async () => {
    const watched = await sleepsNamed();
    expect(watched.sleeps).toBe(STEPS);
    // a loaded 2-core host can delay the watcher's thread past a 10 ms life now and then
    expect(watched.named).toBeGreaterThanOrEqual(STEPS - 2);
    const unwatched = await sleepsNamed({ TRACER_NO_EXEC_WATCH: "1" });
    expect(unwatched.sleeps).toBe(STEPS);
    expect(unwatched.named).toBeLessThan(watched.named);
  });

  test("the watcher's higher priority stays on its own thread: CMD runs at the caller's nice value", async () => {
    const env = isolatedEnv();
    const r = await run(["run", "--quiet", "--", "sh", "-c", "cut -d' ' -f19 /proc/self/stat"], { env });
    expect(r.code).toBe(0);
    const own = readFileSync("/proc/self/stat", "utf8");
    expect(r.stdout.trim()).toBe(String(own.slice(own.lastIndexOf(")") + 2).split(" ")[16]));
  });
});
