import { CodecError } from "../errors.ts";

/**
 * Sub-fields of F60, in wire order; each is fixed-length digits. 60.1-60.3 are in PROTOCOL.md; 60.4-60.7 follow
 * the CUP POS terminal specification (captured 0200s carry 60.4 and 60.5). A value may stop after any part.
 */
export const field60Parts = [
  /** `00` management, `22` sale, `23` void, `01` balance. */
  { id: "60.1", name: "transactionType", digits: 2 },
  { id: "60.2", name: "batchNumber", digits: 6 },
  /** `000` financial, `001`/`003`/`004` sign-in, `002` sign-off, `201` settlement, `301` echo. */
  { id: "60.3", name: "networkManagementCode", digits: 3 },
  /** Terminal read capability: `2` magstripe, `5` IC, `6` IC + contactless. */
  { id: "60.4", name: "terminalReadCapability", digits: 1 },
  /** Chip condition code (fallback indicator). */
  { id: "60.5", name: "iccConditionCode", digits: 1 },
  { id: "60.6", name: "partialApprovalFlag", digits: 1 },
  { id: "60.7", name: "accountType", digits: 3 },
] as const;

export type Field60PartId = (typeof field60Parts)[number]["id"];
export type Field60PartName = (typeof field60Parts)[number]["name"];
/** F60 split into named parts; parts after the last one present are absent. */
export type Field60 = { [K in Field60PartName]?: string };

/** Splits an F60 digit string into its parts. A final part shorter than its length is kept as received. */
export function splitField60(value: string): Field60 {
  const parts: Field60 = {};
  let offset = 0;
  for (const part of field60Parts) {
    if (offset >= value.length) break;
    parts[part.name] = value.slice(offset, offset + part.digits);
    offset += part.digits;
  }
  return parts;
}

/** Joins F60 parts; every part before the last one given must be present and exactly its length. */
export function joinField60(parts: Field60): string {
  let value = "";
  let gap: (typeof field60Parts)[number] | undefined;
  let previous: (typeof field60Parts)[number] | undefined;
  for (const part of field60Parts) {
    const text = parts[part.name];
    if (text === undefined) {
      gap ??= part;
      continue;
    }
    if (gap)
      throw new CodecError(`${gap.id} (${gap.name}) is missing but a later part is present`, { field: 60 });
    if (previous && parts[previous.name]!.length !== previous.digits) {
      const length = parts[previous.name]!.length;
      throw new CodecError(
        `${previous.id} (${previous.name}) has ${length} digits, expected ${previous.digits}`,
        {
          field: 60,
        },
      );
    }
    value += text;
    previous = part;
  }
  return value;
}
