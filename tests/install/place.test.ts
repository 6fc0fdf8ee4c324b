/**
 * place.ts inside a private mount namespace (tmpfs over /usr/local/bin): atomic replacement, kill -9
 * in the middle of a write, a full disk, a hash mismatch, rollback and uninstall. The helper refuses to
 * run anywhere but such a namespace, so the host's /usr/local/bin is never touched.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTemp, pidAlive, tempDir, waitFor } from "../helpers/harness.ts";
import { MountNs } from "./_ns.ts";
import { fakeBinary } from "./_archives.ts";

afterAll(cleanupTemp);
const HELPER = join(import.meta.dir, "_place-helper.ts");
const BUN = process.execPath;
let ns: MountNs | undefined;
afterEach(async () => {
  await ns?.close();
  ns = undefined;
});

const sha256 = (b: Uint8Array) => new Bun.CryptoHasher("sha256").update(b).digest("hex");

function release(bytes = 1024 * 1024) {
  const dir = tempDir("tracer-place-");
  const body = fakeBinary(bytes);
  const file = join(dir, "tracer");
  writeFileSync(file, body, { mode: 0o600 });
  return { file, body, sha: sha256(body), sig: `untrusted comment: test\nsig-of-${sha256(body)}\n` };
}

async function helper(req: object) {
  const r = await ns!.run([BUN, HELPER, JSON.stringify(req)]);
  const line = r.stdout.trim().split("\n").at(-1) ?? "";
  return {
    ...r,
    json: (line.startsWith("{") ? JSON.parse(line) : { raw: r.stdout + r.stderr }) as Record<string, unknown>,
  };
}

const place = (r: ReturnType<typeof release>, sha = r.sha) =>
  helper({ op: "place", source: r.file, sha256: sha, signature: r.sig });

const binDir = () => readdirSync(ns!.path("/usr/local/bin")).sort();
const installed = () => readFileSync(ns!.path("/usr/local/bin/tracer"));

describe("place", () => {
  test("first install: 0755, root-owned, signature beside it, nothing else", async () => {
    ns = await MountNs.create();
    const v1 = release();
    const r = await place(v1);
    expect(r.json.ok).toBe(true);
    expect(Buffer.compare(installed(), Buffer.from(v1.body))).toBe(0);
    const st = statSync(ns.path("/usr/local/bin/tracer"));
    expect(st.mode & 0o7777).toBe(0o755);
    expect(st.uid).toBe(0);
    expect(readFileSync(ns.path("/usr/local/bin/tracer.minisig"), "utf8")).toBe(v1.sig);
    expect(binDir()).toEqual(["tracer", "tracer.minisig"]);
  });

  test("update keeps the previous binary; rollback swaps them back", async () => {
    ns = await MountNs.create();
    const [v1, v2] = [release(), release()];
    expect((await place(v1)).json.ok).toBe(true);
    expect((await place(v2)).json.ok).toBe(true);
    expect(Buffer.compare(installed(), Buffer.from(v2.body))).toBe(0);
    expect(binDir()).toEqual([".tracer.previous", ".tracer.previous.minisig", "tracer", "tracer.minisig"]);
    expect((await helper({ op: "rollback" })).json.ok).toBe(true);
    expect(Buffer.compare(installed(), Buffer.from(v1.body))).toBe(0);
    expect(readFileSync(ns.path("/usr/local/bin/tracer.minisig"), "utf8")).toBe(v1.sig);
    expect(
      Buffer.compare(readFileSync(ns.path("/usr/local/bin/.tracer.previous")), Buffer.from(v2.body)),
    ).toBe(0);
  });

  test("a hash mismatch after writing is refused; nothing changes", async () => {
    ns = await MountNs.create();
    const [v1, v2] = [release(), release()];
    await place(v1);
    const r = await place(v2, "0".repeat(64));
    expect(r.json).toMatchObject({ ok: false, code: "E_PLACE_HASH" });
    expect(Buffer.compare(installed(), Buffer.from(v1.body))).toBe(0);
    expect(binDir()).toEqual(["tracer", "tracer.minisig"]);
  });

  test("disk full (small tmpfs): clear error, old binary byte-identical, no temp left", async () => {
    ns = await MountNs.create("1600k");
    const [v1, v2] = [release(1024 * 1024), release(1024 * 1024)];
    expect((await place(v1)).json.ok).toBe(true);
    const r = await place(v2);
    expect(r.json).toMatchObject({ ok: false, code: "E_NO_SPACE" });
    expect(String(r.json.message)).toContain("not enough space in /usr/local/bin");
    expect(Buffer.compare(installed(), Buffer.from(v1.body))).toBe(0);
    expect(binDir()).toEqual(["tracer", "tracer.minisig"]);
  });

  test("kill -9 while the new binary is being written: old binary intact, leftover cleared next run", async () => {
    ns = await MountNs.create();
    const [v1, v2] = [release(), release(4 * 1024 * 1024)];
    await place(v1);
    const fifo = join(tempDir("tracer-fifo-"), "src");
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    const p = ns.spawn([
      BUN,
      HELPER,
      JSON.stringify({ op: "place", source: fifo, sha256: v2.sha, signature: v2.sig }),
    ]);
    // feed half the binary, then hold the pipe open (fd 3 stays with sleep): the helper is mid-write
    const writer = Bun.spawn([
      "sh",
      "-c",
      'exec 3>"$2"; head -c 2000000 "$1" >&3; exec sleep 60',
      "sh",
      v2.file,
      fifo,
    ]);
    const temp = () => binDir().find((n) => /^\.tracer\.[A-Za-z0-9]{12}$/.test(n));
    try {
      await waitFor(
        () => {
          const t = temp();
          return t !== undefined && statSync(ns!.path(`/usr/local/bin/${t}`)).size >= 1_000_000;
        },
        20_000,
        "the temp file to fill",
      );
    } finally {
      p.kill("SIGKILL");
      writer.kill("SIGKILL");
      await Promise.all([p.exited, writer.exited]);
    }
    expect(pidAlive(p.pid)).toBe(false);
    expect(Buffer.compare(installed(), Buffer.from(v1.body))).toBe(0);
    expect(readFileSync(ns.path("/usr/local/bin/tracer.minisig"), "utf8")).toBe(v1.sig);
    expect(temp()).toBeDefined(); // what a killed process leaves behind...
    expect((await helper({ op: "lock" })).json.ok).toBe(true);
    expect(binDir()).toEqual(["tracer", "tracer.minisig"]); // ...is removed by the next run, under the lock
  });

  test("uninstall removes binary, signature and the kept previous copy", async () => {
    ns = await MountNs.create();
    await place(release());
    await place(release());
    const r = await helper({ op: "uninstall" });
    expect(r.json.ok).toBe(true);
    expect((r.json.out as string[]).length).toBe(4);
    expect(binDir()).toEqual([]);
  });

  test("the helper refuses to run outside a test namespace", () => {
    const env = { ...process.env, TEST_HOST_MNTNS: readlinkSync("/proc/self/ns/mnt") };
    const r = Bun.spawnSync([BUN, HELPER, JSON.stringify({ op: "uninstall" })], { env });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.toString()).toContain("refusing");
    expect(existsSync("/usr/local/bin")).toBe(true);
  });
});
