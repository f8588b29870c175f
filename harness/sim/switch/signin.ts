import { type Frame, type KeyLayout, macKey, splitField60, unwrapWorkingKeys } from "../../protocol/index.ts";
import type { Job } from "./admission.ts";
import { SWITCH_CODES as CODE } from "./codes.ts";
import type { Connection } from "./connection.ts";
import { HsmError } from "./hsm.ts";
import { switchReply } from "./replies.ts";
import type { Switch } from "./switch.ts";

// Sign-in (0800 → 0810): the TID admitted, working keys from the HSM unwrapped under the terminal's TMK, the
// session kept; a sign-in waits in admission like a transaction and is answered 96 when the HSM timeout passes.

const SIGN_IN_LAYOUTS = new Set(["001", "003", "004"]);

export class SignIn implements Job {
  cancelled = false;
  queued = false;
  timer: NodeJS.Timeout | undefined = undefined;
  readonly sw: Switch;
  readonly conn: Connection;
  readonly request: Frame;
  readonly tid: string;
  readonly layout: KeyLayout;
  readonly t0: number;

  constructor(sw: Switch, conn: Connection, request: Frame, tid: string, layout: KeyLayout, t0: number) {
    this.sw = sw;
    this.conn = conn;
    this.request = request;
    this.tid = tid;
    this.layout = layout;
    this.t0 = t0;
  }

  run(): void {
    askHsm(this.sw, this);
  }
}

function expireSignIn(job: SignIn): void {
  signInExpired(job.sw, job);
}

export function signIn(sw: Switch, conn: Connection, request: Frame, t0: number): void {
  const fields = request.message.fields;
  const tid = fields[41];
  const f60 = fields[60];
  if (typeof tid !== "string" || typeof fields[11] !== "string" || typeof f60 !== "string") {
    sw.formatError(conn, request, t0);
    return;
  }
  const layout = splitField60(f60).networkManagementCode ?? "";
  if (!SIGN_IN_LAYOUTS.has(layout) || !sw.config.keyLayouts.includes(layout)) {
    sw.decline(conn, request, CODE.invalid, t0);
    return;
  }
  if (!sw.compiled.fleet.has(tid)) {
    sw.decline(conn, request, CODE.unknownTerminal, t0);
    return;
  }
  const job = new SignIn(sw, conn, request, tid, layout as KeyLayout, t0);
  if (!sw.admission.admit(job)) {
    sw.decline(conn, request, CODE.malfunction, t0);
    return;
  }
  if (job.queued) {
    job.timer = setTimeout(expireSignIn, sw.config.hsmTimeoutMs, job);
    sw.signIns.add(job);
  }
}

export function signInExpired(sw: Switch, job: SignIn): void {
  sw.signIns.delete(job);
  if (!job.queued) return;
  sw.admission.cancel(job);
  sw.decline(job.conn, job.request, CODE.malfunction, job.t0);
}

export function askHsm(sw: Switch, job: SignIn): void {
  clearTimeout(job.timer);
  sw.signIns.delete(job);
  const timeoutMs = Math.max(1, Math.round(sw.config.hsmTimeoutMs - (performance.now() - job.t0)));
  sw.hsm.workingKeys(job.tid, job.layout, { timeoutMs }).then(
    (reply) => {
      sw.admission.release();
      if (reply.error !== "00") {
        sw.metrics.hsmRequests.inc({ result: `error ${reply.error}` });
        signInReply(sw, job, CODE.security);
        return;
      }
      let mak: Uint8Array;
      try {
        mak = unwrapWorkingKeys(reply.f62, sw.tmkOf(job.tid), job.layout).mak;
      } catch (error) {
        sw.metrics.hsmRequests.inc({ result: "bad keys" });
        sw.logError(`HSM keys for ${job.tid} do not unwrap: ${(error as Error).message}`);
        signInReply(sw, job, CODE.security);
        return;
      }
      sw.metrics.hsmRequests.inc({ result: "ok" });
      // The terminal's own batch, or the switch's (assignBatch, or a new one per sign-in), which the 0810
      // then tells it to adopt.
      const batch =
        sw.config.assignBatch ||
        (sw.config.batchPerSignIn ? sw.openBatch() : undefined) ||
        (splitField60(job.request.message.fields[60] as string).batchNumber ?? "000000");
      sw.sessions.set(job.tid, { mak: macKey(mak, sw.config.macAlgorithm), batch });
      signInReply(sw, job, CODE.approved, reply.f62, assignsBatch(sw) ? batch : undefined);
    },
    (error: unknown) => {
      sw.admission.release();
      sw.metrics.hsmRequests.inc({ result: error instanceof HsmError ? error.reason : "error" });
      if (!(error instanceof HsmError)) sw.logError(`HSM request: ${String(error)}`);
      signInReply(sw, job, CODE.security);
    },
  );
}

/** Whether this switch gives terminals their batch at sign-in (and then refuses any other). */
export function assignsBatch(sw: Switch): boolean {
  return sw.config.assignBatch !== "" || sw.config.batchPerSignIn;
}

export function signInReply(
  sw: Switch,
  job: SignIn,
  code: string,
  f62?: Uint8Array,
  batch: string | undefined = sw.config.assignBatch || undefined,
): void {
  if (sw.closed) return;
  try {
    const fields = switchReply("0810", job.request.message.fields, code, sw.config.acquirerId);
    if (f62) fields[62] = f62;
    if (batch) fields[60] = withBatch(fields[60] as string, batch);
    sw.reply(job.conn, job.request, fields, code, job.t0);
  } catch {
    sw.formatError(job.conn, job.request, job.t0);
  }
}

/** F60 with 60.2 (the batch, digits 3 to 8) replaced. */
export function withBatch(field60: string, batch: string): string {
  return `${field60.slice(0, 2)}${batch}${field60.slice(8)}`;
}
