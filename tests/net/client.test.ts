/**
 * The guarded client end to end against real loopback servers. Loopback is denied by policy, so each
 * client opts in with allowLoopback (exactly what a user sets for a local collector) and reaches the
 * servers through names that only the injected resolver knows: if Bun's fetch ever resolved a name
 * itself (no pinning), the request would fail with a DNS error instead of arriving.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { createNetClient, type ClientOptions } from "../../src/net/client.ts";
import { NetError, NetRefusal } from "../../src/net/errors.ts";
import type { Resolver } from "../../src/net/guard.ts";
import { cleanupTemp, tempDir } from "../helpers/harness.ts";

type Server = ReturnType<typeof Bun.serve>;
const servers: Server[] = [];
interface Hit {
  url: string;
  method: string;
  headers: Record<string, string>;
}
function serve(handler: (req: Request, hits: Hit[]) => Response | Promise<Response>) {
  const hits: Hit[] = [];
  const s = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 5,
    fetch(req) {
      hits.push({ url: req.url, method: req.method, headers: Object.fromEntries(req.headers) });
      return handler(req, hits);
    },
  });
  servers.push(s);
  return { s, hits, port: s.port };
}
afterAll(() => {
  for (const s of servers) s.stop(true);
});

const names =
  (map: Record<string, string[]>): Resolver =>
  async (h) => {
    const a = map[h];
    if (!a) throw new Error(`NXDOMAIN ${h}`);
    return a;
  };
const local = (extra: Partial<ClientOptions> = {}): ClientOptions => ({
  allowHttp: true,
  allowLoopback: true,
  resolver: names({ "collector.test": ["127.0.0.1"] }),
  retries: 0,
  ...extra,
});
const caught = <T>(p: Promise<T>) =>
  p.then(
    () => undefined as unknown,
    (e) => e,
  );

describe("pinning and redirects", () => {
  test("the request dials the checked address and sends the name as Host", async () => {
    const { port, hits } = serve(() => Response.json({ ok: true }));
    const c = createNetClient(local());
    expect(await c.request(`http://collector.test:${port}/v1/traces`)).toEqual({ ok: true });
    expect(hits[0]!.headers.host).toBe(`collector.test:${port}`);
    expect(new URL(hits[0]!.url).pathname).toBe("/v1/traces");
  });

  test("without the loopback opt-in the same request is refused and nothing arrives", async () => {
    const { port, hits } = serve(() => new Response("x"));
    const e = await caught(
      createNetClient(local({ allowLoopback: false })).fetch(`http://collector.test:${port}/`),
    );
    expect(e).toBeInstanceOf(NetRefusal);
    expect((e as NetRefusal).message).toContain("127.0.0.1, which is loopback");
    expect(hits.length).toBe(0);
  });

  test("when the first checked address refuses the connection, the next one is tried", async () => {
    const { port, hits } = serve(() => new Response("second address"));
    // 127.0.0.2 is loopback too, but nothing listens there on this port.
    const c = createNetClient(local({ resolver: names({ "two.test": ["127.0.0.2", "127.0.0.1"] }) }));
    expect(await (await c.fetch(`http://two.test:${port}/`, { method: "POST", body: "x" })).text()).toBe(
      "second address",
    );
    expect(hits.length).toBe(1);
  });

  test("a redirect from an allowed server to a denied address is refused", async () => {
    // The trap listens where a broken guard would connect: the first address of each answer.
    const trap = serve(() => new Response("should never be reached"));
    const targets = ["metadata.test", "private.test", "mapped.test"];
    const entry = serve((req) => {
      const to = new URL(req.url).searchParams.get("to")!;
      return Response.redirect(`http://${to}:${trap.port}/latest/meta-data/`, 302);
    });
    const resolver = names({
      "collector.test": ["127.0.0.1"],
      "metadata.test": ["127.0.0.1", "169.254.169.254"],
      "private.test": ["127.0.0.1", "10.20.30.40"],
      "mapped.test": ["127.0.0.1", "::ffff:192.168.0.1"],
    });
    const c = createNetClient(local({ resolver }));
    for (const to of targets) {
      const e = await caught(c.fetch(`http://collector.test:${entry.port}/?to=${to}`));
      expect(e).toBeInstanceOf(NetRefusal);
      expect((e as NetRefusal).reason).toBe("address");
      expect((e as NetRefusal).detail.range).toMatch(/metadata|private/);
    }
    const direct = await caught(c.fetch("http://collector.test:1/", { redirect: "follow" }));
    expect(direct).toBeInstanceOf(NetError); // closed port: a connect error, not a refusal
    expect(entry.hits.length).toBe(3);
    expect(trap.hits.length).toBe(0);
  });

  test("a host whose second resolution changes address cannot rebind", async () => {
    const { port, hits } = serve(() => new Response("real"));
    let calls = 0;
    const resolver: Resolver = async () => (++calls === 1 ? ["127.0.0.1"] : ["169.254.169.254"]);
    const c = createNetClient(local({ resolver }));
    const res = await c.fetch(`http://rebind.test:${port}/`);
    expect(await res.text()).toBe("real");
    expect(calls).toBe(1); // fetch itself never resolved the name (it would have failed: no such name)
    const again = await caught(c.fetch(`http://rebind.test:${port}/`));
    expect(again).toBeInstanceOf(NetRefusal);
    expect((again as NetRefusal).detail.address).toBe("169.254.169.254");
    expect(hits.length).toBe(1);
  });

  test("redirects: each hop re-checked, at most 5, 303 turns POST into GET, secrets stay behind", async () => {
    const b = serve(() => new Response("landed"));
    const a = serve((req) => {
      const u = new URL(req.url);
      if (u.pathname === "/loop") return Response.redirect(`http://collector.test:${u.port}/loop`, 307);
      return new Response(null, { status: 303, headers: { location: `http://other.test:${b.port}/done` } });
    });
    const resolver = names({ "collector.test": ["127.0.0.1"], "other.test": ["127.0.0.1"] });
    const c = createNetClient(local({ resolver }));
    const res = await c.fetch(`http://collector.test:${a.port}/post`, {
      method: "POST",
      body: "{}",
      headers: { authorization: "Bearer s3cret", "x-api-key": "k", accept: "text/plain" },
    });
    expect(await res.text()).toBe("landed");
    expect(b.hits[0]!.method).toBe("GET");
    expect(b.hits[0]!.headers.authorization).toBeUndefined();
    expect(b.hits[0]!.headers["x-api-key"]).toBeUndefined();
    expect(b.hits[0]!.headers.accept).toBe("text/plain");
    expect(b.hits[0]!.headers.host).toBe(`other.test:${b.port}`);
    const before = a.hits.length;
    const e = await caught(c.fetch(`http://collector.test:${a.port}/loop`));
    expect((e as NetRefusal).reason).toBe("redirect-limit");
    expect(a.hits.length - before).toBe(6); // the first request and 5 redirects
  });
});

describe("IPv6", () => {
  let v6: Server | undefined;
  try {
    v6 = Bun.serve({
      port: 0,
      hostname: "::1",
      fetch: (req) => new Response(`v6 ${req.headers.get("host")}`),
    });
    servers.push(v6);
  } catch (e) {
    console.warn(`skipping the IPv6 test: cannot listen on [::1] here (${(e as Error).message})`);
  }
  test.skipIf(!v6)("a name resolving to ::1 is dialled as [::1] with the name as Host", async () => {
    const c = createNetClient(local({ resolver: names({ "v6.test": ["::1"] }) }));
    expect(await (await c.fetch(`http://v6.test:${v6!.port}/`)).text()).toBe(`v6 v6.test:${v6!.port}`);
    expect(await (await c.fetch(`http://[::1]:${v6!.port}/`)).text()).toBe(`v6 [::1]:${v6!.port}`);
    const e = await caught(
      createNetClient(local({ allowLoopback: false })).fetch(`http://[::1]:${v6!.port}/`),
    );
    expect((e as NetRefusal).detail.range).toBe("loopback (::1)");
  });
});

describe("proxy environment", () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const k of [
      "HTTP_PROXY",
      "HTTPS_PROXY",
      "ALL_PROXY",
      "http_proxy",
      "https_proxy",
      "NO_PROXY",
      "no_proxy",
    ])
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
  });

  test("HTTP(S)_PROXY from the environment does not bypass the guard", async () => {
    const proxy = serve(() => new Response("from the proxy"));
    const target = serve(() => new Response("direct"));
    for (const k of ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"])
      process.env[k] = `http://127.0.0.1:${proxy.port}`;
    process.env.NO_PROXY = "";
    const c = createNetClient(local());
    expect(await (await c.fetch(`http://collector.test:${target.port}/`)).text()).toBe("direct");
    // A target the guard refuses stays refused: the proxy never sees it.
    const e = await caught(
      createNetClient(local({ allowLoopback: false })).fetch(`http://collector.test:${target.port}/`),
    );
    expect(e).toBeInstanceOf(NetRefusal);
    expect(proxy.hits.length).toBe(0);
    // Control: plain fetch in the same process does go through that proxy.
    expect(await (await fetch(`http://127.0.0.1:${target.port}/`)).text()).toBe("from the proxy");
  });

  test("an explicitly configured proxy is used, and the target is still checked first", async () => {
    const proxy = serve(() => new Response("via proxy"));
    const c = createNetClient(local({ proxy: `http://127.0.0.1:${proxy.port}` }));
    expect(await (await c.fetch("http://collector.test:9/")).text()).toBe("via proxy");
    const d = createNetClient({
      ...local({ proxy: `http://127.0.0.1:${proxy.port}` }),
      allowLoopback: false,
    });
    expect(await caught(d.fetch("http://collector.test:9/"))).toBeInstanceOf(NetRefusal);
    expect(proxy.hits.length).toBe(1);
  });
});

describe("limits", () => {
  const big = "x".repeat(256 * 1024);
  test("an oversized response is cut off, declared or streamed", async () => {
    const { port } = serve((req) => {
      if (new URL(req.url).pathname === "/declared") return new Response(big);
      const stream = new ReadableStream({
        pull(c) {
          c.enqueue(new TextEncoder().encode(big));
        },
      });
      return new Response(stream); // chunked, no length, never ends
    });
    const c = createNetClient(local({ maxBytes: 64 * 1024 }));
    for (const p of ["/declared", "/stream"]) {
      const e = await caught(c.request(`http://collector.test:${port}${p}`, { responseType: "text" }));
      expect(e).toBeInstanceOf(NetError);
      expect((e as NetError).kind).toBe("too-large");
    }
  });

  test("slow headers and a slow body time out", async () => {
    const { port } = serve(async (req) => {
      if (new URL(req.url).pathname === "/headers") {
        await Bun.sleep(3000);
        return new Response("late");
      }
      let n = 0;
      const stream = new ReadableStream({
        async pull(c) {
          await Bun.sleep(100);
          if (++n > 40) return c.close();
          c.enqueue(new TextEncoder().encode("."));
        },
      });
      return new Response(stream);
    });
    const c = createNetClient(local({ headersTimeoutMs: 300, bodyTimeoutMs: 400 }));
    const h = await caught(c.fetch(`http://collector.test:${port}/headers`));
    expect((h as NetError).kind).toBe("timeout");
    expect((h as NetError).message).toContain("headers");
    const res = await c.fetch(`http://collector.test:${port}/body`);
    expect(res.status).toBe(200);
    const b = await caught(res.text());
    expect(b).toBeInstanceOf(NetError);
    expect((b as NetError).kind).toBe("timeout");
    expect((b as NetError).message).toContain("body");
  });
});

describe("retries", () => {
  test("503 with Retry-After is retried and succeeds; 500 and 400 are not retried", async () => {
    const { port, hits } = serve((req) => {
      const p = new URL(req.url).pathname;
      const n = hits.filter((h) => new URL(h.url).pathname === p).length;
      if (p === "/flaky" && n < 3)
        return new Response("busy", { status: 503, headers: { "retry-after": "0" } });
      if (p === "/500") return new Response("boom", { status: 500 });
      if (p === "/400") return new Response("bad", { status: 400 });
      return Response.json({ n });
    });
    const c = createNetClient(local({ retries: 3, retryBaseMs: 10 }));
    expect(
      await c.request(`http://collector.test:${port}/flaky`, { method: "POST", body: { a: 1 } }),
    ).toEqual({ n: 3 });
    const count = (p: string) => hits.filter((h) => new URL(h.url).pathname === p).length;
    expect(count("/flaky")).toBe(3);
    const e500 = await caught(c.request(`http://collector.test:${port}/500`));
    expect((e500 as NetError).kind).toBe("http");
    expect((e500 as NetError).status).toBe(500);
    await caught(c.request(`http://collector.test:${port}/400`));
    expect(count("/500")).toBe(1);
    expect(count("/400")).toBe(1);
  });

  test("a Retry-After longer than the cap ends the retries at once", async () => {
    const { port, hits } = serve(
      () => new Response("later", { status: 429, headers: { "retry-after": "3600" } }),
    );
    const c = createNetClient(local({ retries: 3, retryMaxDelayMs: 1000 }));
    const res = await c.fetch(`http://collector.test:${port}/`);
    expect(res.status).toBe(429);
    expect(hits.length).toBe(1);
  });

  test("network errors are retried: a server that appears on the second attempt is reached", async () => {
    // Reserve a port, close it, and start the server there after the first attempt failed.
    const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
    const port = probe.port;
    probe.stop(true);
    let attempts = 0;
    const c = createNetClient(
      local({
        retries: 2,
        retryBaseMs: 10,
        resolver: async () => {
          if (++attempts === 2)
            servers.push(Bun.serve({ port, hostname: "127.0.0.1", fetch: () => new Response("up") }));
          return ["127.0.0.1"];
        },
      }),
    );
    expect(await (await c.fetch(`http://collector.test:${port}/`)).text()).toBe("up");
    expect(attempts).toBe(2);
  });
});

describe("TLS to a pinned address", () => {
  const dir = tempDir("tracer-tls-");
  const gen = Bun.spawnSync(
    ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
      .concat([
        "-keyout",
        `${dir}/key.pem`,
        "-out",
        `${dir}/cert.pem`,
        "-days",
        "2",
        "-subj",
        "/CN=collector.test",
      ])
      .concat(["-addext", "subjectAltName=DNS:collector.test"]),
    { stderr: "pipe" },
  );
  afterAll(cleanupTemp);

  test("certificate and SNI follow the host name while the socket goes to the checked IP", async () => {
    expect(gen.exitCode).toBe(0);
    const ca = readFileSync(`${dir}/cert.pem`, "utf8");
    const s = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      tls: { cert: ca, key: readFileSync(`${dir}/key.pem`, "utf8") },
      fetch: (req) => {
        if (new URL(req.url).pathname === "/down") return Response.redirect("http://collector.test:9/", 302);
        return new Response(`tls ${req.headers.get("host")}`);
      },
    });
    servers.push(s);
    const resolver = names({ "collector.test": ["127.0.0.1"], "other.test": ["127.0.0.1"] });
    const c = createNetClient({ allowLoopback: true, resolver, ca, retries: 0 });
    expect(await (await c.fetch(`https://collector.test:${s.port}/`)).text()).toBe(
      `tls collector.test:${s.port}`,
    );
    // Same address, another name: the certificate does not match, so the connection is refused.
    const wrong = await caught(c.fetch(`https://other.test:${s.port}/`));
    expect(wrong).toBeInstanceOf(NetError);
    expect((wrong as NetError).message).toMatch(/CERT|certificate|altname/i);
    // https → http is never followed, even to an allowed address with http opted in.
    const down = await caught(
      createNetClient({ allowLoopback: true, allowHttp: true, resolver, ca, retries: 0 }).fetch(
        `https://collector.test:${s.port}/down`,
      ),
    );
    expect((down as NetRefusal).reason).toBe("redirect-downgrade");
  });
});

describe("Retry-After and backoff", () => {
  test("delta-seconds, HTTP dates, garbage", async () => {
    const { parseRetryAfter, backoffMs } = await import("../../src/net/client.ts");
    const now = Date.UTC(2026, 0, 1, 0, 0, 0);
    expect(parseRetryAfter("7", now)).toBe(7000);
    expect(parseRetryAfter(" 0 ", now)).toBe(0);
    expect(parseRetryAfter(new Date(now + 90_000).toUTCString(), now)).toBe(90_000);
    expect(parseRetryAfter(new Date(now - 5000).toUTCString(), now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
    for (let a = 0; a < 10; a++) {
      const d = backoffMs(a, 100, 2000);
      expect(d).toBeGreaterThanOrEqual(Math.min(2000, 100 * 2 ** a) / 2);
      expect(d).toBeLessThanOrEqual(Math.min(2000, 100 * 2 ** a));
    }
  });
});

describe("redirect targets go through the whole policy", () => {
  test("file:, userinfo and plain-http-without-opt-in targets are refused", async () => {
    const a = serve((req) => Response.redirect(new URL(req.url).searchParams.get("to")!, 302));
    const c = createNetClient(local());
    const cases: [string, string][] = [
      ["file:///etc/passwd", "scheme"],
      [`http://user:pw@collector.test:${a.port}/`, "userinfo"],
      ["gopher://collector.test/", "scheme"],
    ];
    for (const [to, reason] of cases) {
      const e = await caught(c.fetch(`http://collector.test:${a.port}/?to=${encodeURIComponent(to)}`));
      expect({ to, reason: (e as NetRefusal).reason as string }).toEqual({ to, reason });
    }
  });
});
