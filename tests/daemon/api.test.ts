import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect } from "node:net";
import { join } from "node:path";
import { stopDaemon } from "../helpers/daemon.ts";
import { cleanupTemp, isolatedEnv, run } from "../helpers/harness.ts";

const env = isolatedEnv();
const sock = () => join(env.TRACER_RUNTIME_DIR!, "tracer.sock");
beforeAll(async () => {
  expect((await run(["init"], { env })).code).toBe(0);
});
afterAll(async () => {
  await stopDaemon(env);
  cleanupTemp();
});

/** Write raw bytes to the control socket and return whatever comes back before the server closes. */
function raw(payload: string | Buffer, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(sock());
    let got = "";
    const done = () => {
      s.destroy();
      resolve(got);
    };
    s.on("data", (d) => {
      got += d.toString();
    });
    s.on("error", done);
    s.on("close", done);
    s.setTimeout(timeoutMs, done);
    s.on("connect", () => s.end(payload));
  });
}

const req = (method: string, path: string, body = "", headers: Record<string, string> = {}) =>
  `${method} ${path} HTTP/1.1\r\nHost: tracer\r\nConnection: close\r\n${Object.entries({
    "Content-Length": String(Buffer.byteLength(body)),
    ...headers,
  })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("")}\r\n${body}`;

test("malformed and oversized requests get 4xx JSON errors", async () => {
  expect(await raw(req("POST", "/v1/start", "{not json"))).toMatch(/^HTTP\/1\.1 400[\s\S]*E_BAD_JSON/);
  expect(await raw(req("POST", "/v1/start", "[1,2]"))).toMatch(/^HTTP\/1\.1 400[\s\S]*E_BAD_BODY/);
  expect(await raw(req("POST", "/v1/start", JSON.stringify({ name: "x\n;rm" })))).toMatch(
    /^HTTP\/1\.1 400[\s\S]*E_BAD_FIELD/,
  );
  expect(await raw(req("POST", "/v1/start", "x".repeat(64 * 1024)))).toMatch(/^HTTP\/1\.1 413/);
  expect(await raw(req("DELETE", "/v1/info"))).toMatch(/^HTTP\/1\.1 405/);
  expect(await raw(req("GET", "/v1/nope"))).toMatch(/^HTTP\/1\.1 404/);
  expect(await raw("GARBAGE\r\n\r\n")).toMatch(/^HTTP\/1\.1 400|^$/);
});

test("1,000 malformed or oversized requests leave the daemon answering info", async () => {
  const payloads = [
    () => req("POST", "/v1/start", "{"),
    () => req("POST", "/v1/stop", "x".repeat(20_000)),
    () => req("POST", "/v1/start", "", { "Content-Length": "999999999" }),
    () => `${"A".repeat(10_000)}\r\n\r\n`,
    () => Buffer.from([0, 1, 2, 255, 254, 13, 10, 13, 10]),
    () => req("GET", `/v1/${"%".repeat(3000)}`),
    () => "POST /v1/start HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n",
    () => "GET /v1/info HTTP/1.1\r\n",
  ];
  let answered = 0;
  for (let batch = 0; batch < 50; batch++) {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => raw(payloads[(batch * 20 + i) % payloads.length]!(), 1000)),
    );
    answered += results.filter((r) => r.startsWith("HTTP/1.1 4")).length;
  }
  expect(answered).toBeGreaterThan(500);
  const info = await run(["info", "--json"], { env });
  expect(info.code).toBe(0);
  expect(JSON.parse(info.stdout).pid).toBeNumber();
}, 120_000);

test("a client of another version gets a clear mismatch error (exit 6)", async () => {
  const res = await raw(req("GET", "/v1/info"));
  expect(res).toMatch(/x-tracer-version: \S+/i);
  const { unixRequest } = await import("../../src/net/unix.ts");
  const r = await unixRequest(sock(), "GET", "/v1/info");
  expect(r.version).toBeString();
  // run the real client code against a fake daemon that reports another version
  const fakeDir = join(env.TRACER_RUNTIME_DIR!, "..", "fake-run");
  const { mkdirSync } = await import("node:fs");
  mkdirSync(fakeDir, { mode: 0o700 });
  const fake = Bun.serve({
    unix: join(fakeDir, "tracer.sock"),
    fetch: () => Response.json({ pid: 1 }, { headers: { "x-tracer-version": "0.0.1-old" } }),
  });
  try {
    const out = await run(["info"], { env: { ...env, TRACER_RUNTIME_DIR: fakeDir } });
    expect(out.code).toBe(6);
    expect(out.stderr).toContain("the running daemon is version 0.0.1-old");
    expect(out.stderr).toContain("tracer init --force");
  } finally {
    fake.stop(true);
  }
});
