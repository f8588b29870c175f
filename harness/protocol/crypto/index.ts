export { type BlockCipher, blockCipher, cbcEncrypt, ecbDecrypt, ecbEncrypt } from "./cipher.ts";
export { type DesSchedule, desRounds, desSchedule, loadBlock, storeBlock, xorBlock } from "./des.ts";
export { keyCheckValue } from "./kcv.ts";
export { cupEcbMac, type MacAlgorithm, type MacKey, macAlgorithms, macKey, x919Mac } from "./mac.ts";
export { DEFAULT_LAB_KEY_HEX, deriveTmk, withOddParity } from "./terminalKeys.ts";
export { parseTerminalKeys, type TerminalKey, TerminalKeysError, tmkLookup } from "./terminalList.ts";
export {
  type KeyLayout,
  keyLayoutBytes,
  keyLayoutOf,
  unwrapWorkingKeys,
  type WorkingKeys,
  wrapWorkingKeys,
} from "./workingKeys.ts";
