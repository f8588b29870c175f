import { maskDigitRuns } from "./mask.ts";

/** Where a codec error happened: the ISO field (number and spec name) and the byte offset in the input. */
export interface CodecErrorContext {
  field?: number;
  fieldName?: string;
  /** Byte offset from the start of the bytes handed to the decoder (length prefix included when present). */
  offset?: number;
}

/**
 * The one error the codec throws for malformed input or unencodable values, e.g.
 * `field 35 (track2): length 41 exceeds max 37 at offset 58`.
 * The message never carries card data: values of sensitive fields are never quoted, and any run of
 * 13 to 19 digits left in the text is masked as a PAN would be.
 */
export class CodecError extends Error {
  override readonly name = "CodecError";
  /** The bare reason, without field and offset (`length 41 exceeds max 37`). */
  readonly reason: string;
  readonly field: number | undefined;
  readonly fieldName: string | undefined;
  readonly offset: number | undefined;

  constructor(reason: string, context: CodecErrorContext = {}) {
    const safeReason = maskDigitRuns(reason);
    super(formatCodecError(safeReason, context));
    this.reason = safeReason;
    this.field = context.field;
    this.fieldName = context.fieldName;
    this.offset = context.offset;
  }

  /** This error with `context` filling what it does not say yet (the field a low-level error happened in). */
  locate(context: CodecErrorContext): CodecError {
    return new CodecError(this.reason, {
      field: this.field ?? context.field,
      fieldName: this.fieldName ?? context.fieldName,
      offset: this.offset ?? context.offset,
    });
  }
}

function formatCodecError(reason: string, { field, fieldName, offset }: CodecErrorContext): string {
  const where = field === undefined ? "" : fieldName ? `field ${field} (${fieldName}): ` : `field ${field}: `;
  const at = offset === undefined ? "" : ` at offset ${offset}`;
  return `${where}${reason}${at}`;
}
