/**
 * A collector that refuses one item of a batch (HTTP 400: it cannot take the request) made tracer drop
 * the whole batch, up to 512 spans of this run and others. The exporter now sends the refused batch in
 * halves until the item it refuses is alone, and drops only that one. Real binary, loopback collector
 * refusing any request holding one process's marker argument.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { symlinkSync } from "node:fs";
import { join } from "node:path";
import { BIN, cleanupTemp, ensureBuilt, isolatedEnv, tempDir } from "../helpers/harness.ts";

beforeAll(ensureBuilt);
afterAll(cleanupTemp);

test("a batch with one item the collector refuses: the others are sent, that one alone is dropped", async () => {
  const accepted: string[] = [];
  let refused = 0;
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const body = await req.text();
      if (body.includes("REFUSED_MARKER")) {
        refused++;
        return new Response("bad item", { status: 400 });
      }
      accepted.push(body);
      return Response.json({});
    },
  });
  try {
    const env = isolatedEnv();
    // ten processes, one of them named with the marker (a span carries its program's path)
    const dir = tempDir();
    for (const name of [...Array.from({ length: 9 }, (_, i) => `GOOD_${i + 1}`), "REFUSED_MARKER"])
      symlinkSync("/bin/true", join(dir, name));
    const script = "for i in 1 2 3 4 5 6 7 8 9; do ./GOOD_$i; done; ./REFUSED_MARKER";
    const p = Bun.spawn(
      [
        BIN,
        "run",
        "--name",
        "one-bad",
        "--otlp-endpoint",
        `http://127.0.0.1:${server.port}`,
        "--otlp-insecure",
        "--",
        "sh",
        "-c",
        script,
      ],
      { env, cwd: dir, stdin: "ignore", stdout: "pipe", stderr: "pipe" },
    );
    const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
    expect(code, stderr).toBe(0);
    // the refused request was split (at least one more refused request than the first) ...
    expect(refused).toBeGreaterThan(1);
    // ... and every good process's span reached the collector
    const sent = accepted.join("\n");
    for (let i = 1; i <= 9; i++) expect(sent).toContain(`GOOD_${i}`);
    expect(sent).not.toContain("REFUSED_MARKER");
    // the run's summary counts exactly one span dropped
    const m = /otlp: (\d+) of (\d+) spans sent/.exec(stderr);
    expect(m, stderr).not.toBeNull();
    expect(Number(m![2]) - Number(m![1])).toBe(1);
  } finally {
    server.stop(true);
  }
});
