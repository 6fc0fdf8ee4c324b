/**
 * The malicious-archive corpus against src/install/extract.ts directly (the signed, end-to-end variant
 * runs the compiled binary in flow.test.ts). Every archive must be refused with a TracerError and
 * nothing may appear anywhere but the private extraction dir.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Exit, TracerError } from "../../src/errors.ts";
import { extractRelease } from "../../src/install/extract.ts";
import { cleanupTemp, tempDir } from "../helpers/harness.ts";
import { type RawEntry, fakeBinary, tarStream, tgz, tgzWithZerosAfter } from "./_archives.ts";

afterAll(cleanupTemp);
const BIN = fakeBinary();
const MB = 1024 * 1024;

/** A sandbox: work/x is the 0700 extraction dir, outside/ is what an attack would reach. */
function sandbox(archive: Uint8Array) {
  const root = tempDir("tracer-extract-");
  const outside = join(root, "outside");
  const x = join(root, "work", "x");
  mkdirSync(outside);
  mkdirSync(x, { recursive: true, mode: 0o700 });
  writeFileSync(join(outside, "victim"), "untouched");
  const file = join(root, "work", "release.tar.gz");
  writeFileSync(file, archive);
  return { root, outside, x, file };
}

const listTree = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: false }).map(String).sort();

async function expectRefused(archive: Uint8Array, code: RegExp, maxBytes = 64 * MB) {
  const s = sandbox(archive);
  const before = listTree(s.root).filter((p) => !p.startsWith("work/x/"));
  const err = await extractRelease(s.file, s.x, { maxBytes }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TracerError);
  const te = err as TracerError;
  expect(te.code).toMatch(/^E_ARCHIVE_(UNSAFE|BAD)$/);
  expect(te.exitCode).toBe(Exit.refused);
  expect(te.message).toMatch(code);
  // nothing outside the extraction dir changed
  expect(listTree(s.root).filter((p) => !p.startsWith("work/x/"))).toEqual(before);
  expect(readFileSync(join(s.outside, "victim"), "utf8")).toBe("untouched");
  return te;
}

describe("good archives", () => {
  test("flat layout: the binary comes out byte-identical, private, not executable yet", async () => {
    const s = sandbox(
      tgz([
        { path: "tracer", body: BIN, mode: 0o755 },
        { path: "LICENSE", body: Buffer.from("L") },
      ]),
    );
    const r = await extractRelease(s.file, s.x, { maxBytes: 64 * MB });
    expect(r.binary).toBe(join(s.x, "tracer"));
    expect(Buffer.compare(readFileSync(r.binary), Buffer.from(BIN))).toBe(0);
    expect(r.files.sort()).toEqual(["LICENSE", "tracer"]);
    expect(statSync(r.binary).mode & 0o7777).toBe(0o600);
    expect(statSync(r.binary).uid).toBe(process.getuid!());
  });

  test("one top directory is accepted", async () => {
    const s = sandbox(
      tgz([
        { path: "tracer-1.2.3-linux-x64/", type: "Directory" },
        { path: "tracer-1.2.3-linux-x64/tracer", body: BIN },
      ]),
    );
    const r = await extractRelease(s.file, s.x, { maxBytes: 64 * MB });
    expect(r.binary).toBe(join(s.x, "tracer-1.2.3-linux-x64", "tracer"));
    expect(r.size).toBe(BIN.length);
  });

  test("record padding after the end blocks is accepted (GNU tar pads to 10,240 bytes)", async () => {
    const tar = tarStream([{ path: "tracer", body: BIN }]);
    const padded = Buffer.concat([tar, Buffer.alloc(10240 - (tar.length % 10240))]);
    const s = sandbox(gzipSync(padded));
    const stats = { inflated: 0 };
    const r = await extractRelease(s.file, s.x, { maxBytes: 64 * MB, stats });
    expect(r.size).toBe(BIN.length);
    expect(stats.inflated).toBe(padded.length);
  });

  test("the extraction dir must be private and empty", async () => {
    const s = sandbox(tgz([{ path: "tracer", body: BIN }]));
    writeFileSync(join(s.x, "already"), "x");
    await expect(extractRelease(s.file, s.x, { maxBytes: 64 * MB })).rejects.toThrow(/not empty/);
  });
});

describe("malicious corpus: each refused, nothing written outside", () => {
  const file = (path: string, extra: Partial<RawEntry> = {}): RawEntry => ({ path, body: BIN, ...extra });

  test("../ path", () => expectRefused(tgz([file("../outside/evil")]), /not a plain relative name/));
  test("../ hidden inside a path", () =>
    expectRefused(tgz([file("tracer"), file("a/../../outside/evil")]), /not a plain relative name/));
  test("absolute path", async () => {
    const s = sandbox(new Uint8Array());
    await expectRefused(tgz([file(join(s.outside, "evil"))]), /absolute path/);
  });
  test("symlink then write through it", () =>
    expectRefused(
      tgz([{ path: "d", type: "SymbolicLink", linkpath: "../../outside" }, file("d/tracer")]),
      /is a SymbolicLink/,
    ));
  test("symlink named tracer", () =>
    expectRefused(tgz([{ path: "tracer", type: "SymbolicLink", linkpath: "/bin/sh" }]), /SymbolicLink/));
  test("hardlink to outside", () =>
    expectRefused(tgz([{ path: "tracer", type: "Link", linkpath: "../../outside/victim" }]), /is a Link/));
  test("hardlink to an absolute path", () =>
    expectRefused(tgz([{ path: "tracer", type: "Link", linkpath: "/etc/passwd" }]), /is a Link/));
  test("character device", () =>
    expectRefused(tgz([{ path: "tracer", type: "CharacterDevice" }]), /is a CharacterDevice/));
  test("block device and FIFO", async () => {
    await expectRefused(tgz([{ path: "tracer", type: "BlockDevice" }]), /BlockDevice/);
    await expectRefused(tgz([{ path: "tracer", type: "FIFO" }]), /FIFO/);
  });
  test("setuid bit", () => expectRefused(tgz([file("tracer", { mode: 0o4755 })]), /setuid/));
  test("setgid and sticky bits", async () => {
    await expectRefused(tgz([file("tracer", { mode: 0o2755 })]), /setuid\/setgid/);
    await expectRefused(tgz([{ path: "d/", type: "Directory", mode: 0o1777 }, file("d/tracer")]), /sticky/);
  });
  test("duplicate tracer entries", () =>
    expectRefused(
      tgz([file("tracer"), file("tracer", { body: fakeBinary(1024) })]),
      /duplicate entry "tracer"/,
    ));
  test("duplicate through ./ spelling", () =>
    expectRefused(tgz([file("tracer"), file("./tracer")]), /duplicate entry "tracer"/));
  test("PAX path override to ../", () =>
    expectRefused(tgz([file("tracer", { pax: { path: "../outside/evil" } })]), /not a plain relative name/));
  test("PAX path override to an absolute path", () =>
    expectRefused(tgz([file("tracer", { pax: { path: "/etc/cron.d/evil" } })]), /absolute path/));
  test("2,000-deep directories", () => {
    const deep = Array.from({ length: 2000 }, () => "a").join("/");
    return expectRefused(
      tgz([{ path: `${deep}/`, type: "Directory" }, file(`${deep}/tracer`)]),
      /nested too deep|unexpected directory/,
    );
  });
  test("unexpected file next to the binary", () =>
    expectRefused(tgz([file("tracer"), file("install-hook.sh")]), /unexpected file/));
  test("no binary at all", () => expectRefused(tgz([file("LICENSE")]), /0 `tracer` binaries/));
  test("two top directories", () => expectRefused(tgz([file("a/tracer"), file("b/LICENSE")]), /outside a/));
  test("declared sizes beyond the manifest budget", () =>
    expectRefused(tgz([file("tracer")]), /larger than the release manifest allows/, 1024));
  test("gzip bomb (ratio > 1000)", async () => {
    const zeros = 160 * MB;
    const bomb = gzipSync(tarStream([{ path: "tracer", body: new Uint8Array(zeros) }]), { level: 9 });
    expect(zeros / bomb.length).toBeGreaterThan(1000);
    await expectRefused(bomb, /decompresses too far.*bomb/, 512 * MB);
  });
  test("zeros after the tar end, past the record padding", async () => {
    const stats = { inflated: 0 };
    const s = sandbox(tgzWithZerosAfter([file("tracer")], 16 * MB));
    const err = await extractRelease(s.file, s.x, { maxBytes: 512 * MB, stats }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/inflates past the end of its tar/);
    // the tar is one header, the body and two end blocks; then at most one 64 KiB chunk more
    expect(stats.inflated).toBeLessThanOrEqual(512 + BIN.length + 1024 + 10240 + 64 * 1024);
  });
  test("a PAX record declaring 100 GiB (node-tar would skip it byte by byte)", () => {
    // a hand-made 'x' header whose size field says 100 GiB (base-256), then nothing: the budget stops it
    const big = Buffer.alloc(12);
    big[0] = 0x80;
    big.writeUIntBE(100 * 1024 ** 3, 6, 6);
    const hdr = tarStream([{ path: "PaxHeader", size: 0 }]).subarray(0, 512);
    big.copy(hdr, 124);
    hdr[156] = "x".charCodeAt(0);
    return expectRefused(gzipSync(Buffer.concat([hdr, Buffer.alloc(1 << 20)])), /declare more than/);
  });
  test("truncated stream", () => {
    const good = tgz([file("tracer")]);
    return expectRefused(good.subarray(0, Math.floor(good.length / 2)), /truncated/);
  });
  test("non-gzip body: a plain tar", () => expectRefused(tarStream([file("tracer")]), /not gzip/));
  test("non-gzip body: an HTML error page", () =>
    expectRefused(Buffer.from("<html><body>404 Not Found</body></html>"), /not gzip/));
  test("gzip of garbage", () => expectRefused(gzipSync(fakeBinary(4096)), /checksum|Unrecognized|invalid/i));
  test("empty file", () => expectRefused(new Uint8Array(), /not gzip/));
});

describe("3 GiB after the tar end, measured in its own process", () => {
  test("refused having inflated at most one chunk past the tar's record, under 128 MB RSS", () => {
    const archive = tgzWithZerosAfter([{ path: "tracer", body: BIN }], 3 * 1024 * MB);
    expect(archive.length).toBeLessThan(4 * MB);
    const s = sandbox(archive);
    const helper = join(import.meta.dir, "_extract-helper.ts");
    // maxBytes as for `install --archive` (512 MiB): the budget is what the headers declare, not that
    const p = Bun.spawnSync(
      ["/usr/bin/time", "-v", process.execPath, helper, s.file, s.x, String(512 * MB)],
      { timeout: 60_000 }, // a guard only: the assertions are on bytes and RSS
    );
    const report = p.stderr.toString();
    const out = JSON.parse(p.stdout.toString() || "{}") as {
      ok?: boolean;
      inflated?: number;
      message?: string;
    };
    console.log(`inflated ${out.inflated} bytes; ${out.message}\n${report.trim()}`);
    expect(out.message).toMatch(/inflates past the end of its tar/);
    expect(out.ok).toBe(false);
    const tarEnd = Math.ceil((512 + Math.ceil(BIN.length / 512) * 512 + 1024) / 10240) * 10240;
    expect(out.inflated!).toBeLessThanOrEqual(tarEnd + 64 * 1024);
    const rssKiB = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(report)?.[1]);
    expect(rssKiB).toBeLessThan(128 * 1024);
  }, 90_000);
});
