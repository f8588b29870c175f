/** A run folder's time stamp: 2026-11-22T04:31:19.123Z → 20261122-043119. */
export const runStamp = (date: Date): string =>
  date.toISOString().replace(/[-:]/g, "").replace(/\..*/, "").replace("T", "-");
