/**
 * What every output adds to a command line that was cut (tracer keeps its first 64 KiB: src/observe/argv.ts):
 * a cut one must never pass for the whole, as what was cut could be the part that mattered. A module of
 * its own: `tracer run`'s closing line and the tables load it without the steps' classifier.
 */
export const cutMark = (bytes: number): string => ` …[command line cut: ${bytes} bytes in all]`;
