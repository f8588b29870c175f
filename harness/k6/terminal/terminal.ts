import { clearTimeout, setTimeout } from "k6/timers";
import {
  asksSignIn,
  buildMessage,
  decodeFrame,
  deriveTmk,
  encodeFrame,
  type Frame,
  fromHex,
  type Header,
  type IsoMessage,
  type MacKey,
  macKey,
  matchReply,
  networkRequest,
  networkResponse,
  type PurchaseInput,
  type PurchaseResponse,
  purchaseRequest,
  purchaseResponse,
  type ReversalInput,
  type ReversalReason,
  readMessage,
  reversalFor,
  reversalReasons,
  reversalRequest,
  reversalResponse,
  type SignInResponse,
  signInRequest,
  signInResponse,
  type Tpdu,
  unwrapWorkingKeys,
  verifyFrameMac,
} from "../../protocol/index.ts";
import type { Operation, Outcome, RunPlan, TerminalSettings } from "../plan.ts";
import { Link, type LinkFailure, type LinkReply } from "./link.ts";
import {
  recordOutcome,
  recordRetry,
  recordReversal,
  recordSession,
  recordSkipped,
  recordUnsettled,
} from "./metrics.ts";
import { errorMessage } from "./outcome.ts";
import { drawAmount, pickCard, type Random, retryDelayMs } from "./schedule.ts";

// One POS terminal (DESIGN.md, "Terminal model"): TID, MID, TMK derived from the lab key; a session (batch,
// MAK) from its sign-in; at most one pending reversal; a short (connect per exchange) or long (persistent,
// 0820/301 heartbeat) link. Every operation ends in exactly one outcome, recorded by metrics.ts.
//
// Operations run one at a time per terminal (`exclusive`); the long link's heartbeat only fires while the
// terminal is idle. No operation starts at or after `deadline` (but see `started`); one in flight finishes on
// its own timers.

// k6 provides console; @types/k6 does not declare it and this tsconfig has no DOM or Node types.
declare const console: { warn(...data: unknown[]): void };

const TPDU: Tpdu = { id: "60", destination: "0003", source: "0000" };
const HEADER: Header = {
  applicationType: "60",
  version: "31",
  terminalStatus: 0,
  processingRequirement: 0,
  softwareVersion: "000000",
};
const EXPIRY = "3012";
/** Replies to an 0400 after which nothing is owed: done, original declined, original never seen. */
const REVERSAL_SETTLED = new Set(["00", "12", "25"]);
/** Response codes that mean the switch lost the terminal's keys: sign in again. */
const SIGN_IN_AGAIN = new Set(["99", "A0"]);

/** Shared by every terminal of a VU. */
export interface FleetContext {
  plan: RunPlan;
  /** Date.now() after which no operation starts. */
  deadline: number;
  random: Random;
}

interface PendingReversal {
  input: ReversalInput;
  attempts: number;
}

/** The parsed reply of an exchange, or the outcome that ends the operation. */
type Reply = { ok: true; frame: Frame; body: Uint8Array } | { ok: false; outcome: Outcome; written: boolean };

/** Logs the first occurrence of each op + outcome per VU, so a broken run explains itself without a flood. */
const logged = new Set<string>();
function logOnce(tid: string, op: Operation, outcome: Outcome, detail: string): void {
  const key = `${op} ${outcome}`;
  if (logged.has(key)) return;
  logged.add(key);
  console.warn(`posstorm terminal ${tid}: ${op} → ${outcome}: ${detail}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** A purchase the terminal did not see approved, by its identity at the issuer (pos_unsettled). */
function unsettled(original: PurchaseInput, reason: string): void {
  recordUnsettled({ tid: original.terminalId, stan: original.stan, batch: original.batchNumber, reason });
}

export class Terminal {
  readonly tid: string;
  private readonly settings: TerminalSettings;
  private readonly ctx: FleetContext;
  private readonly tmk: Uint8Array;
  private mac: MacKey | undefined;
  private batch = "000001";
  private stan: number;
  private signedIn = false;
  private pending: PendingReversal | undefined;
  /** Long mode: the persistent link (opened on demand, reopened after a failure). */
  private link: Link | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private busy = false;
  private heartbeat: number | undefined;
  private stopped = false;

  constructor(tid: string, ctx: FleetContext, labKey: Uint8Array) {
    this.tid = tid;
    this.ctx = ctx;
    this.settings = ctx.plan.terminal;
    this.tmk = deriveTmk(labKey, tid);
    // A random first STAN: runs against the same lab must not repeat TID + STAN + batch (the issuer says 94).
    this.stan = 1 + Math.floor(ctx.random() * 999_999);
  }

  static labKey(plan: RunPlan): Uint8Array {
    return fromHex(plan.labKeyHex);
  }

  get isSignedIn(): boolean {
    return this.signedIn;
  }

  get hasPendingReversal(): boolean {
    return this.pending !== undefined;
  }

  /**
   * Sign-in with the plan's retry policy; true once signed in. No retry starts at or after the deadline; the
   * first attempt does not either, unless `started` (an open-model iteration k6 started before it).
   */
  async signInWithRetry(started = false): Promise<boolean> {
    const policy = this.settings.retry;
    for (let attempt = 1; ; attempt++) {
      if (!(started && attempt === 1) && Date.now() >= this.ctx.deadline) return false;
      if ((await this.exclusive(() => this.signIn())) === "approved") return true;
      const delay = retryDelayMs(policy, attempt, this.ctx.random);
      if (delay === undefined || Date.now() + delay >= this.ctx.deadline) return false;
      recordRetry("signin");
      if (delay > 0) await sleep(delay);
    }
  }

  /**
   * A purchase as a terminal makes it: first one attempt at the pending reversal (if any), then a sign-in
   * when there is no session, then the 0200. While a reversal is still owed after its attempt the sale is not
   * started (pos_skipped, reason reversal-pending): the next transaction tries again, so the attempts are
   * spread over the terminal's own pace instead of spent in one burst while the link is down. Skipped too
   * when no session can be had. Nothing starts at or after the deadline unless `started`: an open-model
   * iteration k6 started before it completes its chain (sign-in retries still stop at the deadline).
   */
  async transaction(started = false): Promise<void> {
    const late = () => !started && Date.now() >= this.ctx.deadline;
    if (this.pending !== undefined) {
      if (late()) return;
      if (!this.signedIn && !(await this.signInWithRetry(started))) {
        recordSkipped("purchase", "not-signed-in");
        return;
      }
      if (late()) return;
      await this.exclusive(() => this.reversal());
      if (this.pending !== undefined) {
        recordSkipped("purchase", "reversal-pending");
        return;
      }
    }
    if (!this.signedIn && !(await this.signInWithRetry(started))) {
      recordSkipped("purchase", "not-signed-in");
      return;
    }
    if (late()) return;
    await this.exclusive(() => this.purchase());
  }

  /** Long mode: echo every echoIntervalMs without an exchange, until stop(). */
  startHeartbeat(): void {
    if (this.settings.mode !== "long" || this.heartbeat !== undefined || this.stopped) return;
    this.scheduleHeartbeat(this.settings.echoIntervalMs);
  }

  /** Ends the terminal: no more heartbeats; once an operation in flight has its outcome, the link is closed. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.heartbeat !== undefined) clearTimeout(this.heartbeat);
    this.heartbeat = undefined;
    await this.queue;
    this.link?.destroy();
    this.link = undefined;
  }

  private scheduleHeartbeat(ms: number): void {
    if (this.stopped) return;
    this.heartbeat = setTimeout(
      () => {
        this.heartbeat = undefined;
        this.onHeartbeat();
      },
      Math.max(1, ms),
    );
  }

  private onHeartbeat(): void {
    if (this.stopped) return;
    const interval = this.settings.echoIntervalMs;
    const now = Date.now();
    if (now >= this.ctx.deadline) return;
    const due = (this.link?.lastActivity ?? 0) + interval;
    if (this.busy || now < due) {
      this.scheduleHeartbeat(this.busy ? interval : due - now);
      return;
    }
    this.exclusive(() => this.echo()).then(
      () => this.scheduleHeartbeat(interval),
      (error: unknown) => {
        // Not an outcome: a bug in the model. Say so once and keep the heartbeat going.
        logOnce(
          this.tid,
          "echo",
          "protocol",
          `echo failed inside the terminal model: ${errorMessage(error)}`,
        );
        this.scheduleHeartbeat(interval);
      },
    );
  }

  /** Runs operations of this terminal one after another. */
  private exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      this.busy = true;
      try {
        return await operation();
      } finally {
        this.busy = false;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private nextStan(): string {
    this.stan = (this.stan % 999_999) + 1;
    return String(this.stan).padStart(6, "0");
  }

  private setSignedIn(value: boolean): void {
    if (value === this.signedIn) return;
    this.signedIn = value;
    if (!value) this.mac = undefined;
    recordSession(value ? "signed-in" : "signed-out");
  }

  private finish(
    op: Operation,
    outcome: Outcome,
    startedAt: number,
    code?: string,
    detail?: string,
  ): Outcome {
    recordOutcome(op, outcome, startedAt, code);
    if (detail !== undefined) logOnce(this.tid, op, outcome, detail);
    return outcome;
  }

  /** Sends one frame and reads one reply on the mode's link; decode failures become `protocol`. */
  private async exchange(
    op: Operation,
    request: IsoMessage,
    frame: Uint8Array,
    startedAt: number,
  ): Promise<Reply> {
    const s = this.settings;
    const isEcho = op === "echo";
    const waitMs = isEcho ? s.idleTimeoutMs : s.responseTimeoutMs;
    const timeoutOutcome = isEcho ? "timeout.idle" : "timeout.response";
    let result: LinkReply | LinkFailure;
    if (s.mode === "short") {
      const link = new Link(this.ctx.plan.target);
      try {
        result =
          (await link.connect(s.connectTimeoutMs)) ?? (await link.exchange(frame, waitMs, timeoutOutcome));
      } finally {
        link.destroy();
      }
    } else {
      this.link ??= new Link(this.ctx.plan.target);
      const link = this.link;
      const failed = link.open ? undefined : await link.connect(s.connectTimeoutMs);
      result = failed ?? (await link.exchange(frame, waitMs, timeoutOutcome));
      if (!result.ok || this.stopped) link.destroy();
    }
    if (!result.ok) {
      this.finish(op, result.outcome, startedAt, undefined, result.detail);
      return { ok: false, outcome: result.outcome, written: result.written };
    }
    let decoded: Frame;
    try {
      decoded = decodeFrame(result.body, { lengthPrefix: false });
    } catch (error) {
      this.link?.destroy();
      this.finish(op, "protocol", startedAt, undefined, `reply does not decode: ${errorMessage(error)}`);
      return { ok: false, outcome: "protocol", written: true };
    }
    const match = matchReply(request, decoded.message);
    if (!match.ok) {
      this.link?.destroy();
      const detail = `reply ${match.check} is ${match.actual}, expected ${match.expected}`;
      this.finish(op, "protocol", startedAt, undefined, detail);
      return { ok: false, outcome: "protocol", written: true };
    }
    return { ok: true, frame: decoded, body: result.body };
  }

  /** Whether a MAC'd reply passes: F64 present and right, or absent on anything but an approval. */
  private macOk(reply: { frame: Frame; body: Uint8Array }, code: string): boolean {
    if (reply.frame.message.fields[64] === undefined) return code !== "00";
    return this.mac !== undefined && verifyFrameMac(reply.body, this.mac, { lengthPrefix: false });
  }

  /** Applies what a reply asks of the session: 99/A0, or the header's processing requirement 3. */
  private followReply(frame: Frame, code: string | undefined): void {
    if ((code !== undefined && SIGN_IN_AGAIN.has(code)) || asksSignIn(frame.header)) this.setSignedIn(false);
  }

  private async signIn(): Promise<Outcome> {
    const startedAt = Date.now();
    const s = this.settings;
    const request = buildMessage(signInRequest, {
      stan: this.nextStan(),
      terminalId: this.tid,
      merchantId: s.merchantId,
      batchNumber: this.batch,
      networkManagementCode: s.keyLayout,
    });
    const reply = await this.exchange(
      "signin",
      request,
      encodeFrame({ tpdu: TPDU, header: HEADER, message: request }),
      startedAt,
    );
    if (!reply.ok) return reply.outcome;
    let values: SignInResponse;
    try {
      values = readMessage(signInResponse, reply.frame.message);
    } catch (error) {
      return this.finish("signin", "protocol", startedAt, undefined, errorMessage(error));
    }
    const code = values.responseCode;
    if (code !== "00") {
      this.setSignedIn(false);
      return this.finish("signin", "declined", startedAt, code, `response code ${code}`);
    }
    if (!(values.workingKeys instanceof Uint8Array)) {
      return this.finish(
        "signin",
        "protocol",
        startedAt,
        undefined,
        "approved 0810 without working keys (F62)",
      );
    }
    try {
      const keys = unwrapWorkingKeys(values.workingKeys, this.tmk, s.keyLayout);
      this.mac = macKey(keys.mak, s.macAlgorithm);
    } catch (error) {
      this.setSignedIn(false);
      return this.finish("signin", "protocol", startedAt, undefined, errorMessage(error));
    }
    this.batch = values.batchNumber;
    this.setSignedIn(true);
    if (this.settings.mode === "long") this.startHeartbeat();
    return this.finish("signin", "approved", startedAt, code);
  }

  private async purchase(): Promise<Outcome | undefined> {
    const startedAt = Date.now();
    const s = this.settings;
    const mac = this.mac;
    if (mac === undefined) return undefined; // the session went meanwhile (an echo reply asked to sign in)
    const pan = pickCard(s.cards, this.ctx.random);
    const input: PurchaseInput = {
      pan,
      amount: drawAmount(s.amountMinor, this.ctx.random),
      stan: this.nextStan(),
      expiryDate: EXPIRY,
      posEntryMode: "021",
      track2: `${pan}=${EXPIRY}101`,
      terminalId: this.tid,
      merchantId: s.merchantId,
      batchNumber: this.batch,
    };
    const request = buildMessage(purchaseRequest, input);
    const reply = await this.exchange(
      "purchase",
      request,
      encodeFrame({ tpdu: TPDU, header: HEADER, message: request }, { mac }),
      startedAt,
    );
    if (!reply.ok) {
      // Written and unanswered: the switch may have approved it. Reverse before the next transaction.
      if (reply.written) {
        this.owe(request, reply.outcome === "timeout.response" ? reversalReasons.responseTimeout : "06");
      }
      return reply.outcome;
    }
    let values: PurchaseResponse;
    try {
      values = readMessage(purchaseResponse, reply.frame.message);
    } catch (error) {
      this.owe(request, reversalReasons.other);
      return this.finish("purchase", "protocol", startedAt, undefined, errorMessage(error));
    }
    const code = values.responseCode;
    if (!this.macOk(reply, code)) {
      this.owe(request, reversalReasons.replyMacFailed, values.authorizationCode);
      this.setSignedIn(false);
      return this.finish(
        "purchase",
        "mac",
        startedAt,
        undefined,
        `reply MAC (F64) does not verify, F39 ${code}`,
      );
    }
    this.followReply(reply.frame, code);
    if (code === "00") return this.finish("purchase", "approved", startedAt, code);
    // Declined here, yet the issuer may have approved it (a switch that answers 98 and never reverses):
    // reconciliation needs every purchase the terminal did not see approved, not only those it reverses.
    unsettled(input, `declined:${code}`);
    return this.finish("purchase", "declined", startedAt, code, `response code ${code}`);
  }

  private owe(request: IsoMessage, reason: ReversalReason, authorizationCode?: string): void {
    const original = readMessage(purchaseRequest, request);
    this.pending = { input: reversalFor(original, reason, authorizationCode), attempts: 0 };
    recordReversal("queued");
    unsettled(original, reason);
  }

  /** One attempt to deliver the pending reversal; settled on 00, 12 or 25, abandoned after its last attempt. */
  private async reversal(): Promise<Outcome | undefined> {
    const pending = this.pending;
    const mac = this.mac;
    if (pending === undefined || mac === undefined) return undefined;
    const startedAt = Date.now();
    pending.attempts++;
    if (pending.attempts > 1) recordRetry("reversal");
    const request = buildMessage(reversalRequest, pending.input);
    const reply = await this.exchange(
      "reversal",
      request,
      encodeFrame({ tpdu: TPDU, header: HEADER, message: request }, { mac }),
      startedAt,
    );
    const { outcome, settled } = reply.ok
      ? this.readReversalReply(reply, startedAt)
      : { outcome: reply.outcome, settled: false };
    if (settled) {
      this.pending = undefined;
      recordReversal("settled");
    } else if (pending.attempts >= this.settings.reversalAttempts) {
      this.pending = undefined;
      recordReversal("abandoned");
      logOnce(this.tid, "reversal", outcome, `abandoned after ${pending.attempts} attempts`);
    }
    return outcome;
  }

  private readReversalReply(
    reply: { frame: Frame; body: Uint8Array },
    startedAt: number,
  ): { outcome: Outcome; settled: boolean } {
    let code: string;
    try {
      code = readMessage(reversalResponse, reply.frame.message).responseCode;
    } catch (error) {
      return {
        outcome: this.finish("reversal", "protocol", startedAt, undefined, errorMessage(error)),
        settled: false,
      };
    }
    if (!this.macOk(reply, code)) {
      this.setSignedIn(false);
      const detail = `reply MAC (F64) does not verify, F39 ${code}`;
      return { outcome: this.finish("reversal", "mac", startedAt, undefined, detail), settled: false };
    }
    this.followReply(reply.frame, code);
    const outcome =
      code === "00"
        ? this.finish("reversal", "approved", startedAt, code)
        : this.finish("reversal", "declined", startedAt, code, `response code ${code}`);
    return { outcome, settled: REVERSAL_SETTLED.has(code) };
  }

  private async echo(): Promise<Outcome> {
    const startedAt = Date.now();
    const request = buildMessage(networkRequest, {
      stan: this.nextStan(),
      terminalId: this.tid,
      merchantId: this.settings.merchantId,
      batchNumber: this.batch,
    });
    const reply = await this.exchange(
      "echo",
      request,
      encodeFrame({ tpdu: TPDU, header: HEADER, message: request }),
      startedAt,
    );
    if (!reply.ok) return reply.outcome;
    let code: string;
    try {
      code = readMessage(networkResponse, reply.frame.message).responseCode;
    } catch (error) {
      return this.finish("echo", "protocol", startedAt, undefined, errorMessage(error));
    }
    this.followReply(reply.frame, code);
    if (code === "00") return this.finish("echo", "approved", startedAt, code);
    return this.finish("echo", "declined", startedAt, code, `response code ${code}`);
  }
}
