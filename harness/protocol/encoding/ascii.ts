import { CodecError } from "../errors.ts";

// ASCII fields (an/ans) hold one character per byte. Bytes 0x80-0xFF map to the Latin-1 code points of the same
// value so that any received byte survives decode then encode; characters above U+00FF cannot be encoded.
// No TextEncoder/TextDecoder: not every JavaScript runtime has them.

/** Writes `text` one byte per character at `offset`; returns the byte count. */
export function writeAscii(out: Uint8Array, offset: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) throw new CodecError(`character at position ${i} is not a single-byte character`);
    out[offset + i] = code;
  }
  return text.length;
}

/** The text of `bytes[start, end)`, one character per byte. */
export function readAscii(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let text = "";
  for (let i = start; i < end; i++) text += String.fromCharCode(bytes[i]!);
  return text;
}

/** Bytes of a one-byte-per-character string. */
export function asciiBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  writeAscii(bytes, 0, text);
  return bytes;
}

/** True when every byte is printable ASCII (0x20-0x7E). */
export function isPrintableAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! < 0x20 || bytes[i]! > 0x7e) return false;
  return true;
}
