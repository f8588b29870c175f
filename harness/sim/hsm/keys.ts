import { type KeyLayout, type WorkingKeys, wrapWorkingKeys } from "../../protocol/index.ts";

/** A fresh random DES key part of `bytes` bytes, each byte with odd parity. */
export function randomKey(bytes: number): Uint8Array {
  const key = globalThis.crypto.getRandomValues(new Uint8Array(bytes));
  for (let i = 0; i < key.length; i++) {
    const b = key[i]! & 0xfe;
    let ones = 0;
    for (let v = b; v !== 0; v >>= 1) ones += v & 1;
    key[i] = ones % 2 === 0 ? b | 1 : b;
  }
  return key;
}

/** Fresh working keys for a layout: `001` single-length PIK and MAK; `003` double PIK, single MAK; `004` + double TDK. */
export function freshWorkingKeys(layout: KeyLayout): WorkingKeys {
  if (layout === "001") return { pik: randomKey(8), mak: randomKey(8) };
  if (layout === "003") return { pik: randomKey(16), mak: randomKey(8) };
  return { pik: randomKey(16), mak: randomKey(8), tdk: randomKey(16) };
}

/** The F62 an 0810 carries: fresh keys wrapped under the terminal's TMK. */
export function workingKeysFor(tmk: Uint8Array, layout: KeyLayout): Uint8Array {
  return wrapWorkingKeys(freshWorkingKeys(layout), tmk, layout);
}
