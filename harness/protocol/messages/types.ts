import { defineMessage, type MessageInput, type MessageValues } from "./layout.ts";

// The messages a UnionPay POS terminal exchanges (PROTOCOL.md, "Messages"). Each names its values; the numbers
// say where they travel. Amounts are 12 digits in minor units (fen); dates and times are the field's digits
// (F12 hhmmss, F13 MMDD, F14 YYMM, F15 MMDD). F64 is not a value: pass a MAC key to the encoder instead.

/** 0800 sign-in: 60.3 chooses the key layout of the reply (`001`, `003`, `004`). No MAC. */
export const signInRequest = defineMessage({
  mti: "0800",
  mac: false,
  fields: {
    stan: { field: 11 },
    terminalId: { field: 41 },
    merchantId: { field: 42 },
    transactionType: { field: "60.1", default: "00" },
    batchNumber: { field: "60.2" },
    networkManagementCode: { field: "60.3", default: "003" },
    /** Terminal information some terminals send (serial number). */
    terminalInfo: { field: 62, optional: true },
    /** Operator code. */
    operator: { field: 63, default: "001" },
  },
});

/** 0810 sign-in reply: batch number to adopt and, when approved, the working keys in F62. No MAC. */
export const signInResponse = defineMessage({
  mti: "0810",
  mac: false,
  fields: {
    stan: { field: 11 },
    localTime: { field: 12 },
    localDate: { field: 13 },
    acquirerId: { field: 32, optional: true },
    retrievalReference: { field: 37, optional: true },
    responseCode: { field: 39 },
    terminalId: { field: 41 },
    merchantId: { field: 42 },
    transactionType: { field: "60.1", default: "00" },
    batchNumber: { field: "60.2" },
    networkManagementCode: { field: "60.3", default: "003" },
    /** Encrypted working keys, see crypto/workingKeys.ts. */
    workingKeys: { field: 62, optional: true },
    operator: { field: 63, optional: true },
  },
});

/** 0200 purchase. With a PIN add `withPin(pinBlock)` (F52, F26 = 12, F53 = 2600000000000000). MAC'd. */
export const purchaseRequest = defineMessage({
  mti: "0200",
  mac: true,
  fields: {
    pan: { field: 2, optional: true },
    processingCode: { field: 3, default: "000000" },
    amount: { field: 4 },
    stan: { field: 11 },
    expiryDate: { field: 14, optional: true },
    posEntryMode: { field: 22 },
    cardSequenceNumber: { field: 23, optional: true },
    posConditionCode: { field: 25, default: "00" },
    pinCaptureCode: { field: 26, optional: true },
    track2: { field: 35, optional: true },
    track3: { field: 36, optional: true },
    terminalId: { field: 41 },
    merchantId: { field: 42 },
    currencyCode: { field: 49, default: "156" },
    pinBlock: { field: 52, optional: true },
    securityControl: { field: 53, optional: true },
    iccData: { field: 55, optional: true },
    transactionType: { field: "60.1", default: "22" },
    batchNumber: { field: "60.2" },
    networkManagementCode: { field: "60.3", default: "000" },
    terminalReadCapability: { field: "60.4", optional: true },
    iccConditionCode: { field: "60.5", optional: true },
  },
});

/** 0210 purchase reply. The terminal accepts it only if `matchReply` passes. MAC'd. */
export const purchaseResponse = defineMessage({
  mti: "0210",
  mac: true,
  fields: {
    pan: { field: 2, optional: true },
    processingCode: { field: 3 },
    amount: { field: 4 },
    stan: { field: 11 },
    localTime: { field: 12, optional: true },
    localDate: { field: 13, optional: true },
    expiryDate: { field: 14, optional: true },
    settlementDate: { field: 15, optional: true },
    posConditionCode: { field: 25, optional: true },
    acquirerId: { field: 32, optional: true },
    retrievalReference: { field: 37, optional: true },
    authorizationCode: { field: 38, optional: true },
    responseCode: { field: 39 },
    terminalId: { field: 41 },
    merchantId: { field: 42 },
    additionalResponse: { field: 44, optional: true },
    currencyCode: { field: 49, optional: true },
    iccData: { field: 55, optional: true },
    transactionType: { field: "60.1" },
    batchNumber: { field: "60.2" },
    networkManagementCode: { field: "60.3", optional: true },
    terminalReadCapability: { field: "60.4", optional: true },
    iccConditionCode: { field: "60.5", optional: true },
    /** F63: 63.1 (its first 3 characters) is the international card organisation code (CUP, VIS, MCC, …). */
    cardOrganization: { field: 63, optional: true },
  },
});

/**
 * 0210 as some acquirers' switches send it: without F60. A terminal of that dialect (`terminal.replyField60:
 * false`) reads it so; one that expects F60 reports the reply as malformed, naming F60.
 */
export const purchaseResponseWithoutField60 = defineMessage({
  ...purchaseResponse,
  fields: {
    ...purchaseResponse.fields,
    transactionType: { field: "60.1", optional: true },
    batchNumber: { field: "60.2", optional: true },
  },
});

/**
 * 0400 reversal of an 0200 whose reply timed out or failed: the original minus F26, F35, F36, F52, F53; same
 * F11 and F60; F39 = reason (`98` response timeout, `A0` reply MAC failed, `06` other). Build it with
 * `reversalFor`. MAC'd.
 */
export const reversalRequest = defineMessage({
  mti: "0400",
  mac: true,
  fields: {
    pan: { field: 2, optional: true },
    processingCode: { field: 3, default: "000000" },
    amount: { field: 4 },
    stan: { field: 11 },
    expiryDate: { field: 14, optional: true },
    posEntryMode: { field: 22 },
    cardSequenceNumber: { field: 23, optional: true },
    posConditionCode: { field: 25, default: "00" },
    /** Present when the original's reply carried an authorization code. */
    authorizationCode: { field: 38, optional: true },
    reason: { field: 39 },
    terminalId: { field: 41 },
    merchantId: { field: 42 },
    currencyCode: { field: 49, default: "156" },
    iccData: { field: 55, optional: true },
    transactionType: { field: "60.1", default: "22" },
    batchNumber: { field: "60.2" },
    networkManagementCode: { field: "60.3", default: "000" },
    terminalReadCapability: { field: "60.4", optional: true },
    iccConditionCode: { field: "60.5", optional: true },
    originalMessage: { field: 61, optional: true },
  },
});

/** 0410 reversal reply (field list is our choice, PROTOCOL.md). MAC'd. */
export const reversalResponse = defineMessage({
  mti: "0410",
  mac: true,
  fields: {
    pan: { field: 2, optional: true },
    processingCode: { field: 3 },
    amount: { field: 4 },
    stan: { field: 11 },
    localTime: { field: 12, optional: true },
    localDate: { field: 13, optional: true },
    settlementDate: { field: 15, optional: true },
    posConditionCode: { field: 25 },
    acquirerId: { field: 32, optional: true },
    retrievalReference: { field: 37, optional: true },
    responseCode: { field: 39 },
    terminalId: { field: 41 },
    merchantId: { field: 42 },
    additionalResponse: { field: 44, optional: true },
    currencyCode: { field: 49 },
    transactionType: { field: "60.1" },
    batchNumber: { field: "60.2" },
    networkManagementCode: { field: "60.3", optional: true },
  },
});

/** 0820 echo (60.3 = `301`, the long-link heartbeat) or sign-off (`002`). No MAC. */
export const networkRequest = defineMessage({
  mti: "0820",
  mac: false,
  fields: {
    stan: { field: 11 },
    terminalId: { field: 41 },
    merchantId: { field: 42 },
    transactionType: { field: "60.1", default: "00" },
    batchNumber: { field: "60.2" },
    networkManagementCode: { field: "60.3", default: "301" },
  },
});

/** 0830 echo / sign-off reply. No MAC. */
export const networkResponse = defineMessage({
  mti: "0830",
  mac: false,
  fields: {
    stan: { field: 11 },
    responseCode: { field: 39 },
    terminalId: { field: 41 },
    merchantId: { field: 42 },
    transactionType: { field: "60.1", default: "00" },
    batchNumber: { field: "60.2" },
    networkManagementCode: { field: "60.3", default: "301" },
  },
});

export type SignInRequest = MessageValues<typeof signInRequest.fields>;
export type SignInResponse = MessageValues<typeof signInResponse.fields>;
export type PurchaseRequest = MessageValues<typeof purchaseRequest.fields>;
export type PurchaseResponse = MessageValues<typeof purchaseResponse.fields>;
export type ReversalRequest = MessageValues<typeof reversalRequest.fields>;
export type ReversalResponse = MessageValues<typeof reversalResponse.fields>;
export type NetworkRequest = MessageValues<typeof networkRequest.fields>;
export type NetworkResponse = MessageValues<typeof networkResponse.fields>;
export type PurchaseInput = MessageInput<typeof purchaseRequest.fields>;
export type ReversalInput = MessageInput<typeof reversalRequest.fields>;

/** Every typed message, by MTI. */
export const messageTypes = {
  "0800": signInRequest,
  "0810": signInResponse,
  "0200": purchaseRequest,
  "0210": purchaseResponse,
  "0400": reversalRequest,
  "0410": reversalResponse,
  "0820": networkRequest,
  "0830": networkResponse,
} as const;

/** Whether messages of this MTI carry a MAC in F64 (false for MTIs not listed). */
export function carriesMac(mti: string): boolean {
  return (messageTypes as Readonly<Record<string, { mac: boolean }>>)[mti]?.mac ?? false;
}

/** Reversal reasons (F39 of an 0400). */
export const reversalReasons = { responseTimeout: "98", replyMacFailed: "A0", other: "06" } as const;
export type ReversalReason = (typeof reversalReasons)[keyof typeof reversalReasons];

/** The PIN fields of an 0200: the PIN block, F26 = 12 (max PIN length) and F53 (format 1 with PAN, double key). */
export function withPin(
  pinBlock: Uint8Array,
): Pick<PurchaseInput, "pinBlock" | "pinCaptureCode" | "securityControl"> {
  return { pinBlock, pinCaptureCode: "12", securityControl: "2600000000000000" };
}

/** The 0400 that reverses `purchase`, for `reason`, with the authorization code if a reply carried one. */
export function reversalFor(
  purchase: PurchaseRequest,
  reason: ReversalReason,
  authorizationCode?: string,
): ReversalInput {
  const { pinCaptureCode, track2, track3, pinBlock, securityControl, ...kept } = purchase;
  return authorizationCode === undefined ? { ...kept, reason } : { ...kept, reason, authorizationCode };
}
