/** F39 codes the switch sets itself (each one in the protocol's table, RESPONSE_CODES: a test checks). */
export const SWITCH_CODES = {
  approved: "00",
  invalid: "12",
  notFound: "25",
  format: "30",
  softwareTooOld: "40",
  batchMismatch: "77",
  issuerDown: "91",
  noRoute: "92",
  duplicate: "94",
  malfunction: "96",
  unknownTerminal: "97",
  noIssuerReply: "98",
  signInAgain: "99",
  macFailed: "A0",
  security: "A7",
} as const;
