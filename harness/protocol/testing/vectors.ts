import vectors from "../testdata/vectors.json" with { type: "json" };

// Typed access to testdata/vectors.json (a copy of the shared fixture file; see its notes per frame).

/** A field as the fixture states it: text, or `{ hex }` for binary or non-printable values. */
export type VectorValue = string | { hex: string };

export interface FrameVector {
  id: string;
  description: string;
  hex: string;
  hasLengthPrefix: boolean;
  lengthPrefix: number | null;
  tpdu: string | null;
  header: string | null;
  mti: string;
  bitmap: string;
  presentFields: number[];
  fields: Record<string, VectorValue>;
  fieldsRaw: Record<string, string>;
  padNibbles: Record<string, string>;
  /** EMV tags of F55, in order. */
  f55Tags?: string[];
  mac?: { algorithm: string; key: string; expectedF64: string };
  keyBlock?: { tmk: string; keys: { key: string; ciphertext: string; clear: string; checkValue: string }[] };
}

export interface MacVector {
  id: string;
  algorithm: string;
  key?: string;
  data?: string;
  expected?: string;
  tmk?: string;
  f62?: string;
  items?: {
    name: string;
    key?: string;
    cipher?: string;
    expectedKcv?: string;
    computed?: string;
    data?: string;
    expected?: string;
    fullX919?: string;
  }[];
}

export const frameVectors = vectors.frames as unknown as FrameVector[];
export const macVectors = vectors.macAndKeys as unknown as MacVector[];
