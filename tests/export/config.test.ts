/** Endpoint and header configuration: flags, OTEL_* variables, the explicit insecure opt-in. */
import { describe, expect, test } from "bun:test";
import { describeOtlp, parseHeaders, resolveOtlpConfig } from "../../src/export/config.ts";
import { TracerError } from "../../src/errors.ts";
import { NetRefusal } from "../../src/net/errors.ts";

describe("resolveOtlpConfig", () => {
  test("no endpoint anywhere: export is off", () => {
    expect(resolveOtlpConfig({}, {})).toBeUndefined();
  });

  test("a base endpoint gets the signal paths; signal endpoints are used exactly", () => {
    const c = resolveOtlpConfig({}, { OTEL_EXPORTER_OTLP_ENDPOINT: "https://otel.example.com:4318/" })!;
    expect(c.urls).toEqual({
      traces: "https://otel.example.com:4318/v1/traces",
      metrics: "https://otel.example.com:4318/v1/metrics",
    });
    const d = resolveOtlpConfig(
      {},
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: "https://a.example.com",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://b.example.com/custom/traces",
      },
    )!;
    expect(d.urls.traces).toBe("https://b.example.com/custom/traces");
    expect(d.urls.metrics).toBe("https://a.example.com/v1/metrics");
  });

  test("an empty --otlp-endpoint is a usage error, not a silent 'export off' (an empty variable is unset)", () => {
    for (const endpoint of ["", "  "]) {
      let err: unknown;
      try {
        resolveOtlpConfig({ endpoint }, { OTEL_EXPORTER_OTLP_ENDPOINT: "https://env.example.com" });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TracerError);
      expect((err as TracerError).message).toBe("--otlp-endpoint is empty");
      expect((err as TracerError).exitCode).toBe(2);
    }
    expect(resolveOtlpConfig({}, { OTEL_EXPORTER_OTLP_ENDPOINT: "" })).toBeUndefined();
  });

  test("the flag wins over every variable", () => {
    const c = resolveOtlpConfig(
      { endpoint: "https://flag.example.com" },
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: "https://env.example.com",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://env-traces.example.com/v1/traces",
      },
    )!;
    expect(c.urls.traces).toBe("https://flag.example.com/v1/traces");
  });

  test("plain http needs the explicit insecure opt-in (refusal, exit 3)", () => {
    let e: unknown;
    try {
      resolveOtlpConfig({ endpoint: "http://localhost:4318" }, {});
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(NetRefusal);
    expect((e as NetRefusal).exitCode).toBe(3);
    expect(resolveOtlpConfig({ endpoint: "http://localhost:4318", insecure: true }, {})!.insecure).toBe(true);
    expect(
      resolveOtlpConfig({ endpoint: "http://localhost:4318" }, { TRACER_OTLP_INSECURE: "1" })!.insecure,
    ).toBe(true);
    expect(
      resolveOtlpConfig({ endpoint: "http://localhost:4318" }, { OTEL_EXPORTER_OTLP_INSECURE: "true" })!
        .insecure,
    ).toBe(true);
  });

  test("userinfo in the endpoint is refused", () => {
    expect(() => resolveOtlpConfig({ endpoint: "https://u:p@otel.example.com" }, {})).toThrow(NetRefusal);
  });

  test("headers: common and per signal; a protocol we do not speak is noted; describe hides values", () => {
    const c = resolveOtlpConfig(
      {},
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: "https://otel.example.com",
        OTEL_EXPORTER_OTLP_HEADERS: "api-key=s3cret,x-team=a",
        OTEL_EXPORTER_OTLP_METRICS_HEADERS: "x-team=b",
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
      },
    )!;
    expect(c.headers.traces).toEqual({ "api-key": "s3cret", "x-team": "a" });
    expect(c.headers.metrics).toEqual({ "api-key": "s3cret", "x-team": "b" });
    expect(c.notes[0]).toContain("http/json");
    const d = describeOtlp(c);
    expect(d).toContain("api-key");
    expect(d).not.toContain("s3cret");
  });
});

describe("parseHeaders", () => {
  test("percent-decoding, whitespace, empty entries", () => {
    expect(parseHeaders(" Authorization = Basic%20YWxhZGRpbjpvcGVuc2VzYW1l ,, x=1=2", "H")).toEqual({
      authorization: "Basic YWxhZGRpbjpvcGVuc2VzYW1l",
      x: "1=2",
    });
  });

  test("errors name the entry, never the value", () => {
    for (const raw of ["novalue", "bad key=s3cret", "k=%zz-s3cret", "k=a%0Ab-s3cret"]) {
      let e: unknown;
      try {
        parseHeaders(raw, "OTEL_EXPORTER_OTLP_HEADERS");
      } catch (x) {
        e = x;
      }
      expect(e).toBeInstanceOf(TracerError);
      expect((e as TracerError).exitCode).toBe(2);
      expect((e as TracerError).message).not.toContain("s3cret");
    }
  });
});
