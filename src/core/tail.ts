/** Read the last lines of a file and follow it, without loading the whole file. */
import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";

export function lastLines(path: string, n: number): { text: string; size: number } {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    if (n <= 0) return { text: "", size };
    const chunk = 64 * 1024;
    let pos = size;
    let buf = Buffer.alloc(0);
    let newlines = 0;
    while (pos > 0 && newlines <= n) {
      const len = Math.min(chunk, pos);
      pos -= len;
      const part = Buffer.alloc(len);
      readSync(fd, part, 0, len, pos);
      buf = Buffer.concat([part, buf]);
      newlines = buf.filter((b) => b === 10).length;
    }
    const lines = buf.toString("utf8").split("\n");
    if (lines.at(-1) === "") lines.pop();
    const text = lines.slice(-n).join("\n");
    return { text: text ? `${text}\n` : "", size };
  } finally {
    closeSync(fd);
  }
}

/** Poll `path` from byte `from`, writing what is appended; starts over when the file shrinks (rotation). */
export async function follow(path: string, from: number, write: (s: string) => void, signal: AbortSignal) {
  let pos = from;
  while (!signal.aborted) {
    let size = pos;
    try {
      size = statSync(path).size;
    } catch {}
    if (size < pos) pos = 0;
    if (size > pos) {
      const fd = openSync(path, "r");
      try {
        const buf = Buffer.alloc(size - pos);
        const got = readSync(fd, buf, 0, buf.length, pos);
        pos += got;
        write(buf.subarray(0, got).toString("utf8"));
      } finally {
        closeSync(fd);
      }
    }
    await Bun.sleep(200);
  }
}
