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
import * as figures from "./_figures.ts";
import * as netlinkParse from "./_netlink-parse.ts";
import * as stubs from "./_stubs.ts";
import * as taskstatsProbe from "./_taskstats-probe.ts";
import * as tracks from "./_tracks.ts";
import * as argv from "./argv.ts";
import * as clock from "./clock.ts";
import * as connector from "./connector.ts";
import * as execwatch from "./execwatch.ts";
import * as oom from "./oom.ts";
import * as recorder from "./recorder.ts";
import * as schedrt from "./schedrt.ts";
import * as taskstats from "./taskstats.ts";
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
