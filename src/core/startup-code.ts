/**
 * Give back the executable's start-up pages. The Bun binary is ~110 MB; a process maps the pages of
 * its code and read-only data as it touches them (with the kernel's fault-around, up to 64 KiB around
 * each), and they stay in its resident set for its whole life. `tracer run` touches ~40 MB of them
 * before CMD starts (module loading, the CLI, the store's migrations, the native helpers), much of it
 * never run again while it records: measured on `tracer run -- fan 10000`, the file-backed RSS fell
 * from ~39 to ~26 MB when they were dropped 300 ms into the run and settled at ~35 MB (what recording
 * uses, JIT compilers included) instead of ~44.5 MB (issue 15).
 *
 * Dropped are only the pages of the executable's read-only private mappings (code, constants) that
 * hold no written (copied) page: a later access maps them again from the page cache, which still
 * holds them (a minor fault, no I/O). Their memory is not freed by this, it becomes the page cache's
 * to reclaim like any file page nobody maps. A written page would be lost, so any mapping with
 * anonymous pages (the relocation read-only part) is left alone. Linux only; elsewhere nothing.
 */
import { readFileOrUndefined } from "../../ffi/fs.ts";
import { dropPages } from "../../ffi/libc.ts";

/** One mapping of /proc/self/smaps: its range, permissions, file ("major:minor inode") and anonymous KiB. */
export interface Mapping {
  start: number;
  end: number;
  perms: string;
  /** the mapped file's device and inode as smaps shows them; inode 0: no file */
  file: string;
  anonymousKb: number;
}

/** The mappings of a /proc/PID/smaps text (only the fields used here). */
export function smapsMappings(text: string): Mapping[] {
  const out: Mapping[] = [];
  let cur: Mapping | undefined;
  for (const line of text.split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ (\S+ \d+)/.exec(line);
    if (head) {
      cur = {
        start: Number.parseInt(head[1]!, 16),
        end: Number.parseInt(head[2]!, 16),
        perms: head[3]!,
        file: head[4]!.endsWith(" 0") ? "" : head[4]!,
        anonymousKb: Number.NaN,
      };
      out.push(cur);
      continue;
    }
    const anon = /^Anonymous:\s+(\d+) kB/.exec(line);
    if (anon && cur) cur.anonymousKb = Number(anon[1]);
  }
  return out;
}

/**
 * The ranges (smaps text) that can be dropped: the mappings of the file mapped at `address` (the
 * executable's program headers) that are read-only, private and hold no copied page.
 */
export function droppableRanges(smaps: string, address: number): { start: number; end: number }[] {
  const maps = smapsMappings(smaps);
  const file = maps.find((m) => m.start <= address && address < m.end)?.file;
  if (!file) return [];
  // NaN anonymous KiB (the field not shown): not dropped
  return maps
    .filter((m) => m.file === file && m.perms[1] === "-" && m.perms[3] === "p" && m.anonymousKb === 0)
    .map(({ start, end }) => ({ start, end }));
}

const AT_PHDR = 3;

/** Where the executable's program headers are mapped (the auxiliary vector's AT_PHDR), or undefined. */
function programHeaders(): number | undefined {
  // the auxiliary vector: (type, value) pairs of native words, as latin1 text one char a byte
  const auxv = readFileOrUndefined("/proc/self/auxv", "latin1");
  if (!auxv) return undefined;
  const word = (at: number) => {
    let v = 0;
    for (let i = 7; i >= 0; i--) v = v * 256 + auxv.charCodeAt(at + i);
    return v;
  };
  for (let at = 0; at + 16 <= auxv.length; at += 16) if (word(at) === AT_PHDR) return word(at + 8);
  return undefined;
}

/**
 * Drop this process's resident pages of its executable's read-only, never-written mappings (see the
 * module's note). Returns the bytes of address space advised (0 when nothing could be).
 */
export function releaseStartupCode(): number {
  // 64-bit little-endian only (the auxv layout read here): x64 and arm64
  if (process.platform !== "linux" || (process.arch !== "x64" && process.arch !== "arm64")) return 0;
  const phdr = programHeaders();
  const smaps = phdr === undefined ? undefined : readFileOrUndefined("/proc/self/smaps", "latin1");
  if (phdr === undefined || !smaps) return 0;
  let bytes = 0;
  for (const { start, end } of droppableRanges(smaps, phdr))
    if (dropPages(start, end - start)) bytes += end - start;
  return bytes;
}
