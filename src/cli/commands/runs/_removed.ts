/** What `runs rm` and `runs prune` say: one summary line on stdout, the details under it. */
import { printJson, say } from "../../../core/output.ts";
import { sanitize } from "../../../core/sanitize.ts";
import { bytes } from "../../../run/units.ts";
import type { RemoveResult } from "../../../store/index.ts";
import { plural } from "../../../core/plural.ts";

const when = (ms: number) => new Date(ms).toISOString().replace("T", " ").slice(0, 19);

export function printRemoved(r: RemoveResult, json: boolean) {
  if (json) return void printJson({ ...r, reclaimedBytes: Math.max(0, r.bytesBefore - r.bytesAfter) });
  const n = r.removed.length;
  const runs = (k: number) => plural(k, "run");
  const procs = plural(r.processes, "process", "processes");
  if (r.dryRun) {
    say(`would remove ${runs(n)} (${procs}); the store holds ${bytes(r.bytesBefore)}`);
    for (const x of r.removed)
      say(sanitize(`  ${x.id}  ${x.name}  ${x.pipeline}  ${when(x.startedAt)}  ${x.status}`));
  } else if (n) {
    const freed = Math.max(0, r.bytesBefore - r.bytesAfter);
    say(
      `removed ${runs(n)} (${procs}), ${runs(r.left)} left; ` +
        `store ${bytes(r.bytesBefore)} → ${bytes(r.bytesAfter)} (${bytes(freed)} reclaimed)`,
    );
  } else say(`nothing to remove; ${runs(r.left)} in the store`);
  if (r.converted) say("the store was converted to incremental vacuum (one full VACUUM, done once)");
  if (r.conversionDeferred)
    say("space is reclaimed once no run is recording (the store needs a one-time full VACUUM)");
  for (const a of r.skippedActive) say(sanitize(`left alone: ${a.name} (${a.id}) is being recorded`));
  const queued = r.removed.reduce((k, x) => k + x.queued, 0);
  if (queued)
    say(
      `${queued} spans/points of ${r.dryRun ? "these" : "removed"} runs are still queued for OTLP export; they leave the outbox once sent`,
    );
}
