/**
 * Runs extractRelease in its own process, so a test can measure its peak RSS with /usr/bin/time -v.
 * Usage: bun _extract-helper.ts ARCHIVE DEST MAXBYTES; prints {ok, inflated, code?, message?} as JSON.
 */
import { extractRelease } from "../../src/install/extract.ts";

const [archive, dest, maxBytes] = process.argv.slice(2) as [string, string, string];
const stats = { inflated: 0 };
try {
  await extractRelease(archive, dest, { maxBytes: Number(maxBytes), stats });
  console.log(JSON.stringify({ ok: true, inflated: stats.inflated }));
} catch (e) {
  const code = (e as { code?: string }).code;
  console.log(JSON.stringify({ ok: false, inflated: stats.inflated, code, message: (e as Error).message }));
}
