/**
 * The recording's modules kept out of JavaScriptCore's FTL tier (src/core/jit-tier.ts dfgOnlyModules):
 * what `tracer run` and the daemon's recordings call for every process. Called once recording has
 * begun (off CMD's start-up path): no function gets hot in the first milliseconds.
 */
import * as lossless from "../core/lossless.ts";
import * as path from "../core/path.ts";
import { dfgOnlyModules } from "../core/jit-tier.ts";
import * as ffiExecargv from "../../ffi/execargv.ts";
import * as ffiExecwatch from "../../ffi/execwatch.ts";
import * as libc from "../../ffi/libc.ts";
import * as ffiSchedrt from "../../ffi/schedrt.ts";
import * as figures from "../observe/_figures.ts";
import * as netlinkParse from "../observe/_netlink-parse.ts";
import * as stubs from "../observe/_stubs.ts";
import * as taskstatsProbe from "../observe/_taskstats-probe.ts";
import * as tracks from "../observe/_tracks.ts";
import * as argv from "../observe/argv.ts";
import * as clock from "../observe/clock.ts";
import * as connector from "../observe/connector.ts";
import * as execwatch from "../observe/execwatch.ts";
import * as oom from "../observe/oom.ts";
import * as recorder from "../observe/recorder.ts";
import * as schedrt from "../observe/schedrt.ts";
import * as taskstats from "../observe/taskstats.ts";
import * as processes from "../store/processes.ts";

let done = false;

/** Mark the recording's modules once per process. */
export function leanTiers(): void {
  if (done) return;
  done = true;
  dfgOnlyModules(
    lossless,
    path,
    ffiExecargv,
    ffiExecwatch,
    libc,
    ffiSchedrt,
    figures,
    netlinkParse,
    stubs,
    taskstatsProbe,
    tracks,
    argv,
    clock,
    connector,
    execwatch,
    oom,
    recorder,
    schedrt,
    taskstats,
    processes,
  );
}
