// Meanings of coded values, for descriptions and reports (PROTOCOL.md).

/**
 * The F39 response codes that matter in the lab, in one table: what each means, whether it counts as a system
 * error (the switch, the network or the keys failed, not a decline by the card's issuer: the report's error
 * rate) and whether a terminal must sign in again after it. Everything else takes its codes from here (the
 * switch's own list is checked against it).
 */
export const RESPONSE_CODES: Readonly<
  Record<string, { meaning: string; systemError: boolean; signInAgain?: true }>
> = {
  "00": { meaning: "approved", systemError: false },
  "06": { meaning: "error (reversal reason: other)", systemError: false },
  "12": { meaning: "invalid transaction", systemError: false },
  "25": { meaning: "original not found", systemError: false },
  "30": { meaning: "message format error", systemError: true },
  "40": {
    meaning: "function not supported: the terminal's software is older than the switch requires",
    systemError: false,
  },
  "68": { meaning: "issuer response timed out", systemError: true },
  "77": {
    meaning: "batch number differs from the one the sign-in gave, sign in again",
    systemError: true,
    signInAgain: true,
  },
  "91": { meaning: "issuer inoperative", systemError: true },
  "92": { meaning: "no route to issuer", systemError: true },
  "94": { meaning: "duplicate transmission", systemError: true },
  "96": { meaning: "switch malfunction", systemError: true },
  "97": { meaning: "terminal not known to the switch", systemError: true },
  "98": { meaning: "switch got no issuer reply in time", systemError: true },
  "99": { meaning: "PIN format error, sign in again", systemError: true, signInAgain: true },
  A0: { meaning: "MAC verification failed, sign in again", systemError: true, signInAgain: true },
  A7: { meaning: "security processing failed", systemError: true },
};

/** F39 code → meaning (RESPONSE_CODES). */
export const responseCodes: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(RESPONSE_CODES).map(([code, c]) => [code, c.meaning]),
);

/** Codes that count as system errors (RESPONSE_CODES). */
export const SYSTEM_ERROR_CODES: readonly string[] = Object.keys(RESPONSE_CODES).filter(
  (code) => RESPONSE_CODES[code]!.systemError,
);

/** Codes after which a terminal signs in again (RESPONSE_CODES). */
export const SIGN_IN_AGAIN_CODES: readonly string[] = Object.keys(RESPONSE_CODES).filter(
  (code) => RESPONSE_CODES[code]!.signInAgain,
);

/** 60.1 transaction types. */
export const transactionTypes: Readonly<Record<string, string>> = {
  "00": "management",
  "01": "balance inquiry",
  "22": "sale",
  "23": "void",
};

/** 60.3 network-management codes. */
export const networkManagementCodes: Readonly<Record<string, string>> = {
  "000": "financial",
  "001": "sign-in, single DES keys",
  "002": "sign-off",
  "003": "sign-in, 3DES keys",
  "004": "sign-in, 3DES keys + track data key",
  "201": "settlement",
  "301": "echo",
};

/** Header processing-requirement nibble: what a reply asks the terminal to do next. */
export const processingRequirements = {
  none: 0,
  downloadParameters: 1,
  uploadStatus: 2,
  signInAgain: 3,
  downloadCapk: 4,
  downloadIccParameters: 5,
} as const;

export const processingRequirementNames: Readonly<Record<number, string>> = {
  0: "none",
  1: "download parameters",
  2: "upload terminal status",
  3: "sign in again",
  4: "download CA public keys",
  5: "download chip parameters",
};
