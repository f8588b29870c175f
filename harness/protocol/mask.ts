// Card data (PAN, track data, PIN block, chip data) never appears in clear in a description, an error or a
// log line unless an operator explicitly asks for it. PANs keep their first 6 and last 4 digits, the most
// PCI DSS allows to display, grouped by 4: `6222 02** **** 1234`.

const MASK = "*";

/** `6222021234561234` → `6222 02** **** 1234`; short numbers keep less (below 13 digits no leading 6, below 8 nothing). */
export function maskPan(pan: string): string {
  const keepStart = pan.length >= 13 ? 6 : 0;
  const keepEnd = pan.length >= 8 ? 4 : 0;
  let masked = "";
  for (let i = 0; i < pan.length; i++) {
    const visible = i < keepStart || i >= pan.length - keepEnd;
    masked += visible ? pan[i] : MASK;
  }
  return groupBy4(masked);
}

/** Track data `PAN=expiry+service+discretionary` (separator `=` or `D`): masked PAN, then `=` and stars. */
export function maskTrack(track: string): string {
  const separator = track.search(/[=Dd]/);
  if (separator < 0) return maskPan(track);
  return `${maskPan(track.slice(0, separator))}=${MASK.repeat(track.length - separator - 1)}`;
}

/** Opaque card data (PIN block, chip data): only its size is shown. */
export function maskBytes(byteLength: number): string {
  return `[masked: ${byteLength} bytes]`;
}

/** What a field's sensitivity class allows to print; see `Sensitivity` in spec/types.ts. */
export type MaskKind = "pan" | "track" | "pin" | "icc";

/** Masks a field value according to its sensitivity class. */
export function maskField(kind: MaskKind, value: string | Uint8Array): string {
  if (typeof value !== "string") return maskBytes(value.length);
  switch (kind) {
    case "pan":
      return maskPan(value);
    case "track":
      return maskTrack(value);
    case "pin":
    case "icc":
      return maskBytes(value.length >> 1);
  }
}

/** Masks every run of 13 to 19 digits (a PAN's possible lengths) in free text; longer runs are masked whole. */
export function maskDigitRuns(text: string): string {
  return text.replace(/\d{13,}/g, (run) =>
    run.length <= 19 ? maskPan(run).replace(/ /g, "") : MASK.repeat(run.length),
  );
}

function groupBy4(text: string): string {
  let grouped = "";
  for (let i = 0; i < text.length; i += 4) grouped += (i === 0 ? "" : " ") + text.slice(i, i + 4);
  return grouped;
}
