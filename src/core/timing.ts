/**
 * TRACER_TIMING=1: phase marks on stderr, `tracer: timing +12.34 ms cpu 9.87 ms LABEL`: ms since the
 * runtime started (performance.now()) and the whole process's CPU so far (user + system, every thread,
 * getrusage), to profile start-up and shutdown (issue 15). Off, a mark costs one test.
 */
import { writeSync } from "../../ffi/fs.ts";

const on = process.env.TRACER_TIMING === "1";

export function mark(label: string): void {
  if (!on) return;
  try {
    const cpu = process.cpuUsage();
    const cpuMs = ((cpu.user + cpu.system) / 1000).toFixed(2);
    writeSync(2, `tracer: timing +${performance.now().toFixed(2)} ms cpu ${cpuMs} ms ${label}\n`);
  } catch {}
}

// the last mark, and the runtime's start as epoch ms: with the time a parent saw the process start and
// end, it tells Bun's own start (before performance.now()'s origin) and its exit (after this) apart
if (on)
  process.on("exit", () => {
    mark("exit");
    try {
      writeSync(2, `tracer: origin ${performance.timeOrigin.toFixed(3)}\n`);
    } catch {}
  });
