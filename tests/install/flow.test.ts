/**
 * End to end: the compiled installer (built for this test with a local HTTPS release server as its
 * compile-time base, trusting only a test CA and a test key) installs into the real /usr/local/bin
 * inside a private mount namespace (tmpfs), so the host is untouched. Each fault must leave the installed
 * binary byte-identical, no work dir behind, and a clear error.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import type { SecretKey } from "../../src/release/index.ts";
import { type Result, cleanupTemp, isolatedEnv, tempDir } from "../helpers/harness.ts";
import { type RawEntry, fakeBinary, tarStream, tgz, tgzWithZerosAfter } from "./_archives.ts";
import { MountNs } from "./_ns.ts";
import { ReleaseServer, TARGET, buildInstaller, makeRelease, newKey, signBytes } from "./_release.ts";

let key: SecretKey;
let server: ReleaseServer;
let installer: string;
let ns: MountNs | undefined;
let tmp: string;

beforeAll(async () => {
  const dir = tempDir("tracer-e2e-");
  key = newKey();
  server = ReleaseServer.start(dir);
  server.add(makeRelease(key, "0.9.0"));
  server.add(makeRelease(key, "1.0.0"));
  server.add(makeRelease(key, "1.1.0"), true);
  installer = await buildInstaller(join(dir, "build"), server, key);
});
afterAll(() => {
  server?.stop();
  cleanupTemp();
});
afterEach(async () => {
  server.faults.clear();
  await ns?.close();
  ns = undefined;
});

async function fresh(size = "256m", opts: { net?: boolean } = {}) {
  ns = await MountNs.create(size, opts);
  tmp = tempDir("tracer-e2e-tmp-");
}

const run = (args: string[]): Promise<Result> => ns!.run([installer, ...args], isolatedEnv({ TMPDIR: tmp }));

const bin = (name = "tracer") => readFileSync(ns!.path(`/usr/local/bin/${name}`));
const binDir = () => readdirSync(ns!.path("/usr/local/bin")).sort();
const sameAs = (version: string) =>
  Buffer.compare(bin(), Buffer.from(server.releases.get(version)!.binary)) === 0;
const file = (v: string, suffix = ".tar.gz") => `tracer-${v}-${TARGET}${suffix}`;

/** Installed binary is exactly `version`'s, nothing else in the bin dir, no work dir left. */
function expectInstalled(version: string, extra: string[] = []) {
  expect(sameAs(version)).toBe(true);
  const sig = readFileSync(ns!.path("/usr/local/bin/tracer.minisig"), "utf8");
  expect(sig).toContain(`file:tracer-${version}-${TARGET}\t`);
  expect(binDir()).toEqual([...extra, "tracer", "tracer.minisig"].sort());
  expect(readdirSync(tmp)).toEqual([]);
}

async function installed(version: string) {
  const r = await run(["install", "--version", version, "--allow-downgrade"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
}

describe("install, update, rollback, uninstall", () => {
  test("install takes the latest signed release into /usr/local/bin", async () => {
    await fresh();
    const r = await run(["install"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`tracer 1.1.0 (${TARGET}) installed at /usr/local/bin/tracer`);
    expectInstalled("1.1.0");
    expect(server.hits).toContain("/releases/latest/download/manifest.json");
  });

  test("update from 1.0.0 to the latest, then up to date, then rollback", async () => {
    await fresh();
    await installed("1.0.0");
    const r = await run(["update", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      status: "installed",
      version: "1.1.0",
      previousVersion: "1.0.0",
    });
    expectInstalled("1.1.0", [".tracer.previous", ".tracer.previous.minisig"]);
    const again = await run(["update"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("already the latest");
    const back = await run(["update", "--rollback"]);
    expect(back.code).toBe(0);
    expect(back.stdout).toContain("rolled back to tracer 1.0.0");
    expectInstalled("1.0.0", [".tracer.previous", ".tracer.previous.minisig"]);
  });

  test("uninstall removes binary, signature and previous copy; never touches shell rc files", async () => {
    await fresh();
    await installed("1.0.0");
    await installed("1.1.0");
    const r = await run(["uninstall", "--purge"]);
    expect(r.code).toBe(0);
    expect(binDir()).toEqual([]);
    expect(r.stdout).toContain("removed /usr/local/bin/tracer");
  });

  test("--version must be strict semver before it is used anywhere", async () => {
    await fresh();
    const hitsBefore = server.hits.length;
    for (const v of ["v1.0.0", "1.0", "../1.0.0", "1.0.0/../../x", "1.0.0?x=1", "01.0.0", "1.0.0+build"]) {
      const r = await run(["install", "--version", v]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("is not a version like 1.2.3");
    }
    expect(server.hits.length).toBe(hitsBefore);
    expect(binDir()).toEqual([]);
  });
});

describe("preflight", () => {
  test("not root: a clear message with the sudo line, nothing written", async () => {
    await fresh();
    const r = await ns!.run(
      ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", installer, "install"],
      isolatedEnv({ TMPDIR: tmp }),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("needs root");
    expect(r.stderr).toContain("sudo tracer install");
    expect(binDir()).toEqual([]);
  });

  test("a group/world-writable /usr/local/bin is refused", async () => {
    await fresh();
    chmodSync(ns!.path("/usr/local/bin"), 0o777);
    const r = await run(["install"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("group- or world-writable");
    expect(binDir()).toEqual([]);
  });

  test("a symlinked /usr/local/bin/tracer is not replaced", async () => {
    await fresh();
    symlinkSync("/bin/true", ns!.path("/usr/local/bin/tracer"));
    const r = await run(["install"]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("not a regular file");
    expect(readlinkSync(ns!.path("/usr/local/bin/tracer"))).toBe("/bin/true");
  });
});

describe("fault injection: installed binary byte-identical, no leftovers, clear error", () => {
  const v = "1.1.0";
  async function faulty(fault: () => void, code: number | RegExp, message: RegExp, args = ["update"]) {
    await fresh();
    await installed("1.0.0");
    fault();
    const r = await run(args);
    if (typeof code === "number") expect(r.code).toBe(code);
    else expect(String(r.code)).toMatch(code);
    expect(r.stderr).toMatch(message);
    expectInstalled("1.0.0");
    return r;
  }

  test("server 500 on the tarball", () =>
    faulty(() => server.faults.set(`download/v${v}/${file(v)}`, { status: 500 }), 1, /HTTP 500/));
  test("server 500 on the manifest", () =>
    faulty(() => server.faults.set("latest/download/manifest.json", { status: 500 }), 1, /HTTP 500/));
  test("truncated body", () =>
    faulty(() => server.faults.set(`download/v${v}/${file(v)}`, { truncate: 4096 }), 1, /truncated/));
  test("wrong sha256 (same size, one byte changed)", () =>
    faulty(
      () => {
        const tarball = Buffer.from(server.releases.get(v)!.files.get(file(v))!);
        tarball[tarball.length >> 1]! ^= 0xff;
        server.faults.set(`download/v${v}/${file(v)}`, { body: tarball });
      },
      3,
      /does not match the signed manifest/,
    ));
  test("a longer body than the signed manifest says", () =>
    faulty(
      () => {
        const tarball = server.releases.get(v)!.files.get(file(v))!;
        server.faults.set(`download/v${v}/${file(v)}`, { body: Buffer.concat([tarball, Buffer.alloc(100)]) });
      },
      /^[13]$/,
      /larger than|more than the \d+ bytes/,
    ));
  test("bad tarball signature (one flipped bit)", () =>
    faulty(
      () => {
        const sig = Buffer.from(server.releases.get(v)!.files.get(`${file(v)}.minisig`)!);
        const lines = sig.toString().split("\n");
        const b = Buffer.from(lines[1]!, "base64");
        b[20]! ^= 1;
        lines[1] = b.toString("base64");
        server.faults.set(`download/v${v}/${file(v)}.minisig`, { body: Buffer.from(lines.join("\n")) });
      },
      /^1[0-2]$/,
      /signature is invalid|does not match its signature/,
    ));
  test("tarball signature of another version (same bytes, signed as 1.0.0)", () =>
    faulty(
      () => {
        const tarball = server.releases.get(v)!.files.get(file(v))!;
        const replay = signBytes(key, tarball, { file: file("1.0.0"), version: "1.0.0", target: TARGET });
        server.faults.set(`download/v${v}/${file(v)}.minisig`, { body: replay });
      },
      18,
      /signed for file "tracer-1\.0\.0/,
    ));
  test("manifest signature of another version", () =>
    faulty(
      () =>
        server.faults.set(`download/v${v}/manifest.json.minisig`, {
          body: server.releases.get("1.0.0")!.files.get("manifest.json.minisig")!,
        }),
      /^1[0-9]$/,
      /signature|signed for/,
      ["update", "--version", v],
    ));
  test("binary signature of another version", () =>
    faulty(
      () =>
        server.faults.set(`download/v${v}/${file(v, ".minisig")}`, {
          body: server.releases.get("1.0.0")!.files.get(file("1.0.0", ".minisig"))!,
        }),
      /^1[0-9]$/,
      /does not match its signature|signed for/,
    ));
  test("downgrade refused without --allow-downgrade", () =>
    faulty(() => {}, 20, /older than the running 1\.0\.0: refusing to downgrade/, [
      "install",
      "--version",
      "0.9.0",
    ]));
  test("disk full (small tmpfs over /usr/local/bin)", async () => {
    await fresh("1200k");
    await installed("1.0.0");
    const r = await run(["update"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not enough space in \/usr\/local\/bin/);
    expectInstalled("1.0.0");
  });
});

describe("--archive (air-gapped)", () => {
  function writeArchive(dir: string, version: string, tarball?: Uint8Array) {
    const rel = server.releases.get(version)!;
    const tb = tarball ?? rel.files.get(file(version))!;
    writeFileSync(join(dir, file(version)), tb);
    const sig = tarball
      ? signBytes(key, tb, { file: file(version), version, target: TARGET })
      : rel.files.get(`${file(version)}.minisig`)!;
    writeFileSync(join(dir, `${file(version)}.minisig`), sig);
    writeFileSync(join(dir, file(version, ".minisig")), rel.files.get(file(version, ".minisig"))!);
    return join(dir, file(version));
  }

  test("works with the network unavailable (own network namespace)", async () => {
    await fresh("256m", { net: true });
    const hits = server.hits.length;
    const r = await run(["install", "--archive", writeArchive(tempDir(), "1.0.0")]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expectInstalled("1.0.0");
    expect(server.hits.length).toBe(hits);
  });

  test("a tampered archive is refused", async () => {
    await fresh();
    const dir = tempDir();
    const a = writeArchive(dir, "1.0.0");
    const bytes = readFileSync(a);
    bytes[bytes.length - 10]! ^= 0xff;
    writeFileSync(a, bytes);
    const r = await run(["install", "--archive", a]);
    expect(r.code).toBe(10);
    expect(binDir()).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
  });

  // the malicious corpus, each archive validly signed with the trusted test key
  const body = fakeBinary(64 * 1024);
  const f = (path: string, extra: Partial<RawEntry> = {}): RawEntry => ({ path, body, ...extra });
  const deep = Array.from({ length: 2000 }, () => "a").join("/");
  const corpus: [string, () => Uint8Array][] = [
    ["../ path", () => tgz([f("../../../etc/evil")])],
    ["absolute path", () => tgz([f("/etc/evil")])],
    [
      "symlink then write-through",
      () => tgz([{ path: "d", type: "SymbolicLink", linkpath: "/etc" }, f("d/tracer")]),
    ],
    ["hardlink to outside", () => tgz([{ path: "tracer", type: "Link", linkpath: "/etc/passwd" }])],
    ["device node", () => tgz([{ path: "tracer", type: "CharacterDevice" }])],
    ["setuid bit", () => tgz([f("tracer", { mode: 0o4755 })])],
    ["duplicate tracer entries", () => tgz([f("tracer"), f("tracer")])],
    ["PAX path override", () => tgz([f("tracer", { pax: { path: "../../etc/evil" } })])],
    ["2,000-deep dirs", () => tgz([{ path: `${deep}/`, type: "Directory" }, f(`${deep}/tracer`)])],
    [
      "gzip bomb",
      () => gzipSync(tarStream([{ path: "tracer", body: new Uint8Array(64 * 1024 * 1024) }]), { level: 9 }),
    ],
    [
      "3 GiB of zeros after the tar end (~3.3 MB signed)",
      () => tgzWithZerosAfter([f("tracer")], 3 * 1024 ** 3),
    ],
    ["truncated stream", () => tgz([f("tracer")]).subarray(0, 20_000)],
    ["non-gzip body", () => tarStream([f("tracer")])],
  ];
  test.each(corpus)("signed malicious archive refused: %s", async (_name, make) => {
    await fresh();
    await installed("1.0.0");
    const dir = tempDir();
    const r = await run(["install", "--archive", writeArchive(dir, "1.1.0", make())]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/release archive refused/);
    expectInstalled("1.0.0");
    expect(readdirSync(dir).sort()).toEqual(
      [file("1.1.0"), file("1.1.0", ".minisig"), `${file("1.1.0")}.minisig`].sort(),
    );
  });
});

describe("a running daemon", () => {
  test("is only told about the new binary, restarted on it with --restart-daemon, stopped by uninstall", async () => {
    // a real, signed 1.2.0 build whose daemon passes self-verification against the installed signature
    const real = await buildInstaller(join(tempDir("tracer-e2e-real-"), "b"), server, key, "1.2.0");
    server.add(makeRelease(key, "1.2.0", new Uint8Array(readFileSync(real))));
    await fresh();
    await installed("1.0.0");
    const env = isolatedEnv({ TMPDIR: tmp });
    const info = async (bin: string) => JSON.parse((await ns!.run([bin, "info", "--json"], env)).stdout);
    try {
      expect((await ns!.run([installer, "init"], env)).code).toBe(0);
      const before = await info(installer);
      const quiet = await ns!.run([installer, "update", "--version", "1.2.0"], env);
      expect(quiet.code).toBe(0);
      expect(quiet.stderr).toContain(`a daemon (pid ${before.pid}, version 1.0.0) still runs the old binary`);
      expect((await info(installer)).pid).toBe(before.pid);
      const loud = await ns!.run([installer, "update", "--version", "1.2.0", "--restart-daemon"], env);
      expect(loud.code).toBe(0);
      expect(loud.stderr).toContain("daemon restarted on /usr/local/bin/tracer");
      const after = await info("/usr/local/bin/tracer");
      expect(after.version).toBe("1.2.0");
      expect(after.pid).not.toBe(before.pid);
      // uninstall stops it gracefully before removing the binary
      const gone = await ns!.run(["/usr/local/bin/tracer", "uninstall"], env);
      expect(gone.code).toBe(0);
      expect(gone.stdout).toContain(`stopped the daemon (pid ${after.pid})`);
      expect(binDir()).toEqual([]);
      expect((await ns!.run([installer, "info"], env)).code).toBe(4);
    } finally {
      await ns!.run([installer, "terminate"], env);
    }
  }, 120_000);
});

describe("kill -9 of the real binary at any moment", () => {
  test("the installed binary is always the old or the new one, whole; the next run clears leftovers", async () => {
    await fresh();
    await installed("1.0.0");
    const env = isolatedEnv({ TMPDIR: tmp });
    const seen = new Set<string>();
    for (const delay of [0, 10, 25, 50, 80, 120, 160, 220]) {
      const p = ns!.spawn([installer, "update"], env);
      await Bun.sleep(delay);
      p.kill("SIGKILL");
      await p.exited;
      const now = sameAs("1.0.0") ? "old" : sameAs("1.1.0") ? "new" : "partial";
      seen.add(now);
      expect(now).not.toBe("partial");
      // the next run (under the lock) removes whatever the killed one left, and ends consistent
      await installed("1.0.0");
      expectInstalled(
        "1.0.0",
        binDir().filter((n) => n.startsWith(".tracer.previous")),
      );
    }
    expect(seen.has("old")).toBe(true);
  }, 60_000);

  test("killed after keeping the previous binary, before the new one: the next run leaves no temp name", async () => {
    // the kill leaves .tracer.previous a second link to the installed file; rename(2) of another link
    // to that file over it does nothing, and the temp name stayed (CI: .tracer.laMnc6D6CtH1)
    await fresh();
    await installed("1.0.0");
    for (const [from, to] of [
      ["tracer", ".tracer.previous"],
      ["tracer.minisig", ".tracer.previous.minisig"],
    ])
      expect((await ns!.run(["ln", "-f", `/usr/local/bin/${from}`, `/usr/local/bin/${to}`])).code).toBe(0);
    await installed("1.0.0");
    expectInstalled(
      "1.0.0",
      binDir().filter((n) => n.startsWith(".tracer.previous")),
    );
    expect(binDir().filter((n) => n.startsWith(".tracer.previous"))).toHaveLength(2);
  }, 60_000);
});

describe("on a terminal", () => {
  test("a progress bar on stderr (script(1) gives the installer a pty)", async () => {
    await fresh();
    const cmd = `${installer} install --version 1.1.0`;
    const r = await ns!.run(["script", "-qec", cmd, "/dev/null"], isolatedEnv({ TMPDIR: tmp, TERM: "dumb" }));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`\rdownloading ${file("1.1.0")} 100% (1.0/1.0 MB)`);
    expectInstalled("1.1.0");
  });
});
