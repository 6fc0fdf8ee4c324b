/**
 * syncSources(all): the backlogs of several sources are read in turn, one capped drain of each a
 * round, so that what one source reports (a process's exit) waits in memory only about as long as one
 * drain of the other (its taskstats figures). The sources here are stand-ins holding a queue of
 * drains: what is checked is the order in which syncSources asks for them, which real sockets cannot
 * show (the kernel decides how much one drain returns).
 */
import { expect, test } from "bun:test";
import { syncSources } from "../../src/observe/sources.ts";
import type { CaptureSource } from "../../src/observe/types.ts";

/** A source with `drains` capped drains queued; each sync() without `all` reads one, `all` reads all. */
function backlog(name: string, drains: number, log: string[]): CaptureSource {
  let left = drains;
  const read = () => {
    if (left > 0) {
      left--;
      log.push(name);
    }
  };
  return {
    name,
    start: async () => {},
    stop: async () => {},
    onEvent: () => {},
    stats: () => ({ events: drains - left, lost: 0, lossReasons: {} }),
    sync(all = false) {
      read();
      while (all && left > 0) read();
      return left === 0;
    },
  };
}

test("sync(all) reads every backlog to its end, the sources in turn", () => {
  const log: string[] = [];
  const caughtUp = syncSources([backlog("connector", 5, log), backlog("taskstats", 3, log)], true);
  expect(caughtUp).toBe(true);
  // one source whole and then the other would be C,C,C,C,C,T,T,T: five drains of exits before any figures
  expect(log.join(",")).toBe(
    "connector,taskstats,connector,taskstats,connector,taskstats,connector,connector",
  );
});

test("sync() without all: one drain of each, and false while a backlog is left", () => {
  const log: string[] = [];
  expect(syncSources([backlog("connector", 2, log), backlog("taskstats", 1, log)])).toBe(false);
  expect(log).toEqual(["connector", "taskstats"]);
});
