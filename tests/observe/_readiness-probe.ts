/**
 * Run by tests/observe/execwatch-start.test.ts pinned to one CPU: starts and stops the exec watcher 20
 * times and prints, as JSON, this process's SCHED_FIFO priority-2 threads before and right after each
 * start. On one CPU a new thread cannot have run by the time start returns unless start waited for it.
 */
import { ExecWatcher } from "../../src/observe/execwatch.ts";
import { fifo2Threads } from "./_fifo-threads.ts";

const before = fifo2Threads();
const after: number[] = [];
for (let i = 0; i < 20; i++) {
  const w = ExecWatcher.start(process.pid);
  if (!w) break;
  after.push(fifo2Threads());
  w.stop();
}
console.log(JSON.stringify({ before, after }));
