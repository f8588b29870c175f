import {
  asksSignIn,
  buildMessage,
  decodeFrame,
  describeEnvelope,
  encodeFrame,
  envelopeThatDecodes,
  type Frame,
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
  purchaseResponseWithoutField60,
  type ReversalInput,
  type ReversalReason,
  readMessage,
  reversalFor,
  reversalReasons,
  reversalRequest,
  reversalResponse,
  SIGN_IN_AGAIN_CODES,
  type SignInResponse,
  signInRequest,
  signInResponse,
  TERMINAL_HEADER,
  TERMINAL_TPDU,
  type Tpdu,
  unwrapWorkingKeys,
  verifyFrameMac,
} from "../protocol/index.ts";
import { nowMs } from "./clock.ts";
import { type FleetContext, logOnce } from "./context.ts";
import { Link, type LinkFailure, type LinkReply } from "./link.ts";
import { errorMessage } from "./outcome.ts";
import type { Operation, Outcome, TerminalSettings } from "./plan.ts";
import { drawAmount, pickCard, retryDelayMs } from "./schedule.ts";

// One POS terminal (DESIGN.md, "Terminal model") on node:net:
// TID, MID, TMK derived from the lab key (when it signs in); a session (batch, MAK) from its sign-in; at most
// one pending reversal; a short (connect per exchange) or long (persistent, 0820/301 heartbeat) link. Every
// operation ends in exactly one outcome, given to the segment's Recorder.
//
// Operations run one at a time per terminal (`exclusive`); the long link's heartbeat only fires while the
// terminal is idle. No operation starts at or after the deadline (but see `started`); one in flight finishes
// on its own timers. Latency is measured from the operation's intended start (`intend`), lag recorded.
//
// Memory: a terminal holds no closures and no buffers while idle; its link exists while connected (long) or
// during an exchange (short).

/**
 * How a segment's terminals frame their messages, from the plan's dialect settings: the envelope, the TPDU
 * (terminal 0000 → switch `tpduDestination`) and the header (`headerVersion`).
 */
export function framingOf(
  t: Pick<TerminalSettings, "tpdu" | "header" | "tpduDestination" | "headerVersion">,
) {
  return {
    lengthPrefix: false as const,
    envelope: { tpdu: t.tpdu ?? true, header: t.header ?? true },
    tpdu: { ...TERMINAL_TPDU, destination: t.tpduDestination ?? TERMINAL_TPDU.destination } satisfies Tpdu,
    header: { ...TERMINAL_HEADER, version: t.headerVersion ?? TERMINAL_HEADER.version } satisfies Header,
  };
}

export type Framing = ReturnType<typeof framingOf>;

/** A reply whose TPDU or header is of another dialect: the difference, named; undefined when none. */
function dialectMismatch(reply: Frame, framing: Framing): string | undefined {
  if (reply.tpdu && reply.tpdu.source !== framing.tpdu.destination)
    return `reply TPDU source ${reply.tpdu.source}, expected ${framing.tpdu.destination} (terminal.tpduDestination)`;
  if (reply.header && reply.header.version !== framing.header.version)
    return `reply header version ${reply.header.version}, expected ${framing.header.version} (terminal.headerVersion)`;
  return undefined;
}
const EXPIRY = "3012";
/** 60.4 and 60.5 of a 5-part F60 (`terminal.field60Parts: 5`): reads IC cards (`5`), normal condition (`0`). */
const IC_FIELD60 = { terminalReadCapability: "5", iccConditionCode: "0" } as const;
const CARD_ORGANIZATION = /^[A-Z]{3}/;
/** F39 "duplicate transmission", "invalid transaction", "MAC verification failed". */
const DUPLICATE = "94";
const INVALID = "12";
const MAC_FAILED = "A0";

/** A reply whose F60 has other parts than the request's (`terminal.field60Parts`): the difference, named. */
function field60Mismatch(sent: unknown, received: unknown): string | undefined {
  if (typeof sent !== "string" || typeof received !== "string") return undefined;
  const parts = (f60: string) => (f60.length > 11 ? "60.1-60.5" : "60.1-60.3");
  if (parts(sent) === parts(received)) return undefined;
  return `reply F60 carries ${parts(received)} (${received}), expected ${parts(sent)} as sent (terminal.field60Parts)`;
}
/** Replies to an 0400 after which nothing is owed: done, original declined, original never seen. */
const REVERSAL_SETTLED = new Set(["00", "12", "25"]);
/** Response codes that mean the switch lost the terminal's keys: sign in again. */
const SIGN_IN_AGAIN = new Set(SIGN_IN_AGAIN_CODES);
const IDLE: Promise<unknown> = Promise.resolve();

interface PendingReversal {
  input: ReversalInput;
  attempts: number;
}

/** The parsed reply of an exchange, or the outcome that ends the operation. */
type Reply = { ok: true; frame: Frame; body: Uint8Array } | { ok: false; outcome: Outcome; written: boolean };

export class Terminal {
  readonly tid: string;
  private readonly ctx: FleetContext;
  private mac: MacKey | undefined = undefined;
  private batch = "000001";
  private stan: number;
  private signedIn = false;
  private pending: PendingReversal | undefined = undefined;
  /** Long mode: the persistent link (opened on demand, reopened after a failure); short: the exchange's. */
  private link: Link | undefined = undefined;
  private queue: Promise<unknown> = IDLE;
  private busy = false;
  private heartbeat: NodeJS.Timeout | undefined = undefined;
  private stopped = false;
  /** Intended start of the next operation (NaN: none, it starts when it starts). */
  private intendedMs = Number.NaN;
  /** Lag of the operation in progress: actual start − intended start. */
  private lagMs = 0;

  /** The header this terminal sends: the segment's, or with its own software version (terminal.software). */
  private readonly header: Header;

  constructor(tid: string, ctx: FleetContext, softwareVersion?: string) {
    this.tid = tid;
    this.ctx = ctx;
    const shared = ctx.framing.header;
    this.header =
      softwareVersion === undefined || softwareVersion === shared.softwareVersion
        ? shared
        : { ...shared, softwareVersion };
    // A random first STAN: runs against the same lab must not repeat TID + STAN + batch (the issuer says 94).
    this.stan = 1 + Math.floor(ctx.random() * 999_999);
  }

  /** How the segment's terminals frame messages (its dialect's envelope), shared by all of them. */
  private get framing() {
    return this.ctx.framing;
  }

  get isSignedIn(): boolean {
    return this.signedIn;
  }

  get hasPendingReversal(): boolean {
    return this.pending !== undefined;
  }

  private get settings(): TerminalSettings {
    return this.ctx.plan.terminal;
  }

  /** The next operation was meant to start at `intendedMs` (engine clock): its latency counts from there. */
  intend(intendedMs: number): void {
    this.intendedMs = intendedMs;
  }

  /**
   * Sign-in with the plan's retry policy; true once signed in. No retry starts at or after the deadline; the
   * first attempt does not either, unless `started` (an open-model arrival scheduled before it).
   */
  async signInWithRetry(started = false): Promise<boolean> {
    const policy = this.settings.retry;
    for (let attempt = 1; ; attempt++) {
      if (this.ctx.aborted || (!(started && attempt === 1) && nowMs() >= this.ctx.deadlineMs)) return false;
      if ((await this.exclusive(() => this.signIn())) === "approved") return true;
      const delay = retryDelayMs(policy, attempt, this.ctx.random);
      if (delay === undefined || nowMs() + delay >= this.ctx.deadlineMs || this.ctx.aborted) return false;
      this.ctx.recorder.recordRetry(this.tid, "signin");
      if (delay > 0) await this.ctx.sleep(delay);
    }
  }

  /**
   * A purchase as a terminal makes it: first one attempt at the pending reversal (if any), then a sign-in
   * when there is no session, then the 0200. While a reversal is still owed after its attempt the sale is not
   * started (skipped, reason reversal-pending): the next transaction tries again, so the attempts are spread
   * over the terminal's own pace. Skipped too when no session can be had. Nothing starts at or after the
   * deadline unless `started`: an open-model arrival completes its chain (sign-in retries still stop there).
   */
  async transaction(started = false): Promise<void> {
    const late = () => this.ctx.aborted || (!started && nowMs() >= this.ctx.deadlineMs);
    const recorder = this.ctx.recorder;
    if (this.pending !== undefined) {
      if (late()) return;
      if (!this.signedIn && !(await this.signInWithRetry(started))) {
        if (!this.ctx.aborted) recorder.recordSkipped(this.tid, "purchase", "not-signed-in");
        return;
      }
      if (late()) return;
      await this.exclusive(() => this.reversal());
      if (this.pending !== undefined) {
        recorder.recordSkipped(this.tid, "purchase", "reversal-pending");
        return;
      }
    }
    if (!this.signedIn && !(await this.signInWithRetry(started))) {
      if (!this.ctx.aborted) recorder.recordSkipped(this.tid, "purchase", "not-signed-in");
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

  /** Abort: no more heartbeats, the link (and an exchange in flight on it) destroyed at once. */
  abort(): void {
    this.stopped = true;
    if (this.heartbeat !== undefined) clearTimeout(this.heartbeat);
    this.heartbeat = undefined;
    this.link?.destroy();
    this.link = undefined;
  }

  private scheduleHeartbeat(ms: number): void {
    if (this.stopped) return;
    this.heartbeat = setTimeout(onHeartbeat, Math.max(1, ms), this);
  }

  /** The heartbeat timer fired (a shared function, not a closure per terminal). */
  heartbeatDue(): void {
    this.heartbeat = undefined;
    if (this.stopped) return;
    const interval = this.settings.echoIntervalMs;
    const now = nowMs();
    if (now >= this.ctx.deadlineMs || this.ctx.aborted) return;
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
          this.ctx,
          this.tid,
          "echo",
          "protocol",
          `echo failed inside the model: ${errorMessage(error)}`,
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
    this.queue = run.then(settled, settled);
    return run;
  }

  /** Starts an operation: its intended start (consumed), and its lag kept for finish(). */
  private begin(): number {
    const now = nowMs();
    const intended = this.intendedMs;
    this.intendedMs = Number.NaN;
    if (!(intended <= now)) {
      this.lagMs = 0;
      return now;
    }
    this.lagMs = now - intended;
    return intended;
  }

  private nextStan(): string {
    this.stan = (this.stan % 999_999) + 1;
    return String(this.stan).padStart(6, "0");
  }

  private setSignedIn(value: boolean): void {
    if (value === this.signedIn) return;
    this.signedIn = value;
    if (!value) this.mac = undefined;
    this.ctx.recorder.recordSession(this.tid, value ? "signed-in" : "signed-out");
  }

  private finish(
    op: Operation,
    outcome: Outcome,
    startedAt: number,
    code?: string,
    detail?: string,
  ): Outcome {
    this.ctx.recorder.recordOutcome(this.tid, op, outcome, startedAt, this.lagMs, code);
    if (detail !== undefined) logOnce(this.ctx, this.tid, op, outcome, detail);
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
      const link = new Link(this.ctx.plan.target, this.ctx.sockets);
      this.link = link;
      try {
        result =
          (await link.connect(s.connectTimeoutMs)) ?? (await link.exchange(frame, waitMs, timeoutOutcome));
      } finally {
        link.destroy();
        if (this.link === link) this.link = undefined;
      }
    } else {
      this.link ??= new Link(this.ctx.plan.target, this.ctx.sockets);
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
      decoded = decodeFrame(result.body, this.framing);
    } catch (error) {
      this.link?.destroy();
      // A reply in another dialect says so by name (the TPDU or the header), not by a field it misreads.
      const other = envelopeThatDecodes(result.body, this.framing.envelope, { lengthPrefix: false });
      const detail = other
        ? `reply framing: ${describeEnvelope(other)}, expected ${describeEnvelope(this.framing.envelope)} (terminal.tpdu / terminal.header)`
        : `reply does not decode: ${errorMessage(error)}`;
      this.finish(op, "protocol", startedAt, undefined, detail);
      return { ok: false, outcome: "protocol", written: true };
    }
    const dialect = dialectMismatch(decoded, this.framing);
    if (dialect) {
      this.link?.destroy();
      this.finish(op, "protocol", startedAt, undefined, dialect);
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
    return this.mac !== undefined && verifyFrameMac(reply.body, this.mac, this.framing);
  }

  /** Applies what a reply asks of the session: 99/A0, or the header's processing requirement 3. */
  private followReply(frame: Frame, code: string | undefined): void {
    if ((code !== undefined && SIGN_IN_AGAIN.has(code)) || asksSignIn(frame.header)) this.setSignedIn(false);
  }

  private async signIn(): Promise<Outcome> {
    const startedAt = this.begin();
    const s = this.settings;
    const request = buildMessage(signInRequest, {
      stan: this.nextStan(),
      terminalId: this.tid,
      merchantId: s.merchantId,
      batchNumber: this.batch,
      networkManagementCode: s.keyLayout,
    });
    const frame = encodeFrame(
      { tpdu: this.framing.tpdu, header: this.header, message: request },
      { envelope: this.framing.envelope },
    );
    const reply = await this.exchange("signin", request, frame, startedAt);
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
      const detail =
        code === INVALID
          ? `response code 12 (invalid transaction) to 60.3 ${s.keyLayout}: the switch serves other key layouts (terminal.keyLayout)`
          : `response code ${code}`;
      return this.finish("signin", "declined", startedAt, code, detail);
    }
    if (!(values.workingKeys instanceof Uint8Array)) {
      const detail = "approved 0810 without working keys (F62)";
      return this.finish("signin", "protocol", startedAt, undefined, detail);
    }
    try {
      const keys = unwrapWorkingKeys(values.workingKeys, this.ctx.tmkOf(this.tid), s.keyLayout);
      this.mac = macKey(keys.mak, s.macAlgorithm);
    } catch (error) {
      this.setSignedIn(false);
      return this.finish("signin", "protocol", startedAt, undefined, errorMessage(error));
    }
    if (s.adoptBatch !== false) this.batch = values.batchNumber;
    if (s.stanAtSignIn === "restart") this.stan = 0;
    this.setSignedIn(true);
    if (s.mode === "long") this.startHeartbeat();
    return this.finish("signin", "approved", startedAt, code);
  }

  private async purchase(): Promise<Outcome | undefined> {
    const mac = this.mac;
    if (mac === undefined) {
      this.intendedMs = Number.NaN; // the session went meanwhile (an echo reply asked to sign in)
      return undefined;
    }
    const startedAt = this.begin();
    const s = this.settings;
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
      ...(s.field60Parts === 5 ? IC_FIELD60 : {}),
    };
    const request = buildMessage(purchaseRequest, input);
    const frame = encodeFrame(
      { tpdu: this.framing.tpdu, header: this.header, message: request },
      { mac, envelope: this.framing.envelope },
    );
    const loss = this.ctx.conditions.powerLoss;
    if (loss !== undefined && this.ctx.random() < loss.fraction) {
      return this.losePower(request, frame, startedAt, loss.offMs);
    }
    const reply = await this.exchange("purchase", request, frame, startedAt);
    if (!reply.ok) {
      // Written and unanswered: the switch may have approved it. Reverse before the next transaction.
      if (reply.written) {
        this.owe(request, reply.outcome === "timeout.response" ? reversalReasons.responseTimeout : "06");
      }
      return reply.outcome;
    }
    let values: PurchaseResponse;
    try {
      values = readMessage(
        s.replyField60 === false ? purchaseResponseWithoutField60 : purchaseResponse,
        reply.frame.message,
      );
    } catch (error) {
      this.owe(request, reversalReasons.other);
      return this.finish("purchase", "protocol", startedAt, undefined, errorMessage(error));
    }
    // The batch is the session's: a reply that names another one is of a dialect that handles batches apart.
    if (values.batchNumber !== undefined && values.batchNumber !== this.batch) {
      this.owe(request, reversalReasons.other);
      const detail = `reply 60.2 (batch) is ${values.batchNumber}, expected ${this.batch} (terminal.adoptBatch)`;
      return this.finish("purchase", "protocol", startedAt, undefined, detail);
    }
    const layout = field60Mismatch(request.fields[60], reply.frame.message.fields[60]);
    if (layout !== undefined) {
      this.owe(request, reversalReasons.other);
      return this.finish("purchase", "protocol", startedAt, undefined, layout);
    }
    const code = values.responseCode;
    if (!this.macOk(reply, code)) {
      this.owe(request, reversalReasons.replyMacFailed, values.authorizationCode);
      this.setSignedIn(false);
      const detail = `reply MAC (F64) does not verify, F39 ${code}`;
      return this.finish("purchase", "mac", startedAt, undefined, detail);
    }
    this.followReply(reply.frame, code);
    if (code === "00" && s.replyField63 && !CARD_ORGANIZATION.test(values.cardOrganization ?? "")) {
      this.owe(request, reversalReasons.other, values.authorizationCode);
      const found =
        values.cardOrganization === undefined ? "missing" : JSON.stringify(values.cardOrganization);
      const detail = `reply F63 (63.1 card organisation) is ${found} in an approved 0210, expected 3 capital letters (terminal.replyField63)`;
      return this.finish("purchase", "protocol", startedAt, undefined, detail);
    }
    if (code === DUPLICATE) {
      // This terminal sends each 0200 once, with a STAN it has not used in the batch by its own numbering: a
      // "duplicate" means the switch numbers STANs across sign-ins otherwise. Nothing was processed, nothing owed.
      const detail = `reply F39 94 (duplicate) to F11 ${input.stan}, new by this terminal's numbering: the switch keeps STANs of batch ${this.batch} across sign-ins (terminal.stanAtSignIn ${s.stanAtSignIn})`;
      return this.finish("purchase", "protocol", startedAt, undefined, detail);
    }
    if (code === "00") return this.finish("purchase", "approved", startedAt, code);
    // Declined here, yet the issuer may have approved it (a switch that answers 98 and never reverses):
    // reconciliation needs every purchase the terminal did not see approved, not only those it reverses.
    this.unsettled(input, `declined:${code}`);
    const detail =
      code === MAC_FAILED
        ? `response code A0: the switch could not verify F64 (terminal.macAlgorithm ${s.macAlgorithm}, or working keys out of step)`
        : `response code ${code}`;
    return this.finish("purchase", "declined", startedAt, code, detail);
  }

  /**
   * A power loss right after the 0200 is written: no reply is read, the link dies with the terminal (its
   * socket closes), and the terminal stays off `offMs`. It keeps its session and the purchase's reversal, as
   * a terminal keeps them in non-volatile memory, and sends the reversal before its next transaction. The
   * purchase has no outcome (skipped, power-lost); a connect that fails first is the purchase's outcome.
   */
  private async losePower(
    request: IsoMessage,
    frame: Uint8Array,
    startedAt: number,
    offMs: number,
  ): Promise<Outcome | undefined> {
    const s = this.settings;
    const link = this.link ?? new Link(this.ctx.plan.target, this.ctx.sockets);
    this.link = link;
    const failed = link.open ? undefined : await link.connect(s.connectTimeoutMs);
    const written = failed === undefined && (await link.send(frame));
    link.destroy();
    if (this.link === link) this.link = undefined;
    if (failed !== undefined)
      return this.finish("purchase", failed.outcome, startedAt, undefined, failed.detail);
    if (written) this.owe(request, reversalReasons.other);
    this.ctx.recorder.recordSkipped(this.tid, "purchase", "power-lost");
    await this.ctx.sleep(offMs);
    return undefined;
  }

  /** A purchase the terminal did not see approved, by its identity at the issuer. */
  private unsettled(original: PurchaseInput, reason: string): void {
    const { terminalId: tid, stan, batchNumber: batch } = original;
    this.ctx.recorder.recordUnsettled({ tid, stan, batch, reason });
  }

  private owe(request: IsoMessage, reason: ReversalReason, authorizationCode?: string): void {
    const original = readMessage(purchaseRequest, request);
    this.pending = { input: reversalFor(original, reason, authorizationCode), attempts: 0 };
    this.ctx.recorder.recordReversal(this.tid, "queued");
    this.unsettled(original, reason);
  }

  /** One attempt to deliver the pending reversal; settled on 00, 12 or 25, abandoned after its last attempt. */
  private async reversal(): Promise<Outcome | undefined> {
    const pending = this.pending;
    const mac = this.mac;
    if (pending === undefined || mac === undefined) {
      this.intendedMs = Number.NaN;
      return undefined;
    }
    const startedAt = this.begin();
    pending.attempts++;
    if (pending.attempts > 1) this.ctx.recorder.recordRetry(this.tid, "reversal");
    const request = buildMessage(reversalRequest, pending.input);
    const frame = encodeFrame(
      { tpdu: this.framing.tpdu, header: this.header, message: request },
      { mac, envelope: this.framing.envelope },
    );
    const reply = await this.exchange("reversal", request, frame, startedAt);
    const { outcome, settled } = reply.ok
      ? this.readReversalReply(reply, startedAt)
      : { outcome: reply.outcome, settled: false };
    if (settled) {
      this.pending = undefined;
      this.ctx.recorder.recordReversal(this.tid, "settled");
    } else if (pending.attempts >= this.settings.reversalAttempts) {
      this.pending = undefined;
      this.ctx.recorder.recordReversal(this.tid, "abandoned");
      logOnce(this.ctx, this.tid, "reversal", outcome, `abandoned after ${pending.attempts} attempts`);
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
      const outcome = this.finish("reversal", "protocol", startedAt, undefined, errorMessage(error));
      return { outcome, settled: false };
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
    const startedAt = this.begin();
    const request = buildMessage(networkRequest, {
      stan: this.nextStan(),
      terminalId: this.tid,
      merchantId: this.settings.merchantId,
      batchNumber: this.batch,
    });
    const frame = encodeFrame(
      { tpdu: this.framing.tpdu, header: this.header, message: request },
      { envelope: this.framing.envelope },
    );
    const reply = await this.exchange("echo", request, frame, startedAt);
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

function settled(): void {}

function onHeartbeat(terminal: Terminal): void {
  terminal.heartbeatDue();
}
