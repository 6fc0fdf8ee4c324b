/** `tracer net check` through the real binary: verdicts, exit codes (0 allowed, 3 refused), --json. */
import { afterAll, describe, expect, test } from "bun:test";
import { cleanupTemp, run } from "../helpers/harness.ts";

afterAll(cleanupTemp);

describe("tracer net check", () => {
  test("a public literal is allowed (exit 0) and names the address it would dial", async () => {
    const r = await run(["net", "check", "https://16843009/"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("allowed  https://1.1.1.1/");
    expect(r.stdout).toContain("would connect to 1.1.1.1");
  });

  test("inward targets are refused with exit 3 and say which range", async () => {
    const cases: [string, RegExp][] = [
      ["https://169.254.169.254/latest/meta-data/", /cloud metadata/],
      ["https://[::ffff:7f00:1]/", /IPv4-mapped loopback/],
      ["https://localhost/", /localhost resolves to .*loopback/],
      ["https://0x7f.1/", /127\.0\.0\.1, which is loopback/],
      ["http://127.0.0.1:4318/", /plain http/],
      ["https://user:pw@1.1.1.1/", /user:password/],
      ["file:///etc/passwd", /scheme file:/],
    ];
    for (const [url, why] of cases) {
      const r = await run(["net", "check", url]);
      expect({ url, code: r.code }).toEqual({ url, code: 3 });
      expect(r.stderr).toMatch(why);
      expect(r.stdout).toBe("");
    }
  });

  test("--insecure opens loopback and http, never metadata", async () => {
    const ok = await run(["net", "check", "--insecure", "http://localhost:4318/"]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/loopback .*opted in/);
    const meta = await run(["net", "check", "--insecure", "http://169.254.169.254/"]);
    expect(meta.code).toBe(3);
  });

  test("--json is stable: allowed, addresses, refusal with code, reason, address and range", async () => {
    const r = await run(["net", "check", "--json", "https://[64:ff9b::a9fe:a9fe]/"]);
    expect(r.code).toBe(3);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({
      allowed: false,
      refusal: { code: "E_NET_REFUSED_ADDRESS", reason: "address", address: "64:ff9b::a9fe:a9fe" },
    });
    expect(j.refusal.range).toMatch(/NAT64.*169\.254\.169\.254.*metadata/);
    const ok = JSON.parse((await run(["net", "check", "--json", "https://[2606:4700::1111]:8443/x"])).stdout);
    expect(ok).toMatchObject({ allowed: true, dial: "2606:4700::1111", addresses: [{ allowed: true }] });
  });

  test("usage errors exit 2", async () => {
    expect((await run(["net", "check"])).code).toBe(2);
    expect((await run(["net", "check", "https://1.1.1.1/", "--bogus"])).code).toBe(2);
  });
});
