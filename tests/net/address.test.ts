/**
 * The address classifier against an independent oracle: the deny set of
 * shared/reference/ssrf-policy.md, re-encoded here as integer ranges. Random addresses in every
 * range are refused; random addresses anywhere get the oracle's verdict; every spelling of an IPv4
 * address (decimal, hex, octal, short, mapped, unicode dots) gets the same verdict once the WHATWG URL
 * parser has normalised it.
 */
import { describe, expect, test } from "bun:test";
import { classifyAddress } from "../../src/net/address.ts";

const V4_DENY = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.0.2.0/24",
  "192.31.196.0/24",
  "192.52.193.0/24",
  "192.88.99.0/24",
  "192.168.0.0/16",
  "192.175.48.0/24",
  "198.18.0.0/15",
  "198.51.100.0/24",
  "203.0.113.0/24",
  "224.0.0.0/4",
  "240.0.0.0/4",
  "168.63.129.16/32",
];
const toInt = (ip: string) => ip.split(".").reduce((a, o) => a * 256 + Number(o), 0);
const toIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
const ranges = V4_DENY.map((c) => {
  const [ip, bits] = c.split("/") as [string, string];
  const size = 2 ** (32 - Number(bits));
  return { c, lo: toInt(ip), size };
});
const oracleDenied = (n: number) => ranges.some((r) => n >= r.lo && n < r.lo + r.size);

// Deterministic PRNG so a failure reproduces.
let seed = 0x5eed;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
};
const rand32 = () => Math.floor(rnd() * 2 ** 32);

describe("IPv4 against the reference deny set", () => {
  test("200 random addresses inside every denied range are refused", () => {
    for (const r of ranges)
      for (let i = 0; i < 200; i++) {
        const ip = toIp(r.lo + Math.floor(rnd() * r.size));
        const v = classifyAddress(ip);
        expect({ ip, allowed: v.allowed }).toEqual({ ip, allowed: false });
        expect(v.range).toBeString();
      }
  });

  test("20 000 random addresses get the oracle's verdict", () => {
    let allowed = 0;
    for (let i = 0; i < 20_000; i++) {
      const n = rand32();
      const v = classifyAddress(toIp(n));
      expect({ ip: toIp(n), allowed: v.allowed }).toEqual({ ip: toIp(n), allowed: !oracleDenied(n) });
      if (v.allowed) allowed++;
    }
    expect(allowed).toBeGreaterThan(15_000); // the public space is most of it
  });

  test("every spelling of an address gets the same verdict after URL normalisation", () => {
    const spell = (n: number): string[] => {
      const [a, b, c, d] = toIp(n).split(".").map(Number) as [number, number, number, number];
      return [
        String(n),
        `0x${n.toString(16)}`,
        `0${a.toString(8)}.0${b.toString(8)}.0${c.toString(8)}.0${d.toString(8)}`,
        `${a}.${b * 65536 + c * 256 + d}`,
        `${a}.${b}.${c * 256 + d}`,
        `0x${a.toString(16)}.${b}.${c}.${d}`,
        `${a}。${b}。${c}。${d}`,
        `${a}．${b}．${c}．${d}`,
        [...`${a}.${b}.${c}.${d}`].map((ch) => `%${ch.charCodeAt(0).toString(16)}`).join(""),
        `${a}.${b}.${c}.${d}`.replace(/\d/g, (ch) => String.fromCharCode(0xff10 + Number(ch))),
        `${a}.${b}.${c}.${d}.`,
        `[::ffff:${a}.${b}.${c}.${d}]`,
      ];
    };
    const picks = [toInt("127.0.0.1"), toInt("169.254.169.254"), toInt("10.1.2.3"), toInt("8.8.8.8")];
    for (let i = 0; i < 300; i++) picks.push(rand32());
    for (const n of picks) {
      const expected = !oracleDenied(n);
      for (const s of spell(n)) {
        const host = new URL(`https://${s}/`).hostname;
        expect({ s, host, allowed: classifyAddress(host).allowed }).toEqual({ s, host, allowed: expected });
      }
    }
  });
});

describe("IPv6 forms", () => {
  const denied: [string, RegExp][] = [
    ["::", /unspecified/],
    ["::1", /loopback/],
    ["::ffff:127.0.0.1", /IPv4-mapped loopback/],
    ["::ffff:a9fe:a9fe", /metadata/],
    ["::7f00:1", /IPv4-compatible.*127\.0\.0\.1/],
    ["64:ff9b::7f00:1", /NAT64.*127\.0\.0\.1/],
    ["64:ff9b::a9fe:a9fe", /NAT64.*metadata/],
    ["64:ff9b:1::808:808", /local-use NAT64/],
    ["2002:7f00:1::1", /6to4.*127\.0\.0\.1/],
    ["2002:808:808::1", /6to4/],
    ["2001:0:4136:e378:8000:63bf:80ff:fffe", /Teredo.*127\.0\.0\.1/],
    ["fd00:ec2::254", /metadata \(AWS IMDS IPv6\)/],
    ["fc00::1", /unique-local/],
    ["fe80::1", /link-local/],
    ["fec0::1", /site-local/],
    ["ff02::1", /multicast/],
    ["100::1", /discard/],
    ["2001:db8::1", /documentation/],
    ["2001:2::1", /IETF/],
    ["2620:4f:8000::1", /AS112/],
    ["3fff::1", /documentation/],
    ["4000::1", /outside 2000::\/3/],
    ["5f00::1", /outside 2000::\/3/],
  ];
  for (const [ip, why] of denied)
    test(`${ip} is refused (${why.source})`, () => {
      const v = classifyAddress(ip);
      expect(v.allowed).toBe(false);
      expect(v.range).toMatch(why);
    });

  test("public IPv6 and public addresses behind mapped/NAT64 pass; mapped dials the IPv4", () => {
    expect(classifyAddress("2606:4700:4700::1111").allowed).toBe(true);
    expect(classifyAddress("64:ff9b::808:808")).toMatchObject({ allowed: true, embedded: "8.8.8.8" });
    expect(classifyAddress("::ffff:8.8.8.8")).toMatchObject({ allowed: true, dial: "8.8.8.8" });
  });

  test("URL-parser spellings of IPv6 hosts normalise to the same verdict", () => {
    for (const h of ["[::ffff:127.0.0.1]", "[0:0:0:0:0:ffff:7f00:1]", "[::127.0.0.1]", "[0::1]", "[::0:1]"]) {
      const host = new URL(`https://${h}/`).hostname;
      expect({ h, allowed: classifyAddress(host).allowed }).toEqual({ h, allowed: false });
    }
  });
});

describe("opt-ins", () => {
  test("loopback/private open only their own kind; metadata and link-local never", () => {
    const all = { loopback: true, private: true };
    expect(classifyAddress("127.0.0.1", { loopback: true }).allowed).toBe(true);
    expect(classifyAddress("::1", { loopback: true }).allowed).toBe(true);
    expect(classifyAddress("10.0.0.1", { loopback: true }).allowed).toBe(false);
    expect(classifyAddress("10.0.0.1", { private: true }).allowed).toBe(true);
    expect(classifyAddress("127.0.0.1", { private: true }).allowed).toBe(false);
    for (const ip of ["169.254.169.254", "100.100.100.200", "168.63.129.16", "fd00:ec2::254", "169.254.1.1"])
      expect({ ip, allowed: classifyAddress(ip, all).allowed }).toEqual({ ip, allowed: false });
  });

  test("anything but a canonical address is refused", () => {
    for (const s of ["0x7f.1", "127.1", "2130706433", "localhost", "", "1.2.3.4.5", "::g"])
      expect(classifyAddress(s).allowed).toBe(false);
  });
});
