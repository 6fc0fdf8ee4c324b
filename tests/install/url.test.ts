/** Pure checks: the strict version pattern, URL building from the constant base, platform detection. */
import { describe, expect, test } from "bun:test";
import { TracerError } from "../../src/errors.ts";
import { detectTarget } from "../../src/install/preflight.ts";
import {
  DEFAULT_RELEASE_BASE,
  type ReleaseSource,
  checkVersion,
  releaseSource,
  releaseUrl,
} from "../../src/install/url.ts";

const src = (base: string): ReleaseSource => ({
  base: new URL(base),
  hosts: [new URL(base).hostname],
  allowLoopback: false,
});

describe("versions", () => {
  test.each(["0.0.0", "1.2.3", "10.20.30", "1.0.0-rc.1", "1.0.0-alpha-2.x", "999999999.0.0"])(
    "accepts %s",
    (v) => expect(checkVersion(v)).toBe(v),
  );
  test.each([
    "v1.2.3",
    "1.2",
    "1.2.3.4",
    "01.2.3",
    "1.2.3+build",
    "1.2.3-",
    "1.2.3-01",
    "1.2.3/..",
    "../1.2.3",
    "1.2.3%2f",
    "1.2.3?x",
    "1.2.3#x",
    " 1.2.3",
    "1.2.3\n",
    "１.2.3",
    `1.2.3-${"a".repeat(80)}`,
    "",
  ])("refuses %j", (v) => {
    expect(() => checkVersion(v)).toThrow(TracerError);
  });
});

describe("release URLs", () => {
  test("GitHub layout under the constant base", () => {
    const s = src("https://example.org/org/tracer/releases");
    expect(releaseUrl(s, "1.2.3", "tracer-1.2.3-linux-x64.tar.gz").href).toBe(
      "https://example.org/org/tracer/releases/download/v1.2.3/tracer-1.2.3-linux-x64.tar.gz",
    );
    expect(releaseUrl(s, "latest", "manifest.json").href).toBe(
      "https://example.org/org/tracer/releases/latest/download/manifest.json",
    );
  });
  test.each(["../x", "a/b", "%2e%2e", "..", ".hidden", "a?b", "a#b", "a b", ""])(
    "refuses file name %j",
    (f) => {
      expect(() => releaseUrl(src("https://example.org/r"), "1.0.0", f)).toThrow(
        /refusing release file name/,
      );
    },
  );
  test("refuses a version that is not strict semver, even internally", () => {
    expect(() => releaseUrl(src("https://example.org/r"), "1.0.0/../../x", "manifest.json")).toThrow(
      TracerError,
    );
  });
  test("the default build uses the constant https base", () => {
    const s = releaseSource();
    expect(s.base.href).toBe(DEFAULT_RELEASE_BASE);
    expect(s.base.protocol).toBe("https:");
    expect(s.allowLoopback).toBe(false);
    expect(s.ca).toBeUndefined();
    expect(s.hosts[0]).toBe("github.com");
  });
});

describe("platform", () => {
  test("this host maps to a release target", () => {
    expect(detectTarget()).toMatch(/^(linux|darwin)-(x64|arm64)(-musl)?$/);
  });
  test("unsupported platforms are refused by name", () => {
    expect(() => detectTarget("win32", "x64")).toThrow(/no tracer release for win32-x64/);
    expect(() => detectTarget("linux", "ia32")).toThrow(/no tracer release for linux-ia32/);
    expect(() => detectTarget("freebsd", "x64")).toThrow(/supported: linux-x64/);
  });
});
