import type { MessageSpec } from "./types.ts";

/**
 * The UnionPay POS dialect (PROTOCOL.md, "Field encodings"). Lengths count digits for numeric and track fields
 * and bytes for the others; maxima follow the CUP POS terminal specification. F47 is not a CUP POS field; it is
 * here as LLLVAR bytes because acquirer variants use it.
 */
export const cupPos = {
  2: { name: "primaryAccountNumber", kind: "numeric", prefix: "LL", max: 19, sensitive: "pan" },
  3: { name: "processingCode", kind: "numeric", length: 6 },
  /** Amount in minor units (fen), 12 digits. */
  4: { name: "amount", kind: "numeric", length: 12 },
  11: { name: "stan", kind: "numeric", length: 6 },
  /** hhmmss, terminal or switch local time. */
  12: { name: "localTime", kind: "numeric", length: 6 },
  /** MMDD. */
  13: { name: "localDate", kind: "numeric", length: 4 },
  /** YYMM. */
  14: { name: "expiryDate", kind: "numeric", length: 4 },
  /** MMDD. */
  15: { name: "settlementDate", kind: "numeric", length: 4 },
  22: { name: "posEntryMode", kind: "numeric", length: 3, align: "left" },
  23: { name: "cardSequenceNumber", kind: "numeric", length: 3 },
  25: { name: "posConditionCode", kind: "numeric", length: 2 },
  26: { name: "pinCaptureCode", kind: "numeric", length: 2 },
  32: { name: "acquirerId", kind: "numeric", prefix: "LL", max: 11 },
  35: { name: "track2", kind: "track", prefix: "LL", max: 37, sensitive: "track" },
  36: { name: "track3", kind: "track", prefix: "LLL", max: 104, sensitive: "track" },
  37: { name: "retrievalReference", kind: "ascii", length: 12 },
  38: { name: "authorizationCode", kind: "ascii", length: 6 },
  39: { name: "responseCode", kind: "ascii", length: 2 },
  41: { name: "terminalId", kind: "ascii", length: 8 },
  42: { name: "merchantId", kind: "ascii", length: 15 },
  44: { name: "additionalResponse", kind: "ascii", prefix: "LL", max: 25 },
  47: { name: "acquirerPrivate", kind: "bytes", prefix: "LLL", max: 999 },
  48: { name: "additionalData", kind: "numeric", prefix: "LLL", max: 322 },
  /** ISO 4217 numeric, `156` = CNY. */
  49: { name: "currencyCode", kind: "ascii", length: 3 },
  52: { name: "pinBlock", kind: "bytes", length: 8, sensitive: "pin" },
  /** `2600000000000000`: PIN block format 1 with PAN, double-length key. */
  53: { name: "securityControl", kind: "numeric", length: 16 },
  55: { name: "iccData", kind: "bytes", prefix: "LLL", max: 255, sensitive: "icc" },
  59: { name: "reservedPrivate59", kind: "ascii", prefix: "LLL", max: 999 },
  /** Sub-fields 60.1-60.7, see field60.ts. */
  60: { name: "reservedPrivate60", kind: "numeric", prefix: "LLL", max: 17 },
  61: { name: "originalMessage", kind: "numeric", prefix: "LLL", max: 29 },
  /** Working keys in an 0810 (see crypto/workingKeys.ts), terminal information in some 0800s. */
  62: { name: "reservedPrivate62", kind: "bytes", prefix: "LLL", max: 512 },
  /** Operator code (`001`) in an 0800; card organisation (`CUP`) in replies. */
  63: { name: "reservedPrivate63", kind: "ascii", prefix: "LLL", max: 163 },
  64: { name: "mac", kind: "bytes", length: 8 },
} as const satisfies MessageSpec;

/** Field numbers of the CUP POS spec. */
export type CupPosField = keyof typeof cupPos;
