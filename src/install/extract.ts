/**
 * THE one place that unpacks a release archive (node-tar). The archive's signature has already been
 * checked; this still treats every byte as hostile. Only regular files with the expected names, at most
 * one directory deep, no special mode bits, no duplicates, within a byte budget, are written — into a
 * fresh 0700 directory nobody else can write. Any other entry aborts the whole extraction. Afterwards
 * the directory must hold exactly what the headers promised, with exactly one `tracer` binary.
 */
import { closeSync, constants, lstatSync, openSync, readSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { createGunzip } from "node:zlib";
import { refused } from "../errors.ts";
import { InflateBudget } from "./_budget.ts";

export const BINARY = "tracer";
/** Files a release tarball may carry besides the binary. */
const EXTRAS = new Set(["LICENSE", "LICENSE.txt", "README", "README.md", `${BINARY}.minisig`]);
const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;
const MAX_ENTRIES = 16;
/** gunzip's output chunk: the most inflated bytes produced past a budget before it is noticed */
const CHUNK = 64 * 1024;
/** what PAX and long-name records may declare on top of the entries' budget (node-tar caps each at 64 KiB) */
const META_SLACK = 1024 * 1024;
/** the ratio is judged once this much is inflated (a small archive is mostly zero padding) */
const RATIO_AFTER = 1024 * 1024;

export interface ExtractOptions {
  /** total bytes the entries may declare; the manifest's size of the binary plus slack */
  maxBytes: number;
  /** inflated/compressed bytes; a real binary packs about 3:1 (node-tar's default cap is 1000) */
  maxRatio?: number;
  /** filled in as extraction goes, also when it fails: every byte gunzip produced */
  stats?: { inflated: number };
}

export interface Extracted {
  /** absolute path of the extracted binary */
  binary: string;
  size: number;
  /** every regular file written, relative to the extraction dir */
  files: string[];
}

interface Entry {
  path: string;
  type: string;
  size: number;
  mode?: number;
}

const unsafe = (why: string) =>
  refused("E_ARCHIVE_UNSAFE", `release archive refused: ${why}`, "the archive is not a tracer release");

/** Decide on one header; returns why it is refused, or undefined. Sets the layout from the first entry. */
function judge(e: Entry, seen: Map<string, number>, layout: { top?: string }, budget: { left: number }) {
  const raw = e.path;
  if (raw.includes("\0") || raw.includes("\\"))
    return `entry name ${JSON.stringify(raw)} has a bad character`;
  if (raw.startsWith("/")) return `absolute path ${JSON.stringify(raw)}`;
  const parts = raw.replace(/^\.\//, "").replace(/\/$/, "").split("/");
  if (parts.some((p) => p === ".." || p === "." || p === ""))
    return `path ${JSON.stringify(raw)} is not a plain relative name`;
  if (parts.length > 2) return `path ${JSON.stringify(raw)} is nested too deep`;
  if (!parts.every((p) => NAME.test(p))) return `path ${JSON.stringify(raw)} has an unexpected name`;
  if (e.mode !== undefined && e.mode & 0o7000)
    return `${JSON.stringify(raw)} has setuid/setgid/sticky bits (mode ${e.mode.toString(8)})`;
  const key = parts.join("/");
  if (seen.has(key)) return `duplicate entry ${JSON.stringify(key)}`;
  if (seen.size >= MAX_ENTRIES) return `more than ${MAX_ENTRIES} entries`;
  seen.set(key, e.size);

  if (e.type === "Directory") {
    if (parts.length !== 1) return `unexpected directory ${JSON.stringify(raw)}`;
    if (layout.top !== undefined && layout.top !== parts[0]) return "more than one top-level directory";
    layout.top = parts[0];
    return undefined;
  }
  if (e.type !== "File" && e.type !== "OldFile") return `${JSON.stringify(raw)} is a ${e.type}, not a file`;
  const name = parts.at(-1)!;
  if (name !== BINARY && !EXTRAS.has(name)) return `unexpected file ${JSON.stringify(raw)}`;
  const dir = parts.length === 2 ? parts[0] : "";
  if (layout.top === undefined) layout.top = dir;
  if (layout.top !== dir) return `${JSON.stringify(raw)} is outside ${layout.top || "the top level"}`;
  budget.left -= e.size;
  if (budget.left < 0) return "entries are larger than the release manifest allows";
  return undefined;
}

function assertFreshDir(dir: string) {
  const st = lstatSync(dir);
  const me = process.getuid?.() ?? 0;
  if (!st.isDirectory() || st.uid !== me || (st.mode & 0o077) !== 0)
    throw refused("E_EXTRACT_DIR", `extraction dir ${dir} must be a private (0700) directory of ours`);
  if (readdirSync(dir).length > 0) throw refused("E_EXTRACT_DIR", `extraction dir ${dir} is not empty`);
}

function assertGzip(fd: number) {
  const magic = Buffer.alloc(2);
  if (readSync(fd, magic, 0, 2, 0) !== 2 || magic[0] !== 0x1f || magic[1] !== 0x8b)
    throw unsafe("it is not gzip-compressed");
}

/**
 * Extract `archive` into the empty private dir `dest`. Throws TracerError(E_ARCHIVE_*) on anything odd.
 * We gunzip (64 KiB chunks) and count every inflated byte against ./_budget.ts before node-tar sees it,
 * so a bomb — inside an entry, in meta records, or after the tar's end — stops within one chunk of its
 * budget, in constant memory.
 */
export async function extractRelease(
  archive: string,
  dest: string,
  opts: ExtractOptions,
): Promise<Extracted> {
  assertFreshDir(dest);
  const { UnpackSync } = await import("tar");
  const seen = new Map<string, number>();
  const layout: { top?: string } = {};
  const budget = { left: opts.maxBytes };
  let failure: Error | undefined;

  const u = new UnpackSync({
    cwd: dest,
    strict: true,
    gzip: false, // we inflate, to count every byte
    preservePaths: false,
    preserveOwner: false,
    unlink: false,
    keep: true,
    chmod: false,
    noMtime: true,
    maxDepth: 3,
    maxMetaEntrySize: 64 * 1024,
    filter: (_path, entry) => {
      const e = entry as unknown as Entry;
      const why = failure ? "aborted" : judge(e, seen, layout, budget);
      if (why) {
        failure ??= unsafe(why);
        u.abort(failure);
        return false;
      }
      // archive modes are ignored: the binary's mode is set when it is placed
      e.mode = e.type === "Directory" ? 0o700 : 0o600;
      return true;
    },
  });
  u.on("error", (e: Error) => {
    failure ??= e;
  });

  const fd = openSync(archive, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    assertGzip(fd);
    const budget = new InflateBudget(opts.maxBytes + META_SLACK);
    const maxRatio = opts.maxRatio ?? 100;
    const stop = (why: string) => {
      failure ??= unsafe(why);
      return false;
    };
    await inflate(fd, (chunk: Buffer, compressed) => {
      const why = budget.push(chunk);
      if (opts.stats) opts.stats.inflated = budget.inflated;
      if (why) return stop(why);
      const ratio = budget.inflated / Math.max(compressed, 1);
      if (budget.inflated > RATIO_AFTER && ratio > maxRatio)
        return stop(`it decompresses too far (ratio ${ratio.toFixed(0)} > ${maxRatio}): a compression bomb`);
      u.write(chunk);
      return failure === undefined;
    }).catch((e: Error) => {
      failure ??= e;
    });
    if (!failure) u.end();
  } finally {
    closeSync(fd);
  }
  if (failure) {
    if ((failure as { code?: string }).code === "E_ARCHIVE_UNSAFE") throw failure;
    throw refused("E_ARCHIVE_BAD", `release archive refused: ${describe(failure)}`);
  }
  return verifyResult(dest, layout.top ?? "", seen);
}

/**
 * Gunzip the file open at `fd` (from offset 0) and hand each inflated chunk (at most CHUNK bytes) to
 * `take` with the compressed bytes read so far; `take` returns false to stop. Backpressure keeps at most
 * a few chunks in memory whatever the archive holds.
 */
async function inflate(fd: number, take: (chunk: Buffer, compressed: number) => boolean) {
  const gunzip = createGunzip({ chunkSize: CHUNK });
  let compressed = 0;
  const drained = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        gunzip.off("drain", done);
        gunzip.off("close", done);
        resolve();
      };
      gunzip.on("drain", done);
      gunzip.on("close", done);
    });
  const feed = async () => {
    for (let pos = 0; !gunzip.destroyed; ) {
      const buf = Buffer.allocUnsafe(CHUNK);
      const n = readSync(fd, buf, 0, CHUNK, pos);
      if (n === 0) return void gunzip.end();
      pos += n;
      compressed += n;
      if (!gunzip.write(buf.subarray(0, n))) await drained();
    }
  };
  const feeding = feed();
  try {
    for await (const chunk of gunzip) if (!take(chunk as Buffer, compressed)) break;
  } finally {
    gunzip.destroy();
    await feeding;
  }
}

function describe(e: Error): string {
  const m = e.message.replace(/^TAR_[A-Z_]+: /, "");
  if (/unexpected end|Truncated/i.test(m)) return `it is truncated (${m})`;
  if (/decompression ratio/.test(m)) return `it decompresses too far (${m}): a compression bomb`;
  return m;
}

/** What is on disk must be exactly what the headers declared: regular files, single links, right sizes. */
function verifyResult(dest: string, top: string, seen: Map<string, number>): Extracted {
  const files: string[] = [];
  const walk = (rel: string, depth: number) => {
    for (const name of readdirSync(join(dest, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(dest, r));
      if (st.isDirectory() && depth === 0 && r === top) walk(r, 1);
      else if (st.isFile() && st.nlink === 1 && seen.get(r) === st.size) files.push(r);
      else throw unsafe(`unexpected result on disk: ${JSON.stringify(r)}`);
    }
  };
  walk("", 0);
  const binaries = files.filter((f) => f === (top ? `${top}/${BINARY}` : BINARY));
  if (binaries.length !== 1)
    throw unsafe(`it holds ${binaries.length} \`${BINARY}\` binaries, not exactly one`);
  const binary = join(dest, binaries[0]!);
  return { binary, size: lstatSync(binary).size, files };
}
