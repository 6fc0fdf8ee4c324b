/**
 * checkUrl over the URL payloads attackers use, with an injected resolver (no DNS): every inward
 * target is refused with a typed NetRefusal naming the address and range; public targets pass.
 */
import { describe, expect, test } from "bun:test";
import { NetError, NetRefusal } from "../../src/net/errors.ts";
import { checkUrl, type NetPolicy, type Resolver } from "../../src/net/guard.ts";

const DNS: Record<string, string[]> = {
  "public.test": ["93.184.216.34"],
  "public6.test": ["2606:2800:220:1:248:1893:25c8:1946"],
  "metadata.google.internal": ["169.254.169.254"],
  "instance-data.ec2.internal": ["fd00:ec2::254"],
  localhost: ["127.0.0.1", "::1"],
  "mixed.test": ["93.184.216.34", "10.0.0.7"],
  "mapped.test": ["::ffff:192.168.1.1"],
  "nip.test": ["127.0.0.1"],
  "xn--mnchen-3ya.test": ["127.0.0.2"],
};
const resolver: Resolver = async (h) => {
  const a = DNS[h];
  if (!a) throw new Error(`NXDOMAIN ${h}`);
  return a;
};
const policy: NetPolicy = { resolver, allowHttp: true };

async function refusal(url: string, p: NetPolicy = policy): Promise<NetRefusal> {
  try {
    await checkUrl(url, p);
  } catch (e) {
    if (e instanceof NetRefusal) return e;
    throw e;
  }
  throw new Error(`${url} was allowed`);
}

describe("inward targets are refused", () => {
  const cases: [string, RegExp][] = [
    ["http://2130706433/", /127\.0\.0\.1.*loopback/],
    ["http://0x7f000001/", /127\.0\.0\.1/],
    ["http://0x7f.1/", /127\.0\.0\.1/],
    ["http://0177.0.0.1/", /127\.0\.0\.1/],
    ["http://017700000001/", /127\.0\.0\.1/],
    ["http://127.1/", /127\.0\.0\.1/],
    ["http://127.0.1/", /127\.0\.0\.1/],
    ["http://127。0。0。1/", /127\.0\.0\.1/],
    ["http://①②⑦.⓪.⓪.①/", /127\.0\.0\.1/],
    ["http://%31%32%37.0.0.1/", /127\.0\.0\.1/],
    ["http://127.0.0.1./", /127\.0\.0\.1/],
    ["http://0/", /0\.0\.0\.0.*unspecified/],
    ["http://0.0.0.0:8080/", /unspecified/],
    ["http://[::]/", /unspecified/],
    ["http://[::1]:4318/", /loopback/],
    ["http://[::ffff:127.0.0.1]/", /IPv4-mapped loopback/],
    ["http://[::ffff:a9fe:a9fe]/", /metadata/],
    ["http://[::127.0.0.1]/", /IPv4-compatible/],
    ["http://[0:0:0:0:0:ffff:10.0.0.1]/", /private/],
    ["http://[64:ff9b::169.254.169.254]/", /NAT64.*metadata/],
    ["http://[2002:a9fe:a9fe::]/", /6to4.*169\.254\.169\.254/],
    ["http://[fd00:ec2::254]/latest/meta-data/", /AWS IMDS IPv6/],
    ["http://169.254.169.254/latest/meta-data/", /cloud metadata/],
    ["http://2852039166/", /169\.254\.169\.254.*metadata/],
    ["http://100.100.100.200/", /Alibaba/],
    ["http://168.63.129.16/", /WireServer/],
    [
      "http://metadata.google.internal/computeMetadata/v1/",
      /metadata\.google\.internal resolves to 169\.254\.169\.254/,
    ],
    ["http://metadata.google.internal./", /169\.254\.169\.254/],
    ["http://METADATA.GOOGLE.INTERNAL/", /169\.254\.169\.254/],
    ["http://instance-data.ec2.internal/", /fd00:ec2::254/],
    ["http://localhost/", /loopback/],
    ["http://localhost.:4318/", /loopback/],
    ["http://mixed.test/", /10\.0\.0\.7.*private/],
    ["http://mapped.test/", /IPv4-mapped private/],
    ["http://münchen.test/", /127\.0\.0\.2/],
    ["http://nip.test#@public.test/", /127\.0\.0\.1/],
    ["http://nip.test\\@public.test/", /127\.0\.0\.1/],
    ["http://nip.test?@public.test/", /127\.0\.0\.1/],
    ["http://10.0.0.1/", /private \(10/],
    ["http://172.16.5.4/", /private \(172/],
    ["http://192.168.0.1/", /private \(192\.168/],
    ["http://100.64.0.1/", /carrier-grade/],
    ["http://198.18.0.1/", /benchmarking/],
    ["http://192.0.2.1/", /documentation/],
    ["http://224.0.0.1/", /multicast/],
    ["http://255.255.255.255/", /broadcast/],
    ["http://240.0.0.1/", /reserved/],
    ["http://[fe80::1]/", /link-local/],
    ["http://[fec0::1]/", /site-local/],
  ];
  for (const [url, why] of cases)
    test(url, async () => {
      const r = await refusal(url);
      expect(r.reason).toBe("address");
      expect(r.exitCode).toBe(3);
      expect(r.message).toMatch(why);
      expect(r.detail.address).toBeString();
      expect(r.detail.range).toBeString();
    });
});

describe("URL-level refusals", () => {
  test("userinfo tricks are refused before any resolution", async () => {
    for (const u of [
      "https://user:pass@public.test/",
      "https://public.test@127.0.0.1/",
      "https://public.test:443@nip.test/",
      "https://%40@public.test/",
    ]) {
      const r = await refusal(u);
      expect({ u, reason: r.reason }).toEqual({ u, reason: "userinfo" });
    }
  });

  test("schemes other than https (and opted-in http) are refused", async () => {
    for (const u of [
      "file:///etc/passwd",
      "gopher://public.test/",
      "ftp://public.test/",
      "data:,x",
      "ws://public.test/",
    ])
      expect((await refusal(u)).reason).toBe("scheme");
    const plain = await refusal("http://public.test/", { resolver });
    expect(plain.reason).toBe("scheme");
    expect(plain.message).toContain("plain http");
  });

  test("host allowlist", async () => {
    const p = { resolver, allowHosts: ["public.test"] };
    expect((await checkUrl("https://public.test./x", p)).dial).toBe("93.184.216.34");
    expect((await refusal("https://public6.test/", p)).reason).toBe("host-not-allowed");
  });

  test("not a URL, and a name that does not resolve", async () => {
    expect((await refusal("not a url")).reason).toBe("bad-url");
    const e = await checkUrl("https://nxdomain.test/", policy).catch((x) => x);
    expect(e).toBeInstanceOf(NetError);
    expect((e as NetError).kind).toBe("resolve");
  });
});

describe("allowed targets", () => {
  test("public names and literals pass and name the address to dial", async () => {
    expect((await checkUrl("https://public.test/", policy)).dial).toBe("93.184.216.34");
    expect((await checkUrl("https://public6.test/", policy)).dial).toBe("2606:2800:220:1:248:1893:25c8:1946");
    const lit = await checkUrl("https://16843009/", policy);
    expect(lit).toMatchObject({ dial: "1.1.1.1", literal: true });
  });

  test("loopback only with the explicit opt-in, metadata never", async () => {
    expect((await checkUrl("http://localhost:4318/", { ...policy, allowLoopback: true })).dial).toBe(
      "127.0.0.1",
    );
    const r = await refusal("http://metadata.google.internal/", {
      ...policy,
      allowLoopback: true,
      allowPrivate: true,
    });
    expect(r.message).toMatch(/metadata/);
  });

  test("the resolver sees the name without its trailing dot, lower-cased", async () => {
    const seen: string[] = [];
    await checkUrl("https://PUBLIC.test./", {
      resolver: async (h) => {
        seen.push(h);
        return ["93.184.216.34"];
      },
    });
    expect(seen).toEqual(["public.test"]);
  });
});
