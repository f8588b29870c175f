// harness/sim/hsm: the HSM simulator (payShield-style host commands, README.md) and the client the switch uses.
export { type CallDone, type CapacityLimits, CapacityModel } from "./capacity.ts";
export {
  type DiagnosticsResult,
  type HsmCallOptions,
  HsmClient,
  type HsmClientOptions,
  HsmError,
  type HsmFailure,
  type WorkingKeysResult,
} from "./client.ts";
export { freshWorkingKeys, randomKey, workingKeysFor } from "./keys.ts";
export {
  encodeRequest,
  encodeResponse,
  FIRMWARE_ID,
  type HsmErrorCode,
  type HsmRequest,
  type HsmResponse,
  hsmCommands,
  hsmErrors,
  parseRequest,
  parseResponse,
  responseCodeOf,
} from "./protocol.ts";
export { type HsmHooks, type StartedHsm, startHsm } from "./server.ts";
export { type HsmConfig, type HsmOptions, hsmSettings, resolveHsmConfig } from "./settings.ts";
