/** Live samples: `--interval 0.1` samples a busy step's CPU %, RSS and I/O, and the host's metrics, into the store. */
import { afterAll, expect, test } from "bun:test";
import { cleanupTemp, isolatedEnv, run } from "../helpers/harness.ts";
import { PY, openDb } from "./_helpers.ts";

afterAll(cleanupTemp);

test("a busy step sampled every 0.1 s: high CPU %, its RSS, system metrics beside", async () => {
  const env = isolatedEnv();
  const busy =
    "import time\nb = bytearray(30 << 20)\nb[::4096] = b'x' * len(b[::4096])\nt = time.time()\nwhile time.time() - t < 1.0: pass";
  const r = await run(["run", "--quiet", "--interval", "0.1", "--", PY, "-c", busy], { env });
  expect(r.code).toBe(0);
  const db = openDb(env);
  const rows = db
    .query(
      `SELECT s.cpu_pct AS cpu, s.rss_kb AS rss FROM samples s JOIN processes p ON p.id = s.process_id
       WHERE p.argv LIKE '%bytearray%' ORDER BY s.at`,
    )
    .all() as { cpu: number; rss: number }[];
  const metrics = db.query("SELECT cpu_pct, mem_total_kb, load1 FROM system_metrics").all() as {
    cpu_pct: number;
    mem_total_kb: number;
  }[];
  db.close();
  expect(rows.length).toBeGreaterThanOrEqual(5);
  // a spinning loop uses (close to) a whole core whenever it runs; the median sample shows it
  const cpus = rows.map((x) => x.cpu).sort((a, b) => a - b);
  expect(cpus[Math.floor(cpus.length / 2)]!).toBeGreaterThan(30);
  expect(Math.max(...rows.map((x) => x.rss))).toBeGreaterThan(30 * 1024);
  expect(metrics.length).toBeGreaterThanOrEqual(5);
  expect(metrics.every((m) => m.mem_total_kb > 0 && m.cpu_pct >= 0 && m.cpu_pct <= 100)).toBe(true);
});

test("--interval out of range is a usage error (2)", async () => {
  const r = await run(["run", "--interval", "0", "--", "true"], { env: isolatedEnv() });
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("--interval");
});
