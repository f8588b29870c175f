import {
  type AppliedFault,
  applyFault,
  type ChaosContext,
  describeFault,
  type EntryRecord,
  type Fault,
  faultTarget,
  INCIDENTS,
  isIncidentId,
  validateFault,
} from "../../chaos/index.ts";

// Faults applied by hand while a run goes (a rehearsal, the live page, `posstorm chaos apply --run`): each one
// applied and verified like a planned fault, recorded with its actual times as a timeline entry of origin
// `manual`, cleared by hand, after its `forS`, by the emergency stop, or when the run ends.

/** What someone asks for: an incident of the library, or one fault; `forS` clears it after that long. */
export type ManualRequest =
  | { incident: string; forS?: number; link?: string; issuer?: string }
  | { fault: unknown; name?: string; forS?: number };

export class ManualFaultError extends Error {
  override readonly name = "ManualFaultError";
}

interface Active {
  record: EntryRecord;
  applied: AppliedFault;
  timer: NodeJS.Timeout | undefined;
}

const round = (s: number) => Math.round(s * 1000) / 1000;

export class ManualFaults {
  readonly #ctx: ChaosContext;
  readonly #records: EntryRecord[] = [];
  readonly #active = new Map<string, Active>();
  #loadStartMs: number | undefined;
  #closed = false;
  #index = 0;

  /** `firstIndex`: where manual entries continue the planned timeline's numbering. */
  constructor(ctx: ChaosContext, firstIndex = 0) {
    this.#ctx = ctx;
    this.#index = firstIndex;
  }

  /** Load start (ms since the epoch): manual times count from here, as planned ones do. */
  setLoadStart(ms: number): void {
    this.#loadStartMs = ms;
  }

  /** Every manual entry so far (active ones with no clearedAt yet). */
  records(): EntryRecord[] {
    return this.#records.map((r) => ({ ...r, facts: { ...r.facts } }));
  }

  activeNames(): string[] {
    return [...this.#active.keys()];
  }

  #instant() {
    const now = Date.now();
    return {
      iso: new Date(now).toISOString(),
      sinceStartS: round((now - (this.#loadStartMs ?? now)) / 1000),
    };
  }

  /** The faults a request names, each with its entry name; throws ManualFaultError on a bad request. */
  #faultsOf(request: ManualRequest): { name: string; fault: Fault }[] {
    if ("incident" in request) {
      const id = request.incident;
      if (!isIncidentId(id))
        throw new ManualFaultError(
          `unknown incident ${JSON.stringify(id)} (${Object.keys(INCIDENTS).join(", ")})`,
        );
      const incident = INCIDENTS[id];
      const opts = {
        ...(request.link ? { link: request.link as never } : {}),
        ...(request.issuer ? { issuer: request.issuer as never } : {}),
      };
      return incident.entries(0, request.forS ?? 3600, opts).map((e) => ({ name: e.name!, fault: e.fault }));
    }
    const problems = validateFault(request.fault, "fault");
    if (problems.length > 0) throw new ManualFaultError(problems.join("; "));
    const fault = request.fault as Fault;
    return [{ name: request.name ?? `${fault.kind}@${faultTarget(fault)}`, fault }];
  }

  /** Applies what `request` names now; resolves with the new entries (failed ones included, with the error). */
  async apply(request: ManualRequest, by = "manual"): Promise<EntryRecord[]> {
    if (this.#closed) throw new ManualFaultError("the run is ending: no more faults");
    const forS = request.forS;
    if (forS !== undefined && !(forS > 0)) throw new ManualFaultError(`forS ${forS} must be above 0`);
    const wanted = this.#faultsOf(request);
    const added: EntryRecord[] = [];
    for (const { name: base, fault } of wanted) {
      let name = `manual:${base}`;
      for (let n = 2; this.#records.some((r) => r.name === name); n++) name = `manual:${base}#${n}`;
      const at = this.#instant();
      const record: EntryRecord = {
        index: this.#index++,
        name,
        description: `${describeFault(fault)} (by hand${by === "manual" ? "" : `: ${by}`})`,
        kind: fault.kind,
        target: faultTarget(fault),
        atS: at.sinceStartS,
        forS: forS ?? 0,
        status: "applying",
        origin: "manual",
        facts: {},
      };
      this.#records.push(record);
      try {
        const applied = await applyFault(fault, this.#ctx);
        record.status = "active";
        record.appliedAt = this.#instant();
        Object.assign(record.facts, applied.facts);
        const timer =
          forS === undefined ? undefined : setTimeout(() => void this.clear(name, "schedule"), forS * 1000);
        this.#active.set(name, { record, applied, timer });
      } catch (error) {
        record.status = "failed";
        record.error = error instanceof Error ? error.message : String(error);
      }
      added.push({ ...record });
    }
    return added;
  }

  /** Clears one active manual fault; undefined when no such fault is active. */
  async clear(
    name: string,
    by: NonNullable<EntryRecord["clearedBy"]> = "manual",
  ): Promise<EntryRecord | undefined> {
    const active = this.#active.get(name);
    if (!active) return undefined;
    this.#active.delete(name);
    clearTimeout(active.timer);
    const { record } = active;
    record.status = "clearing";
    try {
      Object.assign(record.facts, await active.applied.clear());
      record.status = "cleared";
    } catch (error) {
      record.status = "clear-failed";
      record.clearError = error instanceof Error ? error.message : String(error);
    }
    record.clearedAt = this.#instant();
    record.clearedBy = by;
    record.forS = round(record.clearedAt.sinceStartS - (record.appliedAt?.sinceStartS ?? record.atS));
    return { ...record };
  }

  /** Clears every active manual fault (newest first); `close` also refuses new ones from then on. */
  async clearAll(by: NonNullable<EntryRecord["clearedBy"]>, close = false): Promise<string[]> {
    if (close) this.#closed = true;
    const names = [...this.#active.keys()].reverse();
    for (const name of names) await this.clear(name, by);
    return names;
  }
}
