/**
 * Differential test: `tracer verify` and Debian's `minisign -V` (0.11) over a generated matrix of
 * signature, key and comment variants — line endings, whitespace, NUL, lengths at minisign's buffer
 * limits, extra lines, base64 padding, non-UTF-8 comments. Their verdicts must agree on every case but
 * the policy refusals listed in docs/SIGNING.md (a legacy signature without --allow-legacy, a trusted
 * comment that does not name the file). Each case also states the verdict we expect from minisign, so a
 * generator mistake shows up as such rather than as a silent agreement.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { blake2b, ed25519Sign } from "../../src/release/_crypto.ts";
import { SigExit, generateKeyPair, keyIdHex } from "../../src/release/index.ts";
import { cleanupTemp, run, tempDir } from "../helpers/harness.ts";

type Bytes = Uint8Array;
const enc = (s: string) => Buffer.from(s, "latin1"); // byte-exact: "\xff" is one byte 0xff
const cat = (...parts: (string | Bytes)[]) =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? enc(p) : p)));
const b64 = (b: Bytes) => Buffer.from(b).toString("base64");

const DATA = "data.bin";
const key = generateKeyPair();
const other = generateKeyPair();
let dir: string;
let data: Bytes;

interface Parts {
  untrusted: string | Bytes;
  sigLine: string;
  trusted: Bytes; // the comment as it appears in the file
  globalLine: string;
}

/** Sign `data` with `comment` (the bytes the global signature covers) and return the file's four lines. */
function parts(
  comment: string | Bytes = `timestamp:1\tfile:${DATA}\thashed`,
  o: { legacy?: boolean; alg?: string; signed?: Bytes } = {},
): Parts {
  const c = typeof comment === "string" ? enc(comment) : comment;
  const sig = ed25519Sign(key.secret, o.legacy ? data : blake2b(data));
  const global = ed25519Sign(key.secret, cat(sig, o.signed ?? c));
  return {
    untrusted: "untrusted comment: signature from a test key",
    sigLine: b64(cat(o.alg ?? (o.legacy ? "Ed" : "ED"), key.keyId, sig)),
    trusted: c,
    globalLine: b64(global),
  };
}

const file = (p: Parts, eol = "\n", tail = eol) =>
  cat(p.untrusted, eol, p.sigLine, eol, "trusted comment: ", p.trusted, eol, p.globalLine, tail);

const pubFile = (k = key) => `untrusted comment: minisign public key ${keyIdHex(k.keyId)}\n${pubB64(k)}\n`;
const pubB64 = (k = key) => b64(cat("Ed", k.keyId, k.key));

/** Flip low bits that base64 padding leaves unused: "…Xw=" → "…Xx=" decodes to the same bytes. */
function noncanonical(line: string): string {
  const pad = line.endsWith("==") ? 2 : 1;
  const i = line.length - pad - 1;
  const A = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  return line.slice(0, i) + A[A.indexOf(line[i]!) + 1]! + line.slice(i + 1);
}

type Verdict = "accept" | "reject";
interface Case {
  name: string;
  sig: Bytes;
  /** a public key file, or { b64 } for -P / --pubkey-string */
  key?: string | Bytes | { b64: string };
  /** minisign's verdict, as we read its source */
  minisign: Verdict;
  /** tracer refuses by policy (docs/SIGNING.md) with this exit code where minisign accepts */
  policy?: number;
  tracerArgs?: string[];
  data?: Bytes;
}

/** A trusted comment naming the file, padded with `x` to exactly `n` bytes. */
const commentOf = (n: number) => {
  const head = `timestamp:1\tfile:${DATA}\tpad:`;
  return head + "x".repeat(n - head.length);
};

function matrix(): Case[] {
  const p = parts();
  const ok = file(p);
  const cases: Case[] = [
    { name: "baseline (LF)", sig: ok, minisign: "accept" },
    { name: "CRLF line ends", sig: file(p, "\r\n"), minisign: "accept" },
    { name: "CR-only line ends", sig: file(p, "\r"), minisign: "reject" },
    { name: "LF CR line ends", sig: file(p, "\n\r"), minisign: "reject" },
    { name: "no newline after the global signature", sig: file(p, "\n", ""), minisign: "accept" },
    { name: "CR and no LF after the global signature", sig: file(p, "\n", "\r"), minisign: "accept" },
    { name: "a fifth line", sig: cat(ok, "fifth line\n"), minisign: "accept" },
    {
      name: "many extra lines and binary junk",
      sig: cat(ok, "a\n\nb\0\xff\r\n".repeat(50)),
      minisign: "accept",
    },
    {
      name: "1 MiB after the signature",
      sig: cat(ok, new Uint8Array(1 << 20).fill(0x41)),
      minisign: "accept",
    },
    { name: "empty file", sig: new Uint8Array(0), minisign: "reject" },
    {
      name: "only three lines",
      sig: cat(p.untrusted, "\n", p.sigLine, "\n", "trusted comment: ", p.trusted, "\n"),
      minisign: "reject",
    },
    {
      name: "no LF after the trusted comment (file ends)",
      sig: cat(p.untrusted, "\n", p.sigLine, "\n", "trusted comment: ", p.trusted),
      minisign: "reject",
    },
    { name: "blank first line", sig: cat("\n", ok), minisign: "reject" },
    {
      name: "blank line between lines 1 and 2",
      sig: file({ ...p, untrusted: `${p.untrusted}\n` }),
      minisign: "reject",
    },
    { name: "UTF-8 BOM first", sig: cat("\xef\xbb\xbf", ok), minisign: "reject" },
    {
      name: "Untrusted prefix capitalised",
      sig: file({ ...p, untrusted: "Untrusted comment: x" }),
      minisign: "reject",
    },
    {
      name: "trusted prefix without its space",
      sig: cat(p.untrusted, "\n", p.sigLine, "\ntrusted comment:", p.trusted, "\n", p.globalLine, "\n"),
      minisign: "reject",
    },
    // the untrusted comment line
    {
      name: "CR inside the untrusted comment",
      sig: file({ ...p, untrusted: "untrusted comment: a\rb" }),
      minisign: "accept",
    },
    {
      name: "CR inside the untrusted prefix",
      sig: file({ ...p, untrusted: "untrusted\r comment: a" }),
      minisign: "reject",
    },
    {
      name: "NUL in the untrusted comment",
      sig: file({ ...p, untrusted: "untrusted comment: a\0b" }),
      minisign: "reject",
    },
    {
      name: "ESC and 0xff in the untrusted comment",
      sig: file({ ...p, untrusted: "untrusted comment: \x1b[2J\xff" }),
      minisign: "accept",
    },
    {
      name: "untrusted line of 1,023 bytes with LF",
      sig: file({ ...p, untrusted: `untrusted comment: ${"u".repeat(1022 - 19)}` }),
      minisign: "accept",
    },
    {
      name: "untrusted line of 1,024 bytes with LF",
      sig: file({ ...p, untrusted: `untrusted comment: ${"u".repeat(1023 - 19)}` }),
      minisign: "reject",
    },
    {
      name: "untrusted line of 1,023 bytes with CRLF",
      sig: file({ ...p, untrusted: `untrusted comment: ${"u".repeat(1021 - 19)}` }, "\r\n"),
      minisign: "accept",
    },
    {
      name: "untrusted line of 1,024 bytes with CRLF",
      sig: file({ ...p, untrusted: `untrusted comment: ${"u".repeat(1022 - 19)}` }, "\r\n"),
      minisign: "reject",
    },
    // the signature line
    {
      name: "space after the signature line",
      sig: file({ ...p, sigLine: `${p.sigLine} ` }),
      minisign: "reject",
    },
    {
      name: "space before the signature line",
      sig: file({ ...p, sigLine: ` ${p.sigLine}` }),
      minisign: "reject",
    },
    {
      name: "tab after the signature line",
      sig: file({ ...p, sigLine: `${p.sigLine}\t` }),
      minisign: "reject",
    },
    {
      name: "CR then junk inside the signature line",
      sig: file({ ...p, sigLine: `${p.sigLine.slice(0, 50)}\r${p.sigLine.slice(50)}` }),
      minisign: "reject",
    },
    {
      name: "NUL inside the signature line",
      sig: file({ ...p, sigLine: `${p.sigLine.slice(0, 50)}\0${p.sigLine.slice(50)}` }),
      minisign: "reject",
    },
    {
      name: "signature line without its padding",
      sig: file({ ...p, sigLine: p.sigLine.slice(0, -1) }),
      minisign: "reject",
    },
    {
      name: "signature line with one more group",
      sig: file({ ...p, sigLine: `AAAA${p.sigLine}` }),
      minisign: "reject",
    },
    {
      name: "signature line padded with ==",
      sig: file({ ...p, sigLine: `${p.sigLine.slice(0, -2)}==` }),
      minisign: "reject",
    },
    {
      name: "non-canonical padding bits on the signature line",
      sig: file({ ...p, sigLine: noncanonical(p.sigLine) }),
      minisign: "accept",
    },
    {
      name: "base64url characters",
      sig: file({ ...p, sigLine: p.sigLine.replace(/\+/g, "-").replace(/\//g, "_") }),
      minisign: p.sigLine.match(/[+/]/) ? "reject" : "accept",
    },
    { name: "empty signature line", sig: file({ ...p, sigLine: "" }), minisign: "reject" },
    { name: "unknown algorithm EX", sig: file(parts(undefined, { alg: "EX" })), minisign: "reject" },
    {
      name: "signature line + CRLF (102 bytes) with CR only inside",
      sig: file({ ...p, sigLine: `${p.sigLine}\r` }),
      minisign: "accept",
    },
    {
      name: "signature line + two CRs and LF (103 bytes)",
      sig: file({ ...p, sigLine: `${p.sigLine}\r\r` }),
      minisign: "reject",
    },
    // the global signature line
    {
      name: "space after the global signature",
      sig: file({ ...p, globalLine: `${p.globalLine} ` }),
      minisign: "reject",
    },
    {
      name: "space before the global signature",
      sig: file({ ...p, globalLine: ` ${p.globalLine}` }),
      minisign: "reject",
    },
    {
      name: "CR then junk after the global signature",
      sig: file({ ...p, globalLine: `${p.globalLine}\rjunk junk` }),
      minisign: "accept",
    },
    {
      name: "NUL then junk after the global signature",
      sig: file({ ...p, globalLine: `${p.globalLine}\0junk` }),
      minisign: "accept",
    },
    {
      name: "junk right after the global signature",
      sig: file({ ...p, globalLine: `${p.globalLine}AAAA` }),
      minisign: "reject",
    },
    {
      name: "non-canonical padding bits on the global signature",
      sig: file({ ...p, globalLine: noncanonical(p.globalLine) }),
      minisign: "accept",
    },
    {
      name: "global signature without padding",
      sig: file({ ...p, globalLine: p.globalLine.replace(/=+$/, "") }),
      minisign: "reject",
    },
    {
      name: "global signature bit flipped",
      sig: file({
        ...p,
        globalLine: b64(Buffer.from(p.globalLine, "base64").map((b, i) => (i === 5 ? b ^ 1 : b))),
      }),
      minisign: "reject",
    },
    // the trusted comment
    {
      name: "CR inside the trusted comment (signed in full)",
      sig: file(parts(`timestamp:1\tfile:${DATA}\ta\rb`)),
      minisign: "reject",
    },
    {
      name: "CR inside the trusted comment (signed up to the CR)",
      sig: file(parts(`timestamp:1\tfile:${DATA}\ta\rb`, { signed: enc(`timestamp:1\tfile:${DATA}\ta`) })),
      minisign: "accept",
    },
    {
      name: "NUL inside the trusted comment",
      sig: file(parts(`timestamp:1\tfile:${DATA}\ta\0b`)),
      minisign: "reject",
    },
    {
      name: "NUL inside the trusted comment (signed up to the NUL)",
      sig: file(parts(`timestamp:1\tfile:${DATA}\ta\0b`, { signed: enc(`timestamp:1\tfile:${DATA}\ta`) })),
      minisign: "reject",
    },
    {
      name: "trusted comment not UTF-8 (0xff)",
      sig: file(parts(`timestamp:1\tfile:${DATA}\tnote:\xff\xfe`)),
      minisign: "accept",
    },
    {
      name: "trusted comment with an overlong UTF-8 form",
      sig: file(parts(`timestamp:1\tfile:${DATA}\tnote:\xc0\xaf`)),
      minisign: "accept",
    },
    {
      name: "trusted comment with a lone surrogate (CESU)",
      sig: file(parts(`timestamp:1\tfile:${DATA}\tnote:\xed\xa0\x80`)),
      minisign: "accept",
    },
    {
      name: "trusted comment with ESC sequences",
      sig: file(parts(`timestamp:1\tfile:${DATA}\tnote:\x1b]0;PWNED\x07\x1b[2J`)),
      minisign: "accept",
    },
    {
      name: "trusted comment with C1 CSI (U+009B) and bidi override",
      sig: file(parts(`timestamp:1\tfile:${DATA}\tnote:\xc2\x9b31m\xe2\x80\xae`)),
      minisign: "accept",
    },
    {
      name: "trusted comment with leading and trailing spaces",
      sig: file(parts(` timestamp:1\tfile:${DATA}\t `)),
      minisign: "accept",
    },
    {
      name: "trusted comment in valid UTF-8 (non-ASCII)",
      sig: file(parts(Buffer.from(`timestamp:1\tfile:${DATA}\tnote:données ✓`))),
      minisign: "accept",
    },
    {
      name: "trusted comment altered after signing",
      sig: file({ ...p, trusted: enc(`timestamp:2\tfile:${DATA}\thashed`) }),
      minisign: "reject",
    },
    {
      name: "trusted comment of 0 bytes",
      sig: file(parts("")),
      minisign: "accept",
      policy: SigExit.wrongFile,
    },
    {
      name: "trusted comment naming another file",
      sig: file(parts("timestamp:1\tfile:other.bin")),
      minisign: "accept",
      policy: SigExit.wrongFile,
    },
  ];
  for (const n of [8172, 8173, 8174, 8175, 8191, 8192, 8193])
    cases.push({
      name: `trusted comment of ${n} bytes (LF)`,
      sig: file(parts(commentOf(n))),
      minisign: n <= 8173 ? "accept" : "reject",
    });
  for (const n of [8172, 8173])
    cases.push({
      name: `trusted comment of ${n} bytes (CRLF)`,
      sig: file(parts(commentOf(n)), "\r\n"),
      minisign: n <= 8172 ? "accept" : "reject",
    });
  // legacy (non-prehashed) signatures: minisign -V accepts them; tracer only with --allow-legacy
  const legacy = file(parts(undefined, { legacy: true }));
  cases.push(
    { name: "legacy Ed signature", sig: legacy, minisign: "accept", policy: SigExit.legacy },
    {
      name: "legacy Ed signature with --allow-legacy",
      sig: legacy,
      minisign: "accept",
      tracerArgs: ["--allow-legacy"],
    },
    { name: "modified data", sig: ok, minisign: "reject", data: cat(data, "x") },
  );
  // public keys
  const pub = pubFile();
  const line = pubB64();
  cases.push(
    { name: "key file with CRLF", sig: ok, key: pub.replace(/\n/g, "\r\n"), minisign: "accept" },
    { name: "key file with extra lines", sig: ok, key: `${pub}more\nlines\n`, minisign: "accept" },
    { name: "key file without a final newline", sig: ok, key: pub.trimEnd(), minisign: "accept" },
    { name: "key file: bare base64 line", sig: ok, key: `${line}\n`, minisign: "reject" },
    { name: "key file: first line is anything", sig: ok, key: `hello\0\xff\n${line}\n`, minisign: "accept" },
    { name: "key file: empty first line", sig: ok, key: `\n${line}\n`, minisign: "accept" },
    { name: "key file: space after the key", sig: ok, key: `x\n${line} \n`, minisign: "reject" },
    { name: "key file: space before the key", sig: ok, key: `x\n ${line}\n`, minisign: "reject" },
    { name: "key file: CR then junk after the key", sig: ok, key: `x\n${line}\rjunk\n`, minisign: "accept" },
    { name: "key file: NUL then junk after the key", sig: ok, key: `x\n${line}\0junk\n`, minisign: "accept" },
    {
      name: "key file: CR inside the key",
      sig: ok,
      key: `x\n${line.slice(0, 20)}\r${line.slice(20)}\n`,
      minisign: "reject",
    },
    { name: "key file: padded key", sig: ok, key: `x\n${line}====\n`, minisign: "reject" },
    {
      name: "key file: a 1,023-byte first line runs into the key",
      sig: ok,
      key: `${"c".repeat(1023)}${line}\n`,
      minisign: "accept",
    },
    {
      name: "key file: a 1,022-byte first line then the key on the same line",
      sig: ok,
      key: `${"c".repeat(1022)}${line}\n`,
      minisign: "reject",
    },
    { name: "key file: empty", sig: ok, key: "", minisign: "reject" },
    { name: "key file: another key", sig: ok, key: pubFile(other), minisign: "reject" },
    {
      name: "key file: not an Ed key",
      sig: ok,
      key: `x\n${b64(cat("Ex", key.keyId, key.key))}\n`,
      minisign: "reject",
    },
    { name: "-P key", sig: ok, key: { b64: line }, minisign: "accept" },
    { name: "-P key with a trailing newline", sig: ok, key: { b64: `${line}\n` }, minisign: "reject" },
    { name: "-P key with a leading space", sig: ok, key: { b64: ` ${line}` }, minisign: "reject" },
    { name: "-P key given as a whole key file", sig: ok, key: { b64: pub }, minisign: "reject" },
    { name: "-P another key", sig: ok, key: { b64: pubB64(other) }, minisign: "reject" },
  );
  return cases;
}

beforeAll(() => {
  dir = tempDir("tracer-mdiff-");
  data = crypto.getRandomValues(new Uint8Array(4096));
});
afterAll(cleanupTemp);

async function verdicts(c: Case, i: number) {
  const d = join(dir, String(i)); // one directory per case: the data file must be named DATA
  mkdirSync(d);
  const path = join(d, DATA);
  writeFileSync(path, c.data ?? data);
  writeFileSync(join(d, "s.minisig"), c.sig);
  const k = c.key ?? pubFile();
  const keyM: string[] = [];
  const keyT: string[] = [];
  if (typeof k === "object" && "b64" in k) {
    keyM.push("-P", k.b64);
    keyT.push("--pubkey-string", k.b64);
  } else {
    writeFileSync(join(d, "k.pub"), typeof k === "string" ? enc(k) : k);
    keyM.push("-p", join(d, "k.pub"));
    keyT.push("--pubkey", join(d, "k.pub"));
  }
  const m = Bun.spawn(["minisign", "-V", "-m", path, "-x", join(d, "s.minisig"), ...keyM], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const t = run(["verify", path, "--sig", join(d, "s.minisig"), ...keyT, ...(c.tracerArgs ?? [])]);
  const [mCode, tr] = await Promise.all([m.exited, t]);
  return { minisign: mCode, tracer: tr.code, tracerErr: tr.stderr, tracerOut: tr.stdout };
}

describe("tracer verify agrees with minisign -V", () => {
  test("over the generated matrix (≥ 60 variants), policy refusals apart", async () => {
    const cases = matrix();
    expect(cases.length).toBeGreaterThanOrEqual(60);
    console.log(`${cases.length} variants`);
    const rows: string[] = [];
    const results: Awaited<ReturnType<typeof verdicts>>[] = [];
    for (let i = 0; i < cases.length; i += 8)
      results.push(...(await Promise.all(cases.slice(i, i + 8).map((c, j) => verdicts(c, i + j)))));
    cases.forEach((c, i) => {
      const r = results[i]!;
      const m: Verdict = r.minisign === 0 ? "accept" : "reject";
      const t: Verdict = r.tracer === 0 ? "accept" : "reject";
      const want = c.policy === undefined ? m : "reject";
      const bad = m !== c.minisign || t !== want || (c.policy !== undefined && r.tracer !== c.policy);
      if (bad)
        rows.push(
          `${c.name}: minisign ${m} (expected ${c.minisign}), tracer ${t} exit ${r.tracer} (expected ${want}${c.policy ? ` exit ${c.policy}` : ""}) ${r.tracerErr.trim()}`,
        );
    });
    expect(rows).toEqual([]);
    const accepted = results.filter((r) => r.minisign === 0).length;
    expect(accepted).toBeGreaterThan(20);
    expect(cases.length - accepted).toBeGreaterThan(20);
  }, 120_000);

  test("the trusted comment is printed escaped: ESC, BEL, C1 and bidi shown, never sent raw", async () => {
    const c: Case = {
      name: "esc",
      sig: file(parts(`timestamp:1\tfile:${DATA}\tnote:\x1b]0;PWNED\x07\x1b[2J\xc2\x9b\xe2\x80\xae`)),
      minisign: "accept",
    };
    const r = await verdicts(c, 10_000);
    expect(r.tracer).toBe(0);
    expect(r.tracerOut).toContain("note:\\x1b]0;PWNED\\x07\\x1b[2J\\u{9b}\\u{202e}");
    expect(r.tracerOut).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]/);
  });
});
