// harness/sim/issuer: the issuer simulator (README.md): ISO 8583 server with a service-time model, worker pool,
// response-code mix and a ledger of approvals and reversals.
export {
  Ledger,
  type LedgerEntry,
  type LedgerFilter,
  type LedgerStatus,
  type LedgerSummary,
  ledgerKey,
  ledgerNdjson,
  type ReversalCode,
  type UnmatchedReversal,
} from "./ledger.ts";
export {
  formatResponseMix,
  parseResponseMix,
  pickResponseCode,
  type Random,
  type ResponseMix,
  sampleServiceTimeMs,
  seededRandom,
} from "./model.ts";
export { type IssuerHooks, type StartedIssuer, startIssuer } from "./server.ts";
export {
  type IssuerConfig,
  type IssuerOptions,
  issuerIdFor,
  issuerSettings,
  resolveIssuerConfig,
} from "./settings.ts";
export { WorkerPool } from "./workers.ts";
