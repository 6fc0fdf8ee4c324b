/**
 * The exporter against a real OTLP receiver on loopback that validates every payload against the
 * official proto schema: delivery, outage and recovery (each span exactly once, or counted as dropped
 * with its reason), bounded backlog, retryable and fatal answers, durability across restarts, secrets.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { statSync } from "node:fs";
import { resolveOtlpConfig } from "../../src/export/config.ts";
import { Exporter, type ExporterOptions } from "../../src/export/exporter.ts";
import type { ExportProcess, ExportRun } from "../../src/export/types.ts";
import { cleanupTemp, tempDir } from "../helpers/harness.ts";
import { type Receiver, startReceiver } from "./_receiver.ts";

const receivers: Receiver[] = [];
const exporters: Exporter[] = [];
afterEach(async () => {
  for (const e of exporters.splice(0)) await e.stop();
  for (const r of receivers.splice(0)) r.stop();
});
afterAll(cleanupTemp);

function receiver(opts: Parameters<typeof startReceiver>[0] = {}) {
  const r = startReceiver(opts);
  receivers.push(r);
  return r;
}

/** A port with nothing listening (a collector that is down). */
function closedPort(): number {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const p = s.port!;
  s.stop(true);
  return p;
}

let runNo = 0;
function makeRun(procs = 4): { run: ExportRun; processes: ExportProcess[] } {
  const n = ++runNo;
  const t = Date.now();
  const run: ExportRun = {
    id: crypto.randomUUID(),
    name: `run-${n}`,
    pipeline: "p",
    startedAt: t,
    endedAt: t + 50,
    exitCode: 0,
  };
  const processes = Array.from({ length: procs }, (_, i) => ({
    key: String(i + 1),
    parentKey: i ? String(i) : undefined,
    pid: 1000 * n + i,
    comm: `tool${i}`,
    startedAt: t + i,
    endedAt: t + 40,
    exitCode: 0,
  }));
  return { run, processes };
}

function exporter(port: number, extra: Partial<ExporterOptions> = {}, env: Record<string, string> = {}) {
  const logs: string[] = [];
  const config = resolveOtlpConfig({ endpoint: `http://127.0.0.1:${port}`, insecure: true }, env)!;
  const e = new Exporter({
    config,
    outboxPath: join(tempDir("tracer-outbox-"), "outbox.db"),
    backoffBaseMs: 20,
    backoffMaxMs: 100,
    maxAgeMs: 0,
    log: (l) => logs.push(l),
    ...extra,
  });
  exporters.push(e);
  return { e, logs };
}

const unique = (r: Receiver) => new Set(r.spans.map((s) => s.spanId)).size;

describe("delivery", () => {
  test("a run arrives as one trace the official schema accepts, with its metrics", async () => {
    const r = receiver();
    const { e } = exporter(r.port);
    const { run, processes } = makeRun(3);
    const t = run.startedAt;
    const samples = [0, 1].map((i) => ({
      at: t + i * 1000,
      cpuPct: 50,
      memTotalKb: 1000,
      memUsedKb: 500,
      swapTotalKb: 0,
      swapUsedKb: 0,
      load1: 1,
      load5: 1,
      load15: 1,
      diskTotalBytes: 10,
      diskUsedBytes: 5,
    }));
    expect(e.enqueueRun(run, processes, samples)).toBe(true);
    const s = await e.flush(5000);
    expect(r.errors).toEqual([]);
    expect(r.spans.length).toBe(4);
    expect(new Set(r.spans.map((x) => x.traceId))).toEqual(new Set([run.id.replaceAll("-", "")]));
    const byName = Object.fromEntries(r.spans.map((x) => [x.name, x]));
    expect(byName.tool1!.parentSpanId).toBe(byName.tool0!.spanId);
    expect(byName.tool0!.attributes["process.pid"]).toBe(String(processes[0]!.pid));
    expect(r.metrics.find((m) => m.name === "system.memory.usage")!.points.length).toBe(2);
    expect(r.resources[0]!["tracer.run.id"]).toBe(run.id);
    expect(s.pending).toEqual({ traces: 0, metrics: 0 });
    expect(s.counters["sent.traces"]).toBe(4);
    expect(s.counters["sent.metrics"]).toBe(18); // 9 gauges × 2 points
  });

  test("batches respect the size limit", async () => {
    const r = receiver();
    const { e } = exporter(r.port, { batchItems: 3 });
    const { run, processes } = makeRun(9);
    e.enqueueRun(run, processes);
    await e.flush(5000);
    expect(unique(r)).toBe(10);
    expect(r.requests.filter((q) => q.path === "/v1/traces").length).toBe(4); // 3+3+3+1
  });

  test("partial batches wait for their age unless flushed", async () => {
    const r = receiver();
    const { e } = exporter(r.port, { batchItems: 100, maxAgeMs: 60_000 });
    e.enqueueRun(...(Object.values(makeRun(2)) as [ExportRun, ExportProcess[]]));
    await e.tick();
    expect(r.requests.length).toBe(0);
    await e.tick(true);
    expect(unique(r)).toBe(3);
  });
});

describe("outage", () => {
  test("collector down during the run, then up: every span arrives exactly once", async () => {
    const port = closedPort();
    const { e, logs } = exporter(port, { batchItems: 5 });
    e.start();
    const runs = [makeRun(6), makeRun(6), makeRun(6)];
    for (const x of runs) {
      expect(e.enqueueRun(x.run, x.processes)).toBe(true);
      await e.tick(true); // sends fail: connection refused
    }
    expect(e.stats().pending.traces).toBe(21);
    expect(logs.some((l) => /collector unavailable/.test(l))).toBe(true);
    const r = receiver({ port });
    const s = await e.flush(10_000);
    expect(r.errors).toEqual([]);
    expect(r.spans.length).toBe(21);
    expect(unique(r)).toBe(21);
    expect(s.counters["sent.traces"]).toBe(21);
    expect(Object.keys(s.counters).filter((k) => k.startsWith("dropped"))).toEqual([]);
    expect(logs.some((l) => /reachable again/.test(l))).toBe(true);
  });

  test("a bounded backlog drops the oldest and counts them: received + dropped = produced", async () => {
    const port = closedPort();
    const { e, logs } = exporter(port, { maxBacklog: 10 });
    const runs = [makeRun(4), makeRun(4), makeRun(4)]; // 15 spans
    for (const x of runs) e.enqueueRun(x.run, x.processes);
    await e.tick(true);
    expect(e.stats().counters["dropped.traces.backlog-full"]).toBe(5);
    expect(logs.some((l) => /backlog full/.test(l))).toBe(true);
    const r = receiver({ port });
    const s = await e.flush(10_000);
    expect(unique(r)).toBe(10);
    expect(r.spans.length + s.counters["dropped.traces.backlog-full"]!).toBe(15);
    const first = runs[0]!.run.id.replaceAll("-", "");
    expect(r.spans.some((x) => x.traceId === first)).toBe(false); // the oldest went first
  });

  test("503 with Retry-After is retried later; the batch arrives once", async () => {
    let refusals = 0;
    const r = receiver({
      respond: () =>
        refusals++ < 2 ? new Response("busy", { status: 503, headers: { "retry-after": "0" } }) : undefined,
    });
    const { e } = exporter(r.port);
    const { run, processes } = makeRun(2);
    e.enqueueRun(run, processes);
    const s = await e.flush(5000);
    expect(r.requests.map((q) => q.status)).toEqual([503, 503, 200]);
    expect(unique(r)).toBe(3);
    expect(s.counters["sent.traces"]).toBe(3);
  });

  test("a 400 is not retried as it was: split once to find the item refused, then dropped and counted with the reason", async () => {
    const r = receiver({ respond: () => new Response("bad", { status: 400 }) });
    const { e, logs } = exporter(r.port);
    const { run, processes } = makeRun(2);
    e.enqueueRun(run, processes);
    const s = await e.flush(2000);
    // 3 items refused, then the first alone (dropped), then the other 2 whole: a collector refusing
    // everything costs one request more than a batch, not two an item
    expect(r.requests.length).toBe(3);
    expect(s.counters["dropped.traces.rejected-http-400"]).toBe(3);
    expect(s.pending.traces).toBe(0);
    expect(logs.some((l) => /rejected 3 traces items with HTTP 400; sending them in halves/.test(l))).toBe(
      true,
    );
    expect(logs.some((l) => /rejected 2 traces items with HTTP 400; dropped/.test(l))).toBe(true);
  });

  test("partialSuccess rejections are counted as dropped", async () => {
    const r = receiver({
      respond: () => Response.json({ partialSuccess: { rejectedSpans: "2", errorMessage: "too old" } }),
    });
    const { e } = exporter(r.port);
    e.enqueueRun(makeRun(3).run, makeRun(3).processes);
    const s = await e.flush(2000);
    expect(s.counters["dropped.traces.collector-partial-reject"]).toBe(2);
  });

  test("the outbox is durable: a new exporter on the same file sends what an old one queued", async () => {
    const port = closedPort();
    const { e } = exporter(port);
    const { run, processes } = makeRun(3);
    e.enqueueRun(run, processes);
    await e.tick(true);
    const path = (e as unknown as { outbox: { path: string } }).outbox.path;
    expect((statSync(path).mode & 0o777).toString(8)).toBe("600");
    await e.stop();
    exporters.splice(exporters.indexOf(e), 1);
    const r = receiver({ port });
    const again = exporter(port, { outboxPath: path });
    const s = await again.e.flush(5000);
    expect(unique(r)).toBe(4);
    expect(s.counters["enqueued.traces"]).toBe(4);
  });
});

describe("policy and secrets", () => {
  test("headers from OTEL_EXPORTER_OTLP_HEADERS are sent and never logged", async () => {
    const port = closedPort();
    const env = { OTEL_EXPORTER_OTLP_HEADERS: "Authorization=Bearer%20s3cret-token, x-tenant = t1" };
    const { e, logs } = exporter(port, {}, env);
    e.enqueueRun(makeRun(1).run, makeRun(1).processes);
    await e.tick(true);
    const r = receiver({ port });
    await e.flush(5000);
    expect(r.requests[0]!.headers.authorization).toBe("Bearer s3cret-token");
    expect(r.requests[0]!.headers["x-tenant"]).toBe("t1");
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.join("\n")).not.toContain("s3cret");
  });

  test("a loopback collector without the insecure opt-in is refused; the backlog is kept", async () => {
    const r = receiver();
    const logs: string[] = [];
    const config = resolveOtlpConfig({ endpoint: `https://localhost:${r.port}` }, {})!;
    const e = new Exporter({
      config,
      outboxPath: join(tempDir(), "o.db"),
      maxAgeMs: 0,
      log: (l) => logs.push(l),
    });
    exporters.push(e);
    e.enqueueRun(makeRun(1).run, makeRun(1).processes);
    const s = await e.flush(300);
    expect(r.requests.length).toBe(0);
    expect(s.pending.traces).toBe(2);
    expect(logs.join("\n")).toMatch(/refused .*loopback/);
  });
});

describe("sharing one outbox", () => {
  test("two exporters draining the same file concurrently send each span once (leases)", async () => {
    const r = receiver();
    const a = exporter(r.port, { batchItems: 4 });
    const path = (a.e as unknown as { outbox: { path: string } }).outbox.path;
    const b = exporter(r.port, { batchItems: 4, outboxPath: path });
    for (let i = 0; i < 5; i++) {
      const x = makeRun(7);
      a.e.enqueueRun(x.run, x.processes);
    }
    await Promise.all([a.e.flush(5000), b.e.flush(5000)]);
    expect(r.spans.length).toBe(40);
    expect(unique(r)).toBe(40);
    expect(a.e.stats().counters["sent.traces"]).toBe(40);
  });
});

test("an outbox that cannot be opened is a clean TracerError, not a crash", () => {
  const dir = tempDir();
  const config = resolveOtlpConfig({ endpoint: "https://otel.example.com" }, {})!;
  expect(() => new Exporter({ config, outboxPath: join(dir, "missing", "dir", "o.db") })).toThrow(
    /cannot open the export outbox/,
  );
});
