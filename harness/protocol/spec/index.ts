export {
  networkManagementCodes,
  processingRequirementNames,
  processingRequirements,
  RESPONSE_CODES,
  responseCodes,
  SIGN_IN_AGAIN_CODES,
  SYSTEM_ERROR_CODES,
  transactionTypes,
} from "./codes.ts";
export { type CupPosField, cupPos } from "./cupPos.ts";
export {
  type Field60,
  type Field60PartId,
  type Field60PartName,
  field60Parts,
  joinField60,
  splitField60,
} from "./field60.ts";
export type { FieldSpec, FieldValue, MessageSpec, Sensitivity } from "./types.ts";
