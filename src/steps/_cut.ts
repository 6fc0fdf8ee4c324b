/**
 * What every output adds to a command line that was cut (tracer keeps its first 64 KiB: src/observe/argv.ts):
 * a cut one must never pass for the whole, as what was cut could be the part that mattered. A module of
 * its own: `tracer run`'s closing line and the tables load it without the steps' classifier.
 */
export const cutMark = (bytes: number): string => ` …[command line cut: ${bytes} bytes in all]`;

/** `line` with cutMark's note when it is the head of a longer command line (`bytes`: its whole length; absent, null or NaN: whole) */
export const withCutMark = (line: string, bytes?: number | null): string =>
  typeof bytes === "number" && !Number.isNaN(bytes) ? line + cutMark(bytes) : line;

/** cutMark's note at the end of a text: [0] the note, [1] its byte count (a table keeps it when it shortens a cell) */
export const CUT_TAIL = / …\[command line cut: (\d+) bytes in all\]$/;
