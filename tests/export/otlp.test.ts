/** The OTLP JSON encoding of a run, checked against the official proto schema (strict validator). */
import { describe, expect, test } from "bun:test";
import { metricsRequest, systemMetrics } from "../../src/export/metrics.ts";
import { runResource, runSpans, spanIdOf, traceIdOf, traceRequest } from "../../src/export/otlp.ts";
import type { ExportProcess, ExportRun, ExportSystemSample } from "../../src/export/types.ts";
import { decodeOtlpJson, MetricsRequest, TraceRequest } from "./_otlp-schema.ts";

const t0 = Date.UTC(2026, 10, 28, 12, 0, 0) + 0.123;
export const RUN: ExportRun = {
  id: "01937c5e-8b2a-7cde-9f01-23456789abcd",
  name: "rnaseq-1",
  pipeline: "rnaseq",
  command: ["nextflow", "run", "main.nf"],
  cwd: "/data/work",
  host: "node-7",
  mode: "connector+taskstats",
  startedAt: t0,
  endedAt: t0 + 10_000,
  exitCode: 1,
  status: "failed",
  eventsLost: 0,
};
export const PROCS: ExportProcess[] = [
  {
    key: "1",
    pid: 100,
    ppid: 1,
    comm: "nextflow",
    argv: ["nextflow", "run", "--token", "s3cret"],
    startedAt: t0 + 1,
    endedAt: t0 + 9000,
    exitCode: 1,
    userUs: 2_500_000,
    systemUs: 300_000,
    peakRssKb: 2 ** 33 / 1024,
    rchar: 2 ** 40,
    figures: "taskstats",
  },
  {
    key: "2",
    parentKey: "1",
    pid: 101,
    ppid: 100,
    comm: "salmon",
    executablePath: "/usr/bin/salmon",
    startedAt: t0 + 10,
    endedAt: t0 + 5000,
    exitCode: 0,
    startTicks: 123456,
  },
  {
    key: "3",
    parentKey: "2",
    pid: 102,
    ppid: 101,
    comm: "gzip",
    startedAt: t0 + 20,
    endedAt: t0 + 30,
    signal: 9,
    oomKilled: true,
  },
  { key: "4", parentKey: "99", pid: 103, ppid: 55, comm: "orphan", startedAt: t0 + 40 },
];
const SAMPLES: ExportSystemSample[] = [0, 1, 2].map((i) => ({
  at: t0 + i * 1000,
  cpuPct: 12.5 * i,
  memTotalKb: 16_000_000,
  memUsedKb: 4_000_000 + i,
  swapTotalKb: 0,
  swapUsedKb: 0,
  load1: 0.5,
  load5: 0.25,
  load15: 0.1,
  diskTotalBytes: 2 ** 41,
  diskUsedBytes: 2 ** 40,
}));

describe("trace encoding", () => {
  const payload = traceRequest([{ resource: runResource(RUN), spans: runSpans(RUN, PROCS) }]);
  const d = decodeOtlpJson(TraceRequest, JSON.parse(JSON.stringify(payload)));

  test("the official schema accepts the payload and it survives a protobuf round trip", () => {
    expect(d.errors).toEqual([]);
    const spans = (d.message!.resourceSpans as { scopeSpans: { spans: Record<string, unknown>[] }[] }[])[0]!
      .scopeSpans[0]!.spans;
    expect(spans.length).toBe(5);
    expect(spans[0]!.traceId).toBe("01937c5e8b2a7cde9f0123456789abcd");
  });

  test("one trace per run, the run span at the root, parents are parent processes", () => {
    const [root, nf, salmon, gzip, orphan] = runSpans(RUN, PROCS);
    expect(new Set(runSpans(RUN, PROCS).map((s) => s.traceId)).size).toBe(1);
    expect(root!.parentSpanId).toBeUndefined();
    expect(nf!.parentSpanId).toBe(root!.spanId);
    expect(salmon!.parentSpanId).toBe(nf!.spanId);
    expect(gzip!.parentSpanId).toBe(salmon!.spanId);
    expect(orphan!.parentSpanId).toBe(root!.spanId); // parent not in the run
    expect(spanIdOf(RUN.id, "2")).toBe(salmon!.spanId); // stable: re-encoding never changes ids
  });

  test("JSON rules: hex ids, 64-bit ints as strings, integer enums, exact nanoseconds", () => {
    const [root, nf, , gzip] = runSpans(RUN, PROCS);
    expect(root!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(nf!.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(nf!.kind).toBe(1);
    expect(nf!.startTimeUnixNano).toBe(
      `${BigInt(Date.UTC(2026, 10, 28, 12, 0, 0) + 1) * 1_000_000n + 123_000n}`,
    );
    const attr = (s: typeof nf, k: string) => s!.attributes.find((a) => a.key === k)?.value;
    expect(attr(nf, "process.pid")).toEqual({ intValue: "100" });
    expect(attr(nf, "tracer.process.io.rchar")).toEqual({ intValue: String(2 ** 40) });
    expect(attr(nf, "tracer.process.memory.peak_rss")).toEqual({ intValue: String(2 ** 33) });
    expect(attr(nf, "process.exit.code")).toEqual({ intValue: "1" });
    expect(nf!.status).toEqual({ code: 2, message: "exit code 1" });
    expect(gzip!.status).toEqual({ code: 2, message: "killed by signal 9" });
    expect(attr(gzip, "tracer.process.oom_killed")).toEqual({ boolValue: true });
    expect(attr(nf, "process.executable.name")).toEqual({ stringValue: "nextflow" });
  });

  test("command arguments only when asked (they may hold secrets)", () => {
    const plain = JSON.stringify(runSpans(RUN, PROCS));
    expect(plain).not.toContain("s3cret");
    const withArgs = runSpans(RUN, PROCS, { commandArgs: true })[1]!;
    expect(withArgs.attributes.find((a) => a.key === "process.command_args")?.value).toEqual({
      arrayValue: {
        values: ["nextflow", "run", "--token", "s3cret"].map((stringValue) => ({ stringValue })),
      },
    });
    const d2 = decodeOtlpJson(
      TraceRequest,
      traceRequest([{ resource: runResource(RUN), spans: [withArgs] }]),
    );
    expect(d2.errors).toEqual([]);
  });

  test("a trace id derived from a non-UUID run id is still 32 hex digits", () => {
    expect(traceIdOf("not-a-uuid")).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe("metrics encoding", () => {
  test("system samples are gauges the schema accepts, bytes as int64 strings", () => {
    const metrics = systemMetrics(SAMPLES);
    const d = decodeOtlpJson(MetricsRequest, metricsRequest([{ resource: runResource(RUN), metrics }]));
    expect(d.errors).toEqual([]);
    const mem = metrics.find((m) => m.name === "system.memory.usage")!;
    expect(mem.gauge.dataPoints[1]!.asInt).toBe(String((4_000_000 + 1) * 1024));
    const cpu = metrics.find((m) => m.name === "system.cpu.utilization")!;
    expect(cpu.gauge.dataPoints.map((p) => p.asDouble)).toEqual([0, 0.125, 0.25]);
    expect(systemMetrics([])).toEqual([]);
  });
});

describe("the validator itself can fail", () => {
  const good = traceRequest([{ resource: runResource(RUN), spans: runSpans(RUN, PROCS.slice(0, 1)) }]);
  const mutate = (f: (s: Record<string, unknown>) => void) => {
    const p = JSON.parse(JSON.stringify(good));
    f(p.resourceSpans[0].scopeSpans[0].spans[1]);
    return decodeOtlpJson(TraceRequest, p).errors;
  };
  test("numbers for int64, base64 ids, string enums and unknown keys are rejected", () => {
    expect(decodeOtlpJson(TraceRequest, good).errors).toEqual([]);
    expect(mutate((s) => (s.startTimeUnixNano = 123))).not.toEqual([]);
    expect(mutate((s) => (s.spanId = Buffer.from(String(s.spanId), "hex").toString("base64")))).not.toEqual(
      [],
    );
    expect(mutate((s) => (s.kind = "SPAN_KIND_INTERNAL"))).not.toEqual([]);
    expect(mutate((s) => (s.span_id = s.spanId))).not.toEqual([]);
    expect(mutate((s) => (s.traceId = "0".repeat(32)))).not.toEqual([]);
    expect(
      mutate((s) => ((s.attributes as { value: unknown }[])[0]!.value = { intValue: "1", stringValue: "x" })),
    ).not.toEqual([]);
  });
});
