import type { StartedLab } from "../lab/lab.ts";

// A lab program that ends on its own in the middle of a run (crashed, killed from outside, out of memory) is a
// failure of the run, not a finding: the figures after it measure a lab that is no longer there. Checked every
// `intervalMs`; a program that a switch-restart fault stops and starts again does not count.

export type EndedPrograms = Awaited<ReturnType<StartedLab["ended"]>>;

/** Calls `onEnded` once, with every program that ended, the first time any has; the returned function stops it. */
export function watchLab(
  lab: Pick<StartedLab, "ended">,
  onEnded: (ended: EndedPrograms) => void,
  intervalMs = 1_000,
): () => void {
  let busy = false;
  let fired = false;
  const timer = setInterval(() => {
    if (busy || fired) return;
    busy = true;
    lab
      .ended()
      .then((ended) => {
        if (ended.length > 0 && !fired) {
          fired = true;
          clearInterval(timer);
          onEnded(ended);
        }
      })
      .catch(() => undefined)
      .finally(() => {
        busy = false;
      });
  }, intervalMs);
  return () => clearInterval(timer);
}

/** One line for run.json and the log: `switch: container exited with code 137`. */
export function describeEnded(ended: EndedPrograms): string {
  return `lab program ended during the run: ${ended.map((e) => `${e.role} (${e.how})`).join(", ")}`;
}
