import { toHex, writeHex } from "../encoding/hex.ts";
import { CodecError } from "../errors.ts";
import { processingRequirements } from "../spec/codes.ts";

/**
 * The 6-byte BCD header after the TPDU: `61 31 00 31 11 08` → application type `61` (IC; `60` magnetic stripe),
 * version `31`, terminal status nibble 0 (1 = test), processing-requirement nibble 0, software version `311108`.
 * Parts are hex text so a variant's non-decimal nibbles survive decode then encode.
 */
export interface Header {
  applicationType: string;
  version: string;
  /** 0 normal, 1 test (a nibble, 0-15). */
  terminalStatus: number;
  /** In a reply, what the switch asks of the terminal: 3 = sign in again; see `processingRequirements`. */
  processingRequirement: number;
  softwareVersion: string;
}

export const HEADER_BYTES = 6;

export function writeHeader(out: Uint8Array, offset: number, header: Header): void {
  const { applicationType, version, terminalStatus, processingRequirement, softwareVersion } = header;
  const valid =
    applicationType.length === 2 &&
    version.length === 2 &&
    softwareVersion.length === 6 &&
    writeHex(out, offset, applicationType) &&
    writeHex(out, offset + 1, version) &&
    writeHex(out, offset + 3, softwareVersion);
  if (!valid) {
    throw new CodecError(
      "header parts must be hex: application type and version 2 digits, software version 6",
    );
  }
  if (!isNibble(terminalStatus) || !isNibble(processingRequirement)) {
    throw new CodecError("header terminal status and processing requirement must be nibbles (0-15)");
  }
  out[offset + 2] = (terminalStatus << 4) | processingRequirement;
}

export function readHeader(bytes: Uint8Array, offset: number): Header {
  return {
    applicationType: toHex(bytes, offset, offset + 1),
    version: toHex(bytes, offset + 1, offset + 2),
    terminalStatus: bytes[offset + 2]! >> 4,
    processingRequirement: bytes[offset + 2]! & 15,
    softwareVersion: toHex(bytes, offset + 3, offset + 6),
  };
}

/** True when a reply header asks the terminal to sign in again. */
/** The header a terminal sends by default: magnetic stripe (60), version 31, normal status, no requirement. */
export const TERMINAL_HEADER: Header = {
  applicationType: "60",
  version: "31",
  terminalStatus: 0,
  processingRequirement: 0,
  softwareVersion: "000000",
};

export function asksSignIn(header: Header | undefined): boolean {
  return header?.processingRequirement === processingRequirements.signInAgain;
}

/** The header with another processing requirement (what a switch sets in a reply). */
export function withProcessingRequirement(header: Header, requirement: number): Header;
export function withProcessingRequirement(
  header: Header | undefined,
  requirement: number,
): Header | undefined;
export function withProcessingRequirement(
  header: Header | undefined,
  requirement: number,
): Header | undefined {
  return header && { ...header, processingRequirement: requirement };
}

function isNibble(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 15;
}
