/** Small output helpers: stdout for results, stderr for diagnostics; NO_COLOR honoured. */
const useColor = (stream: NodeJS.WriteStream) =>
  !process.env.NO_COLOR && process.env.TERM !== "dumb" && Boolean(stream.isTTY);

const wrap =
  (code: number) =>
  (s: string, stream: NodeJS.WriteStream = process.stderr) =>
    useColor(stream) ? `\x1b[${code}m${s}\x1b[0m` : s;

export const red = wrap(31);
export const green = wrap(32);
export const yellow = wrap(33);
export const dim = wrap(2);
export const bold = wrap(1);

export const printJson = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
export const say = (line: string) => process.stdout.write(`${line}\n`);
export const note = (line: string) => process.stderr.write(`${line}\n`);

export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h}h${String(m % 60).padStart(2, "0")}m` : `${Math.floor(h / 24)}d${h % 24}h`;
}
