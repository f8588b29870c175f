import {
  encodeFrame,
  type Frame,
  type MacKey,
  splitField60,
  TERMINAL_HEADER,
  TERMINAL_TPDU,
  verifyFrameMac,
} from "../../protocol/index.ts";
import type { Job } from "./admission.ts";
import { SWITCH_CODES as CODE } from "./codes.ts";
import type { Connection, Session } from "./connection.ts";
import type { Waiter } from "./issuers.ts";
import type { PersistentLink } from "./link.ts";
import { cardNumber, forwardedReply, reversalFields, switchReply } from "./replies.ts";
import { assignsBatch, withBatch } from "./signin.ts";
import type { Switch } from "./switch.ts";

// Purchases (0200) and reversals (0400): authorized by session and MAC, routed by BIN, sent upstream on an
// issuer link under admission, answered from the issuer's reply or, without one in time, 98 with a
// store-and-forward reversal owed to the issuer.

const NO_PREFIX = { lengthPrefix: false } as const;
/** Routes of recent purchases, so that a reversal without F2 still reaches the right issuer. */
const MAX_RECENT_ROUTES = 100_000;

/** A purchase (kind 2) or a reversal (kind 4) on its way to an issuer. */
export class Transaction implements Job, Waiter {
  cancelled = false;
  queued = false;
  link: PersistentLink | undefined = undefined;
  timer: NodeJS.Timeout | undefined = undefined;
  done = false;
  readonly sw: Switch;
  readonly conn: Connection;
  readonly request: Frame;
  readonly mak: MacKey;
  readonly issuer: string;
  readonly kind: "2" | "4";
  readonly key: string;
  readonly txKey: string;
  readonly t0: number;

  constructor(
    sw: Switch,
    conn: Connection,
    request: Frame,
    mak: MacKey,
    issuer: string,
    kind: "2" | "4",
    txKey: string,
    t0: number,
  ) {
    this.sw = sw;
    this.conn = conn;
    this.request = request;
    this.mak = mak;
    this.issuer = issuer;
    this.kind = kind;
    this.txKey = txKey;
    this.key = kind + txKey;
    this.t0 = t0;
  }

  run(): void {
    dispatch(this.sw, this);
  }

  replied(reply: Frame): void {
    issuerReplied(this.sw, this, reply);
  }

  lost(): void {
    issuerLost(this.sw, this);
  }
}

function expireTransaction(tx: Transaction): void {
  expired(tx.sw, tx);
}

/** The checks before a financial message goes upstream; the session when they pass. */
function authorize(
  sw: Switch,
  conn: Connection,
  request: Frame,
  body: Uint8Array,
  t0: number,
): Session | undefined {
  const fields = request.message.fields;
  const tid = fields[41];
  if (
    typeof tid !== "string" ||
    typeof fields[11] !== "string" ||
    fields[3] === undefined ||
    fields[4] === undefined
  ) {
    sw.formatError(conn, request, t0);
    return undefined;
  }
  if (!sw.compiled.fleet.has(tid)) {
    sw.decline(conn, request, CODE.unknownTerminal, t0);
    return undefined;
  }
  const session = sw.sessions.get(tid);
  if (!session) {
    sw.decline(conn, request, CODE.signInAgain, t0, undefined, true);
    return undefined;
  }
  // The MAC covers the message from its MTI: where that starts depends on the envelope the request came in.
  const envelope = { tpdu: request.tpdu !== undefined, header: request.header !== undefined };
  if (!verifyFrameMac(body, session.mak, { ...NO_PREFIX, envelope })) {
    sw.decline(conn, request, CODE.macFailed, t0, undefined, true);
    return undefined;
  }
  // A switch that assigns the batch at sign-in refuses a purchase in another one, and says which in 60.2. A
  // reversal carries its original's batch, which may be a session earlier.
  const batch = splitField60(request.message.fields[60] as string).batchNumber;
  if (request.message.mti === "0200" && assignsBatch(sw) && batch !== session.batch) {
    const fields = switchReply("0210", request.message.fields, CODE.batchMismatch, sw.config.acquirerId);
    fields[60] = withBatch(fields[60] as string, session.batch);
    sw.reply(conn, request, fields, CODE.batchMismatch, t0, session.mak);
    return undefined;
  }
  return session;
}

export function route(sw: Switch, pan: string | undefined): string | undefined {
  if (pan === undefined) return undefined;
  for (const r of sw.compiled.routes) if (pan.startsWith(r.prefix)) return r.issuer;
  return undefined;
}

export function purchase(sw: Switch, conn: Connection, request: Frame, body: Uint8Array, t0: number): void {
  const session = authorize(sw, conn, request, body, t0);
  if (!session) return;
  const fields = request.message.fields;
  const txKey = (fields[41] as string) + (fields[11] as string);
  if (sw.active.has(`2${txKey}`)) {
    sw.decline(conn, request, CODE.duplicate, t0, session.mak);
    return;
  }
  const issuer = route(sw, cardNumber(fields));
  if (issuer === undefined) {
    sw.decline(conn, request, CODE.noRoute, t0, session.mak);
    return;
  }
  if (!sw.issuers.isUp(issuer)) {
    sw.decline(conn, request, CODE.issuerDown, t0, session.mak);
    return;
  }
  if (sw.recentRoutes.size >= MAX_RECENT_ROUTES) {
    sw.recentRoutes.delete(sw.recentRoutes.keys().next().value!);
  }
  sw.recentRoutes.set(txKey, issuer);
  start(sw, new Transaction(sw, conn, request, session.mak, issuer, "2", txKey, t0), false);
}

export function reversal(sw: Switch, conn: Connection, request: Frame, body: Uint8Array, t0: number): void {
  const session = authorize(sw, conn, request, body, t0);
  if (!session) return;
  const fields = request.message.fields;
  const txKey = (fields[41] as string) + (fields[11] as string);
  if (sw.active.has(`4${txKey}`)) {
    sw.decline(conn, request, CODE.duplicate, t0, session.mak);
    return;
  }
  const pan = cardNumber(fields);
  const issuer = pan === undefined ? sw.recentRoutes.get(txKey) : route(sw, pan);
  if (issuer === undefined) {
    sw.decline(conn, request, pan === undefined ? CODE.notFound : CODE.noRoute, t0, session.mak);
    return;
  }
  start(sw, new Transaction(sw, conn, request, session.mak, issuer, "4", txKey, t0), true);
}

function start(sw: Switch, tx: Transaction, priority: boolean): void {
  sw.active.set(tx.key, tx);
  tx.timer = setTimeout(expireTransaction, sw.config.issuerTimeoutMs, tx);
  if (priority) sw.admission.force(tx);
  else if (!sw.admission.admit(tx)) finish(sw, tx, CODE.malfunction, false);
}

/** Sends an admitted transaction upstream. */
export function dispatch(sw: Switch, tx: Transaction): void {
  if (tx.done) {
    sw.admission.release();
    return;
  }
  const fields = tx.request.message.fields;
  fields[64] = undefined; // no MAC on the host link
  const frame = encodeFrame({
    tpdu: tx.request.tpdu ?? TERMINAL_TPDU,
    header: tx.request.header ?? TERMINAL_HEADER,
    message: tx.request.message,
  });
  if (sw.issuers.request(tx.issuer, tx.key, frame, tx)) return;
  sw.admission.release();
  finish(sw, tx, CODE.issuerDown, tx.kind === "4");
}

/** Answers the terminal for a transaction without an issuer reply; `reverse` owes the issuer an 0400. */
function finish(sw: Switch, tx: Transaction, code: string, reverse: boolean): void {
  tx.done = true;
  clearTimeout(tx.timer);
  sw.active.delete(tx.key);
  if (reverse) owe(sw, tx);
  if (sw.closed) return;
  try {
    sw.decline(tx.conn, tx.request, code, tx.t0, tx.mak);
  } catch {
    sw.formatError(tx.conn, tx.request, tx.t0);
  }
}

function owe(sw: Switch, tx: Transaction): void {
  if (sw.closed) return;
  const request = tx.request;
  const message =
    tx.kind === "4"
      ? request.message
      : { mti: "0400", fields: reversalFields(request.message.fields, CODE.noIssuerReply) };
  message.fields[64] = undefined;
  const frame = encodeFrame({
    tpdu: request.tpdu ?? TERMINAL_TPDU,
    header: request.header ?? TERMINAL_HEADER,
    message,
  });
  sw.saf.queue(tx.txKey, tx.issuer, frame);
}

export function expired(sw: Switch, tx: Transaction): void {
  if (tx.done) return;
  if (tx.queued) {
    // Never left the switch: nothing to reverse.
    sw.admission.cancel(tx);
    finish(sw, tx, CODE.malfunction, false);
    return;
  }
  sw.issuers.forget(tx.key, tx);
  sw.admission.release();
  finish(sw, tx, CODE.noIssuerReply, true);
}

export function issuerLost(sw: Switch, tx: Transaction): void {
  if (tx.done) return;
  sw.admission.release();
  finish(sw, tx, CODE.noIssuerReply, true);
}

export function issuerReplied(sw: Switch, tx: Transaction, reply: Frame): void {
  if (tx.done) return;
  tx.done = true;
  clearTimeout(tx.timer);
  sw.active.delete(tx.key);
  sw.admission.release();
  if (sw.closed) return;
  const f39 = reply.message.fields[39];
  // An issuer reply without F39 is answered 96 and reversed (the issuer's decision is unknown), and so is an
  // approval the terminal will never see (it may never send its own 0400).
  const unknown = typeof f39 !== "string";
  const code = unknown ? CODE.malfunction : f39;
  reply.message.fields[39] = code;
  if (tx.kind === "2" && (unknown || (code === CODE.approved && !tx.conn.alive))) owe(sw, tx);
  try {
    const fields = forwardedReply(reply.message.fields, tx.request.message.fields, sw.config.acquirerId);
    sw.reply(tx.conn, tx.request, fields, code, tx.t0, tx.mak);
  } catch (error) {
    sw.logError(`issuer reply for ${tx.request.message.mti} does not encode: ${(error as Error).message}`);
    sw.formatError(tx.conn, tx.request, tx.t0);
  }
}

/** Every issuer reply: 0410s acknowledge store-and-forward reversals; unmatched 0210s may be late. */
export function issuerReply(sw: Switch, reply: Frame, waiter: Waiter | undefined): void {
  const fields = reply.message.fields;
  const txKey = String(fields[41]) + String(fields[11]);
  const mti = reply.message.mti;
  if (mti === "0410") {
    const acked = sw.saf.acknowledged(txKey, String(fields[39]));
    if (!waiter && !acked && !sw.saf.has(txKey)) sw.metrics.unmatchedReplies.inc();
    return;
  }
  if (waiter || mti === "0830") return;
  if (mti === "0210" && sw.saf.has(txKey)) {
    sw.metrics.lateReplies.inc();
    // An approval after the reversal was acknowledged: the 0400 may have overtaken it. Reverse again.
    if (fields[39] === CODE.approved) sw.saf.reopen(txKey);
    return;
  }
  sw.metrics.unmatchedReplies.inc();
}
