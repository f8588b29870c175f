// Meanings of coded values, for descriptions and reports (PROTOCOL.md).

/** F39 response codes that matter in the lab. */
export const responseCodes: Readonly<Record<string, string>> = {
  "00": "approved",
  "06": "error (reversal reason: other)",
  "12": "invalid transaction",
  "25": "original not found",
  "30": "message format error",
  "68": "issuer response timed out",
  "91": "issuer inoperative",
  "92": "no route to issuer",
  "94": "duplicate transmission",
  "96": "switch malfunction",
  "97": "terminal not known to the switch",
  "98": "switch got no issuer reply in time",
  "99": "PIN format error, sign in again",
  A0: "MAC verification failed, sign in again",
  A7: "security processing failed",
};

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
