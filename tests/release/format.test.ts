import { describe, expect, test } from "bun:test";
import {
  SigExit,
  checkNotDowngrade,
  compareVersions,
  formatPublicKey,
  formatSecretKey,
  generateKeyPair,
  keyIdHex,
  loadSecretKey,
  parsePublicKey,
  parseSignature,
  parseTrustedComment,
  pickParams,
  sign,
  verifySignature,
} from "../../src/release/index.ts";
import { givenKey } from "../../src/release/trusted.ts";

const data = new TextEncoder().encode("hello tracer\n");

describe("minisign formats", () => {
  test("key id text is the little-endian u64 in uppercase hex", () => {
    expect(keyIdHex(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 0xab]))).toBe("AB07060504030201");
  });

  test("public key and unencrypted secret key round-trip", () => {
    const k = generateKeyPair();
    const pk = parsePublicKey(formatPublicKey(k));
    expect(Buffer.from(pk.key).equals(Buffer.from(k.key))).toBe(true);
    const sk = loadSecretKey(formatSecretKey(k));
    expect(Buffer.from(sk.secret).equals(Buffer.from(k.secret))).toBe(true);
  });

  test("libsodium pickparams: minisign's sensitive limits give N=2^20, r=8, p=1; the ops floor applies", () => {
    expect(pickParams(33554432, 1073741824)).toEqual({ logN: 20, r: 8, p: 1 });
    expect(pickParams(524288, 16777216)).toEqual({ logN: 14, r: 8, p: 1 });
    expect(pickParams(1, 1 << 30)).toEqual(pickParams(32768, 1 << 30));
  });

  test("minisign's base64: garbage, a missing character or missing padding are malformed", () => {
    const k = generateKeyPair();
    const sig = sign({ key: k, data: { bytes: data }, fields: { file: "x" } });
    const lines = sig.split("\n");
    for (const bad of [`${lines[1]!.slice(0, -2)}*=`, lines[1]!.slice(1), lines[1]!.replace(/=$/, "")]) {
      const text = [lines[0], bad, lines[2], lines[3], ""].join("\n");
      expect(() => parseSignature(text)).toThrow(expect.objectContaining({ exitCode: SigExit.malformed }));
    }
  });

  test("the trusted comment carries timestamp, file, version and target", () => {
    const k = generateKeyPair();
    const sig = sign({
      key: k,
      data: { bytes: data },
      fields: { file: "a.tar.gz", version: "1.2.3", target: "linux-x64" },
    });
    const f = parseTrustedComment(parseSignature(sig).trustedComment);
    expect(f).toMatchObject({ file: "a.tar.gz", version: "1.2.3", target: "linux-x64", hashed: "" });
    expect(Number(f.timestamp)).toBeGreaterThan(1.7e9);
    const v = verifySignature({
      signature: sig,
      data: { bytes: data },
      name: "a.tar.gz",
      keys: [givenKey(formatPublicKey(k), "k")],
      version: "1.2.3",
      target: "linux-x64",
    });
    expect(v.keyId).toBe(keyIdHex(k.keyId));
  });
});

describe("downgrade helper", () => {
  test("semantic version order, pre-releases before their release", () => {
    expect(compareVersions("1.10.0", "1.9.9")).toBe(1);
    expect(compareVersions("1.0.0-rc.1", "1.0.0")).toBe(-1);
    expect(compareVersions("1.0.0-rc.2", "1.0.0-rc.10")).toBe(-1);
    expect(compareVersions("v2.0.0", "2.0.0")).toBe(0);
  });

  test("an older signed version is refused unless allowed; same or newer passes", () => {
    expect(() => checkNotDowngrade("0.9.0", { running: "1.0.0" })).toThrow(
      expect.objectContaining({ code: "E_SIG_DOWNGRADE", exitCode: SigExit.downgrade }),
    );
    expect(() => checkNotDowngrade("0.9.0", { running: "1.0.0", allowDowngrade: true })).not.toThrow();
    expect(() => checkNotDowngrade("1.0.0", { running: "1.0.0" })).not.toThrow();
    expect(() => checkNotDowngrade("1.0.1", { running: "1.0.0-dev" })).not.toThrow();
    expect(() => checkNotDowngrade(undefined, { running: "1.0.0" })).toThrow(
      expect.objectContaining({ code: "E_SIG_NO_VERSION" }),
    );
  });
});
