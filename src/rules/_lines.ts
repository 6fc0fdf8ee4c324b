/**
 * Bun's YAML parser gives values, not positions. Walking the parsed value depth-first visits keys in
 * document order, so a cursor that only moves forward finds each key's line with a light text scan.
 */
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export class KeyLocator {
  private readonly lines: string[];
  private line = 0;
  private col = 0;

  constructor(text: string) {
    // blank out comments (a # at line start or after whitespace) so a commented-out key is not found
    this.lines = text.split("\n").map((l) => l.replace(/(^|\s)#.*$/, "$1"));
  }

  /** Like find, without moving the cursor. */
  peek(key: string): number {
    const [line, col] = [this.line, this.col];
    const found = this.find(key);
    [this.line, this.col] = [line, col];
    return found;
  }

  /** 1-based line of the next `key:` at or after the cursor; the cursor's line when not found. */
  find(key: string): number {
    const re = new RegExp(`(^|[\\s{,\\-])(["']?)${escapeRe(key)}\\2\\s*:`, "g");
    for (let i = this.line; i < this.lines.length; i++) {
      re.lastIndex = i === this.line ? this.col : 0;
      const m = re.exec(this.lines[i]!);
      if (m) {
        this.line = i;
        this.col = m.index + m[0].length;
        return i + 1;
      }
    }
    return this.line + 1;
  }
}
