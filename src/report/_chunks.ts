/** Text written in pieces, handed on in chunks of about 64 KiB (one write per chunk, not per row). */

const CHUNK = 1 << 16;

export interface Chunks {
  (piece: string): void;
  /** hand on what is left */
  end(): void;
}

export function chunks(out: (chunk: string) => void): Chunks {
  let pending = "";
  const add = (piece: string) => {
    pending += piece;
    if (pending.length >= CHUNK) {
      out(pending);
      pending = "";
    }
  };
  return Object.assign(add, {
    end() {
      if (pending) out(pending);
      pending = "";
    },
  });
}

/** What a writer of chunks writes, as one string. */
export function collect(write: (out: (chunk: string) => void) => void): string {
  const parts: string[] = [];
  write((c) => parts.push(c));
  return parts.join("");
}
