export { asciiBytes, isPrintableAscii, readAscii, writeAscii } from "./ascii.ts";
export { type Align, bcdLength, type PadNibble, readBcd, writeBcd } from "./bcd.ts";
export { ByteWriter, concatBytes, equalBytes, isZero, withScratchWriter } from "./bytes.ts";
export { fromHex, hexDigitValue, toHex, toHexUpper, writeHex } from "./hex.ts";
