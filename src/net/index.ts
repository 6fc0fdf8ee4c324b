/** The guarded network client and its policy. `unix.ts` (the control-socket client) is imported directly. */
export { type AddressAllowance, type AddressVerdict, classifyAddress, isIpLiteral } from "./address.ts";
export { type CheckReport, explainUrl } from "./check.ts";
export {
  type ClientOptions,
  type NetClient,
  createNetClient,
  guardedFetch,
  parseRetryAfter,
} from "./client.ts";
export { NetError, type NetFailure, NetRefusal, type RefusalReason, redactUrl } from "./errors.ts";
export {
  type CheckedUrl,
  type NetPolicy,
  type Resolver,
  checkUrl,
  parseUrl,
  systemResolver,
} from "./guard.ts";
export { DENIED_RANGES, type NamedRange } from "./_ranges.ts";
