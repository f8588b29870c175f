import type { Header, Tpdu } from "../../protocol/index.ts";

// The TPDU and header the switch writes where a request gave none: a terminal of a dialect without them.

/** The TPDU of a reply to a request that came without one (another dialect): switch 0003 → terminal 0000. */
export const REPLY_TPDU: Tpdu = { id: "60", destination: "0000", source: "0003" };
/** The header of a reply to a request that came without one; and of host messages for such a request. */
export const DEFAULT_HEADER: Header = {
  applicationType: "60",
  version: "31",
  terminalStatus: 0,
  processingRequirement: 0,
  softwareVersion: "000000",
};
/** The TPDU of host messages for a request that came without one. */
export const HOST_TPDU: Tpdu = { id: "60", destination: "0003", source: "0000" };
