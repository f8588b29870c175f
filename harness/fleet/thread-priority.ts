import { getPriority, setPriority } from "node:os";

// The fleet's worker threads run at a raised priority where the machine allows it: the lab shares this
// machine's cores with the generator, and a segment's timers must fire at the intended starts, not when the
// switch or Toxiproxy leave a core free (schedule lag). On Linux a nice value belongs to a thread, so this
// changes the calling worker thread only — never the lab's processes or the coordinator's thread.

/** The nice value fleet threads ask for (POSSTORM_FLEET_NICE, -20…19; default -10; 0 leaves it alone). */
export function wantedNice(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.POSSTORM_FLEET_NICE;
  if (text === undefined || text === "") return -10;
  const value = Number(text);
  if (!Number.isInteger(value) || value < -20 || value > 19) {
    throw new Error(
      `POSSTORM_FLEET_NICE: ${JSON.stringify(text)} is not a nice value (a whole number -20…19)`,
    );
  }
  return value;
}

/** Sets the calling thread's nice value; the value it then has (unchanged when not permitted). */
export function raiseThreadPriority(nice = wantedNice()): number {
  if (nice !== 0) {
    try {
      setPriority(nice);
    } catch {
      // Not permitted (no CAP_SYS_NICE): the thread keeps its priority; SegmentReport.nice says which.
    }
  }
  return getPriority();
}
