// One prerequisite check's result, as doctor prints it: doctor's own checks (doctor/checks.ts) and the checks
// other rooms offer for what they alone run (report/browser.ts: Chromium) share this shape.

/** `warn`: something to act on that does not stop a run (leftovers of a crashed run); doctor still exits 0. */
export type Status = "ok" | "missing" | "warn";

export interface CheckResult {
  name: string;
  status: Status;
  /** Version or value found; "-" when none. */
  version: string;
  /** Where it was found, or what is wrong. */
  detail: string;
  /** What to do when it is missing. */
  fix?: string;
}
