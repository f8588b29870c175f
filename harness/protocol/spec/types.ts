import type { Align } from "../encoding/bcd.ts";
import type { MaskKind } from "../mask.ts";
import type { VariablePrefix } from "../prefix/prefix.ts";

/**
 * Card data class of a field: `pan` (F2), `track` (F35, F36), `pin` (F52), `icc` (F55). Sensitive values are
 * masked in descriptions, errors and logs.
 */
export type Sensitivity = MaskKind;

interface FieldBase {
  /** camelCase name used in descriptions and errors. */
  readonly name: string;
  readonly sensitive?: Sensitivity;
}

/**
 * One field's wire form. A fixed field has `length`; a variable one has `prefix` and `max`.
 * `numeric` and `track` lengths count digits (packed BCD, two per byte); `ascii` and `bytes` lengths count bytes.
 */
export type FieldSpec =
  /** Fixed packed BCD; `align` defaults to right (odd length: leading 0 nibble). */
  | (FieldBase & { readonly kind: "numeric"; readonly length: number; readonly align?: Align })
  /** Variable packed BCD; `align` defaults to left (odd length: trailing pad nibble). */
  | (FieldBase & {
      readonly kind: "numeric";
      readonly prefix: VariablePrefix;
      readonly max: number;
      readonly align?: Align;
    })
  /** Track data: digits and the separator `=`, carried as nibble D and decoded as `D`; left-aligned. */
  | (FieldBase & { readonly kind: "track"; readonly prefix: VariablePrefix; readonly max: number })
  /** One character per byte. */
  | (FieldBase & { readonly kind: "ascii"; readonly length: number })
  | (FieldBase & { readonly kind: "ascii"; readonly prefix: VariablePrefix; readonly max: number })
  /** Raw bytes, decoded as Uint8Array. */
  | (FieldBase & { readonly kind: "bytes"; readonly length: number })
  | (FieldBase & { readonly kind: "bytes"; readonly prefix: VariablePrefix; readonly max: number });

/** Field number (2-64; the primary bitmap only) → wire form. */
export type MessageSpec = { readonly [field: number]: FieldSpec };

/** A decoded field value: digits/characters as a string (never a JS number), binary fields as bytes. */
export type FieldValue = string | Uint8Array;
