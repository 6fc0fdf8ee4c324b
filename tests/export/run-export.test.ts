/**
 * `tracer run --otlp-endpoint` through the real binary, with the collector down for the first run and
 * up for the second: the first run's command is unaffected (its exit code comes through), its spans
 * wait in the outbox, and both runs then arrive exactly once, valid against the official schema.
 */
import { afterAll, expect, test } from "bun:test";
import { cleanupTemp, isolatedEnv, run } from "../helpers/harness.ts";
import { startReceiver } from "./_receiver.ts";

afterAll(cleanupTemp);

function closedPort(): number {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const p = s.port!;
  s.stop(true);
  return p;
}

test("collector down during a run, then up: every span arrives exactly once", async () => {
  const port = closedPort();
  const env = isolatedEnv();
  const flags = ["--otlp-endpoint", `http://127.0.0.1:${port}`, "--otlp-insecure", "--name"];
  const first = await run(["run", ...flags, "first", "--", "sh", "-c", "ls / >/dev/null; exit 4"], { env });
  expect(first.code).toBe(4);
  expect(first.stderr).toMatch(/collector unavailable/);
  const queued = Number(/(\d+) queued for later/.exec(first.stderr)?.[1]);
  expect(queued).toBeGreaterThanOrEqual(3); // run span, sh, ls

  const r = startReceiver({ port });
  try {
    const second = await run(["run", ...flags, "second", "--", "sh", "-c", "true"], { env });
    expect(second.code).toBe(0);
    // this run's spans and the drained backlog are counted apart (issue 17: it said "6 of 2 spans sent")
    const line = /otlp: (\d+) of (\d+) spans sent; earlier backlog: (\d+) spans sent\n/.exec(second.stderr);
    expect(line).not.toBeNull();
    const secondRun = r.spans.find((s) => s.name === "run second");
    const secondSpans = r.spans.filter((s) => s.traceId === secondRun?.traceId).length;
    expect(line!.slice(1).map(Number)).toEqual([secondSpans, secondSpans, queued]);
    expect(r.errors).toEqual([]);
    const ids = r.spans.map((s) => s.spanId);
    expect(new Set(ids).size).toBe(ids.length); // no duplicates
    const traces = new Set(r.spans.map((s) => s.traceId));
    expect(traces.size).toBe(2);
    const firstRun = r.spans.filter((s) => s.name === "run first");
    expect(firstRun.length).toBe(1);
    const firstSpans = r.spans.filter((s) => s.traceId === firstRun[0]!.traceId);
    expect(firstSpans.length).toBe(queued);
    const ls = firstSpans.find((s) => s.name === "ls");
    expect(ls?.attributes["process.exit.code"]).toBe("0");
    expect(firstSpans.some((s) => s.attributes["process.exit.code"] === "4")).toBe(true); // sh
    // ls hangs off sh, or off the run span when the store did not link its parent (recorder's call);
    // the parent chain itself is covered by tests/export/otlp.test.ts.
    const parent = firstSpans.find((s) => s.spanId === ls!.parentSpanId);
    expect(["sh", "run first"]).toContain(parent?.name ?? "missing");
    expect(firstRun[0]!.status?.code).toBe(2);
  } finally {
    r.stop();
  }
});

test("an endpoint given on the command line that the policy refuses stops the run before it starts", async () => {
  const r = await run(["run", "--otlp-endpoint", "https://169.254.169.254", "--", "sh", "-c", "echo ran"]);
  // the metadata address is refused only once resolved at send time; a plain-http one fails at once
  const plain = await run(["run", "--otlp-endpoint", "http://127.0.0.1:4318", "--", "sh", "-c", "echo ran"]);
  expect(plain.code).toBe(3);
  expect(plain.stdout).not.toContain("ran");
  expect(r.code).toBe(0);
  expect(r.stderr).toMatch(/refused .*cloud metadata/);
});
