import { processIsDead } from "../shared/process.ts";

/** Docker labels that mark what posstorm started, so it can find and remove its own containers. */
export const LABEL_MANAGED = "posstorm.managed";
/** The lab session (one `startLab`, one test file) a container belongs to. */
export const LABEL_SESSION = "posstorm.session";
/** PID of the process that started the container; a dead owner makes the container stale. */
export const LABEL_OWNER_PID = "posstorm.owner-pid";
/** The lab role: `toxiproxy`, `switch`, `issuer-a`, … */
export const LABEL_ROLE = "posstorm.role";

export function ownerLabels(session: string, role: string): Record<string, string> {
  return {
    [LABEL_MANAGED]: "true",
    [LABEL_SESSION]: session,
    [LABEL_OWNER_PID]: String(process.pid),
    [LABEL_ROLE]: role,
  };
}

/** True when the process with this PID is gone: its containers are stale. */
export const ownerIsDead = processIsDead;
