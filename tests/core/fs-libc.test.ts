/**
 * `tracer run`'s path keeps node:fs, node:path and node:os unloaded (issue 15, start-up): ffi/fs.ts
 * makes the same calls with libc, src/core/path.ts and src/core/host.ts compute what node:path and
 * node:os do. Each is checked here against node's own answer on real files.
 */
import { afterAll, describe, expect, test } from "bun:test";
import * as nodeFs from "node:fs";
import * as nodeOs from "node:os";
import { posix } from "node:path";
import * as fs from "../../ffi/fs.ts";
import { hostname, release } from "../../src/core/host.ts";
import { basename, dirname, join, normalize } from "../../src/core/path.ts";
import { parseSignal, signalNumber } from "../../src/run/signals.ts";
import { cleanupTemp, tempDir } from "../helpers/harness.ts";

afterAll(cleanupTemp);

const LINUX = process.platform === "linux";
const hasCc = Bun.spawnSync(["sh", "-c", "command -v cc"]).exitCode === 0;
if (!hasCc) console.warn("skipped: no C compiler here to build tests/fixtures/nostatx.c");

const statFields = (s: nodeFs.Stats | fs.Stats) => ({
  dev: s.dev,
  ino: s.ino,
  mode: s.mode,
  nlink: s.nlink,
  uid: s.uid,
  gid: s.gid,
  rdev: s.rdev,
  size: s.size,
  // exact: a file's identity (src/spawn/self.ts) is compared across node:fs and ffi/fs.ts
  atimeMs: s.atimeMs,
  mtimeMs: s.mtimeMs,
  ctimeMs: s.ctimeMs,
  birthtimeMs: s.birthtimeMs,
  kinds: [s.isFile(), s.isDirectory(), s.isSymbolicLink(), s.isCharacterDevice(), s.isFIFO(), s.isSocket()],
});

describe.skipIf(!LINUX)("ffi/fs.ts answers as node:fs does (Linux: by libc)", () => {
  test("stat, lstat and fstat of a file, a directory, a symlink and a character device", () => {
    const dir = tempDir();
    const file = posix.join(dir, "f");
    nodeFs.writeFileSync(file, "x".repeat(5000));
    nodeFs.symlinkSync("f", posix.join(dir, "l"));
    for (const p of [file, dir, "/dev/null", posix.join(dir, "l"), "/proc/self/stat"]) {
      expect(statFields(fs.statSync(p))).toEqual(statFields(nodeFs.statSync(p)));
      expect(statFields(fs.lstatSync(p))).toEqual(statFields(nodeFs.lstatSync(p)));
    }
    const fd = fs.openSync(file, fs.constants.O_RDONLY);
    try {
      expect(statFields(fs.fstatSync(fd))).toEqual(statFields(nodeFs.fstatSync(fd)));
    } finally {
      fs.closeSync(fd);
    }
    // times before 1970 (tv_sec negative) and after 2038
    const old = posix.join(dir, "old");
    nodeFs.writeFileSync(old, "");
    for (const when of [new Date("1960-01-01T00:00:00.123Z"), new Date("2100-06-01T12:00:00.5Z")]) {
      nodeFs.utimesSync(old, when, when);
      expect(statFields(fs.statSync(old))).toEqual(statFields(nodeFs.statSync(old)));
      expect(fs.statSync(old).mtime.getTime()).toBe(nodeFs.statSync(old).mtime.getTime());
    }
    expect(fs.statSync(posix.join(dir, "missing"), { throwIfNoEntry: false })).toBeUndefined();
    expect(fs.statSync(posix.join(file, "below"), { throwIfNoEntry: false })).toBeUndefined();
  });

  test("TRACER_NODE_FS=1 (node:fs for every call) answers statSync's throwIfNoEntry as the libc path does", () => {
    const dir = tempDir();
    const file = posix.join(dir, "f");
    nodeFs.writeFileSync(file, "");
    const script = `import { statSync } from ${JSON.stringify(posix.join(import.meta.dir, "../../ffi/fs.ts"))};
const q = (p) => { try { return String(statSync(p, { throwIfNoEntry: false })?.isFile()); } catch (e) { return e.code; } };
console.log(JSON.stringify([q(${JSON.stringify(file)}), q(${JSON.stringify(`${file}/below`)}), q(${JSON.stringify(`${dir}/none`)})]));`;
    const answers = ["1", "0"].map((v) => {
      const r = Bun.spawnSync([process.execPath, "-e", script], {
        env: { ...process.env, TRACER_NODE_FS: v },
      });
      return JSON.parse(r.stdout.toString()) as string[];
    });
    expect(answers[0]).toEqual(["true", "undefined", "undefined"]);
    expect(answers[1]).toEqual(answers[0]!);
  });

  test.skipIf(!hasCc)(
    "statx refused by a seccomp filter (EPERM): stat, lstat and fstat answer as node:fs",
    () => {
      // tests/fixtures/nostatx.c runs a command with statx answering EPERM, as Docker before 18.04 did
      const dir = tempDir();
      const launcher = posix.join(dir, "nostatx");
      const cc = Bun.spawnSync(["cc", "-o", launcher, posix.join(import.meta.dir, "../fixtures/nostatx.c")]);
      expect(cc.exitCode).toBe(0);
      const file = posix.join(dir, "f");
      nodeFs.writeFileSync(file, "12345");
      const script = `import * as nodeFs from "node:fs";
import * as fs from ${JSON.stringify(posix.join(import.meta.dir, "../../ffi/fs.ts"))};
const q = (f) => { try { const s = f(); return s === undefined ? "undefined" : [s.size, s.mode, s.ino, s.mtimeMs]; } catch (e) { return e.code; } };
const file = ${JSON.stringify(file)};
const fd = nodeFs.openSync(file, "r");
const ask = (F) => [q(() => F.statSync(file)), q(() => F.lstatSync(file)), q(() => F.fstatSync(fd)),
  q(() => F.statSync(file + "-none")), q(() => F.statSync(file + "-none", { throwIfNoEntry: false })), q(() => F.lstatSync(file + "/x"))];
console.log(JSON.stringify([ask(fs), ask(nodeFs)]));`;
      const r = Bun.spawnSync([launcher, process.execPath, "-e", script], { stderr: "pipe" });
      expect(r.stderr.toString()).toBe("");
      const [ours, node] = JSON.parse(r.stdout.toString()) as unknown[][];
      expect(ours![0]).toEqual([
        5,
        nodeFs.statSync(file).mode,
        nodeFs.statSync(file).ino,
        nodeFs.statSync(file).mtimeMs,
      ]);
      expect(ours).toEqual(node!);
    },
  );

  test("a path with a NUL inside is refused, not cut short at the NUL (it would name another file)", () => {
    const dir = tempDir();
    const real = posix.join(dir, "x");
    nodeFs.writeFileSync(real, "secret");
    const bad = `${real}\0.log`;
    const code = (f: () => unknown) => {
      try {
        f();
        return "no error";
      } catch (e) {
        return (e as { code?: string }).code;
      }
    };
    for (const f of [
      () => fs.openSync(bad, fs.constants.O_RDONLY),
      () => fs.readFileSync(bad, "latin1"),
      () => fs.statSync(bad),
      () => fs.readlinkSync(bad),
      () => fs.accessSync(bad),
      () => fs.mkdirSync(`${dir}/d\0`),
      () => fs.readFileSync(Buffer.from(bad)),
    ])
      expect(code(f)).toBe("ERR_INVALID_ARG_VALUE");
    expect(fs.existsSync(bad)).toBe(false);
    expect(nodeFs.existsSync(bad)).toBe(false);
    expect(nodeFs.existsSync(`${dir}/d`)).toBe(false);
  });

  test("errors carry node's code, errno, syscall, path and message", () => {
    const missing = posix.join(tempDir(), "nope");
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        const x = e as NodeJS.ErrnoException;
        return { code: x.code, errno: x.errno, syscall: x.syscall, path: x.path, message: x.message };
      }
      throw new Error("no error");
    };
    expect(err(() => fs.openSync(missing))).toEqual(err(() => nodeFs.openSync(missing, "r")));
    expect(err(() => fs.readFileSync(missing, "utf8"))).toEqual(
      err(() => nodeFs.readFileSync(missing, "utf8")),
    );
    expect(err(() => fs.lstatSync(missing)).code).toBe("ENOENT");
    expect(err(() => fs.readlinkSync(missing)).code).toBe("ENOENT");
    const made = posix.join(tempDir(), "d");
    fs.mkdirSync(made, { mode: 0o700 });
    expect(nodeFs.statSync(made).mode & 0o7777).toBe(0o700);
    expect(err(() => fs.mkdirSync(made)).code).toBe("EEXIST");
    expect(err(() => fs.openSync(made, fs.constants.O_RDWR)).code).toBe("EISDIR");
  });

  test("every errno node:fs names has node's code and message", () => {
    const map = (
      require("node:util") as { getSystemErrorMap(): Map<number, [string, string]> }
    ).getSystemErrorMap();
    expect(map.size).toBeGreaterThan(50);
    for (const [n, [code, text]] of map)
      if (n < 0 && n > -1000) expect(fs.errnoText(-n)).toEqual([code, text]);
    // O_TMPFILE where the file system has none (errno 95): node:fs says ENOTSUP
    const O_TMPFILE = 0o20200000 | fs.constants.O_RDWR;
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as { code?: string }).code;
      }
    };
    expect(code(() => nodeFs.openSync("/proc", O_TMPFILE, 0o600))).toBe("ENOTSUP");
    expect(code(() => fs.openSync("/proc", O_TMPFILE, 0o600))).toBe("ENOTSUP");
    expect(fs.errnoText(122)[0]).toBe("EDQUOT"); // src/install/place.ts tests for it
  });

  test("readFileSync: /proc and /sys files, a file larger than its first read, text and bytes", () => {
    for (const p of ["/proc/self/status", "/sys/devices/system/cpu/possible", "/proc/meminfo"])
      expect(fs.readFileSync(p, "latin1").split("\n")[0]).toBe(
        nodeFs.readFileSync(p, "latin1").split("\n")[0]!,
      );
    const big = posix.join(tempDir(), "big");
    const bytes = new Uint8Array(200_000).map((_, i) => (i * 7) & 0xff);
    nodeFs.writeFileSync(big, bytes);
    expect(Buffer.compare(fs.readFileSync(big), Buffer.from(bytes))).toBe(0);
    expect(fs.readFileSync(big, "latin1")).toBe(nodeFs.readFileSync(big, "latin1"));
    const text = posix.join(tempDir(), "t");
    nodeFs.writeFileSync(text, "héllo ✓\n");
    expect(fs.readFileSync(text, "utf8")).toBe("héllo ✓\n");
  });

  test("readFileOrUndefined, statOrUndefined, linkCount, readlinkOrUndefined: node's answer, or undefined (never a throw)", () => {
    const text = posix.join(tempDir(), "u");
    nodeFs.writeFileSync(text, "héllo\n");
    expect(fs.readFileOrUndefined(text, "utf8")).toBe("héllo\n");
    expect(fs.readFileOrUndefined("/proc/self/stat", "latin1")?.split(" ")[0]).toBe(String(process.pid));
    expect(fs.statOrUndefined("/proc/self/task")?.nlink).toBe(nodeFs.statSync("/proc/self/task").nlink);
    expect(fs.linkCount("/proc/self/task")).toBe(nodeFs.statSync("/proc/self/task").nlink);
    expect(fs.linkCount(tempDir())).toBe(nodeFs.statSync(tempDir()).nlink);
    expect(fs.readlinkOrUndefined("/proc/self/cwd")?.toString()).toBe(nodeFs.readlinkSync("/proc/self/cwd"));
    // a process that is gone (the recorder's usual case), a path with a NUL: undefined, no throw
    const gone = Bun.spawnSync(["true"]).pid;
    expect(fs.readFileOrUndefined(`/proc/${gone}/stat`, "latin1")).toBeUndefined();
    expect(fs.readFileOrUndefined(`${text}\0x`, "latin1")).toBeUndefined();
    expect(fs.statOrUndefined(`${text}\0x`)).toBeUndefined();
    expect(fs.linkCount(`${text}\0x`)).toBeUndefined();
    expect(fs.readlinkOrUndefined(`${text}\0x`)).toBeUndefined();
    expect(fs.statOrUndefined(`/proc/${gone}/task`)).toBeUndefined();
    expect(fs.linkCount(`/proc/${gone}/task`)).toBeUndefined();
    expect(fs.readlinkOrUndefined(`/proc/${gone}/cwd`)).toBeUndefined();
  });

  test("write, read at a position and from the fd's offset, readlink, access, exists, chmod", () => {
    const dir = tempDir();
    const p = posix.join(dir, "w");
    const fd = fs.openSync(p, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
    try {
      expect(fs.writeSync(fd, "abc✓")).toBe(6);
      expect(fs.writeSync(fd, Buffer.from("0123456789"), 2, 3)).toBe(3);
      const b = Buffer.alloc(16);
      expect(fs.readSync(fd, b, 1, 4, 1)).toBe(4);
      expect(b.subarray(1, 5).toString("latin1")).toBe(Buffer.from("bc✓").subarray(0, 4).toString("latin1"));
      expect(fs.readSync(fd, b, 0, 16, null)).toBe(0); // at the end already
      fs.fchmodSync(fd, 0o640);
      expect(nodeFs.fstatSync(fd).mode & 0o7777).toBe(0o640);
    } finally {
      fs.closeSync(fd);
    }
    expect(nodeFs.readFileSync(p, "utf8")).toBe("abc✓234");
    fs.chmodSync(p, 0o600);
    expect(nodeFs.statSync(p).mode & 0o7777).toBe(0o600);
    nodeFs.symlinkSync("target/ü", posix.join(dir, "s"));
    expect(fs.readlinkSync(posix.join(dir, "s"))).toBe("target/ü");
    expect(fs.readlinkSync(posix.join(dir, "s"), { encoding: "buffer" })).toEqual(Buffer.from("target/ü"));
    expect(fs.existsSync(p)).toBe(true);
    expect(fs.existsSync(posix.join(dir, "none"))).toBe(false);
    expect(() => fs.accessSync("/bin/sh", fs.constants.X_OK)).not.toThrow();
    expect(() => fs.accessSync(posix.join(dir, "none"), fs.constants.X_OK)).toThrow("ENOENT");
  });

  test("readSync refuses a range past the buffer's end, as node:fs does (read(2) would write past it)", () => {
    const backing = new Uint8Array(64).fill(7);
    const view = backing.subarray(0, 4); // 60 bytes of the same memory lie right after it
    const code = (f: () => unknown) => {
      try {
        return f();
      } catch (e) {
        return (e as { code?: string }).code;
      }
    };
    const fd = fs.openSync("/dev/zero", fs.constants.O_RDONLY);
    const nfd = nodeFs.openSync("/dev/zero", "r");
    try {
      for (const [offset, length] of [
        [0, 16],
        [2, 3],
        [5, 1],
        [-1, 1],
        [0, -1],
        [1.5, 1],
      ] as const) {
        expect(code(() => fs.readSync(fd, view, offset, length, null))).toBe("ERR_OUT_OF_RANGE");
        expect(code(() => nodeFs.readSync(nfd, view, offset, length, null))).toBe("ERR_OUT_OF_RANGE");
      }
      expect([...backing]).toEqual(new Array(64).fill(7));
      expect(fs.readSync(fd, view, 1, 3, null)).toBe(3);
      expect(fs.readSync(fd, view, 4, 0, null)).toBe(0);
      expect([...backing.subarray(0, 5)]).toEqual([7, 0, 0, 0, 7]);
    } finally {
      fs.closeSync(fd);
      nodeFs.closeSync(nfd);
    }
  });

  test("writeSync refuses an offset or length outside the bytes, as node:fs does (it wrote other bytes)", () => {
    const b = Buffer.from("abcd");
    const fd = fs.openSync("/dev/null", fs.constants.O_WRONLY);
    const code = (
      F: { writeSync(fd: number, b: Uint8Array, o?: number, l?: number): number },
      o?: number,
      l?: number,
    ) => {
      try {
        return F.writeSync(fd, b, o, l);
      } catch (e) {
        return (e as { code?: string }).code;
      }
    };
    try {
      for (const [o, l] of [[-1], [2, 5], [5], [1.5, 1], [0, -1], [4], [1, 2], [0]] as [number, number?][])
        expect([o, l, code(fs, o, l)]).toEqual([o, l, code(nodeFs, o, l)]);
    } finally {
      fs.closeSync(fd);
    }
  });

  test("statfs: every field, the free counts within what changes between two calls", () => {
    const before = nodeFs.statfsSync("/");
    const a = fs.statfsSync("/");
    const b = nodeFs.statfsSync("/");
    expect([a.type, a.bsize, a.frsize, a.blocks, a.files]).toEqual([
      b.type,
      b.bsize,
      b.frsize,
      b.blocks,
      b.files,
    ]);
    // src/observe/system.ts reports (blocks - bfree) * bsize; others write meanwhile on a shared host
    const near = (x: number, p: number, q: number, span: number) =>
      x >= Math.min(p, q) - span && x <= Math.max(p, q) + span;
    for (const k of ["bfree", "bavail"] as const)
      expect(near(a[k], before[k], b[k], b.blocks / 1000)).toBe(true);
    expect(near(a.ffree, before.ffree, b.ffree, b.files / 1000)).toBe(true);
  });

  test("constants: Linux's open and access flags are node:fs's", () => {
    for (const [k, v] of Object.entries(fs.constants))
      expect([k, v]).toEqual([k, nodeFs.constants[k as keyof typeof nodeFs.constants]]);
  });
});

describe("src/core/path.ts is node:path's POSIX join, dirname, basename, normalize", () => {
  const cases = [
    "",
    ".",
    "..",
    "/",
    "//",
    "///a",
    "a",
    "a/",
    "/a",
    "/a/",
    "a/b",
    "/a/b/",
    "a//b",
    "./a",
    "../a",
    "a/../..",
    "/../a",
    "/a/./b/../c",
    "a/b/../../..",
    "//a",
    "//a/b",
    "/a//b//",
    "x/./",
    "./",
    "../",
    "/..",
  ];
  test.each(cases)("%p", (p) => {
    if (process.platform === "win32") return;
    expect(normalize(p)).toBe(posix.normalize(p));
    expect(dirname(p)).toBe(posix.dirname(p));
    expect(basename(p)).toBe(posix.basename(p));
    expect(join(p, "x")).toBe(posix.join(p, "x"));
    expect(join("/s", p, "..", "y")).toBe(posix.join("/s", p, "..", "y"));
  });
  test("join of nothing and of empty parts", () => {
    expect(join()).toBe(posix.join());
    expect(join("", "")).toBe(posix.join("", ""));
    expect(join("", "a", "")).toBe(posix.join("", "a", ""));
  });
});

describe.skipIf(!LINUX)("src/core/host.ts and the signal table are node:os's", () => {
  test("hostname and release", () => {
    expect(hostname()).toBe(nodeOs.hostname());
    expect(release()).toBe(nodeOs.release());
  });
  test.skipIf(process.getuid?.() !== 0)(
    "a host name with spaces at its ends (a UTS namespace of its own)",
    () => {
      // needs root for unshare -u; sethostname through bun:ffi inside it
      const script = posix.join(tempDir(), "h.ts");
      nodeFs.writeFileSync(
        script,
        `import { dlopen, FFIType } from "bun:ffi";
import * as os from "node:os";
import { hostname } from ${JSON.stringify(posix.join(import.meta.dir, "../../src/core/host.ts"))};
const name = Buffer.from(" spaced\\tname ");
const { sethostname } = dlopen("libc.so.6", { sethostname: { args: [FFIType.ptr, FFIType.u64], returns: FFIType.i32 } }).symbols;
if (sethostname(name, name.length) !== 0) throw new Error("sethostname failed");
console.log(JSON.stringify([hostname(), os.hostname()]));
`,
      );
      const r = Bun.spawnSync(["unshare", "-u", process.execPath, script], { stderr: "pipe" });
      expect(r.stderr.toString()).toBe("");
      const [ours, node] = JSON.parse(r.stdout.toString()) as [string, string];
      expect(node).toBe(" spaced\tname ");
      expect(ours).toBe(node);
    },
  );
  test("every signal name node:os knows has node's number", () => {
    for (const [name, n] of Object.entries(nodeOs.constants.signals)) {
      expect(signalNumber(name)).toBe(n);
      expect(parseSignal(name)).toBe(n);
    }
    for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf"]) {
      expect(signalNumber(name)).toBe((nodeOs.constants.signals as Record<string, number>)[name]);
      expect(signalNumber(name)).toBeUndefined();
    }
    expect(parseSignal("CONSTRUCTOR")).toBeUndefined();
  });
});
