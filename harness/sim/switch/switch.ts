import net from "node:net";
import {
  CodecError,
  decodeFrame,
  deriveTmk,
  encodeFrame,
  type Fields,
  type Frame,
  FrameReassembler,
  type Header,
  type KeyLayout,
  type MacKey,
  macKey,
  replyMti,
  replyTpdu,
  splitField60,
  type Tpdu,
  toHex,
  unwrapWorkingKeys,
  verifyFrameMac,
  withProcessingRequirement,
} from "../../protocol/index.ts";
import { settingsBody } from "../common/admin.ts";
import { updateConfig } from "../common/config.ts";
import type { Registry } from "../common/metrics.ts";
import { serveProgram } from "../common/program.ts";
import { Admission, type Job } from "./admission.ts";
import {
  type CompiledConfig,
  compileConfig,
  loadSwitchConfig,
  normalizeSwitchInput,
  PROGRAM,
  type SwitchConfig,
  type SwitchConfigInput,
  switchSpec,
} from "./config.ts";
import { HsmError, HsmPool } from "./hsm.ts";
import { Issuers, type Waiter } from "./issuers.ts";
import type { PersistentLink } from "./link.ts";
import { type ConnectionMode, SwitchMetrics } from "./metrics.ts";
import { cardNumber, forwardedReply, reversalFields, switchReply } from "./replies.ts";
import { StoreAndForward } from "./saf.ts";

// The reference switch (DESIGN.md, "Reference switch"): terminals on short or long connections, per-TID
// sessions keyed by sign-in, MAC-checked purchases and reversals routed by BIN to pooled issuer links,
// issuer timeout → 98 + store-and-forward reversal, optional load shedding, and an admin API.

export interface RunningSwitch extends AsyncDisposable {
  /** Terminal listener port. */
  readonly port: number;
  readonly adminPort: number;
  readonly metrics: Registry;
  /** The live settings (PUT /config changes them). */
  readonly config: SwitchConfig;
  close(): Promise<void>;
}

export interface SwitchOptions {
  /** Where log lines go (default: stderr, prefixed `posstorm-switch:`). */
  log?: (line: string) => void;
}

/** F39 codes the switch sets itself (each one in the protocol's table, RESPONSE_CODES: a test checks). */
export const SWITCH_CODES = {
  approved: "00",
  invalid: "12",
  notFound: "25",
  format: "30",
  issuerDown: "91",
  noRoute: "92",
  duplicate: "94",
  malfunction: "96",
  unknownTerminal: "97",
  noIssuerReply: "98",
  signInAgain: "99",
  macFailed: "A0",
  security: "A7",
} as const;
const CODE = SWITCH_CODES;
const SIGN_IN_AGAIN = 3;
const NO_PREFIX = { lengthPrefix: false } as const;
const NO_MAC = {} as const;
const SIGN_IN_LAYOUTS = new Set(["001", "003", "004"]);
/** Routes of recent purchases, so that a reversal without F2 still reaches the right issuer. */
const MAX_RECENT_ROUTES = 100_000;
/** Bytes before the MTI in a frame body: TPDU (5) + header (6). */
const ENVELOPE = 11;

/** TPDU and header of a frame body whose message does not decode (the parts are hex text, always readable). */
function rawTpdu(body: Uint8Array): Tpdu {
  return { id: toHex(body, 0, 1), destination: toHex(body, 1, 3), source: toHex(body, 3, 5) };
}

function rawHeader(body: Uint8Array): Header {
  return {
    applicationType: toHex(body, 5, 6),
    version: toHex(body, 6, 7),
    terminalStatus: body[7]! >> 4,
    processingRequirement: body[7]! & 15,
    softwareVersion: toHex(body, 8, 11),
  };
}

interface Session {
  mak: MacKey;
  batch: string;
}

class Connection {
  readonly socket: net.Socket;
  readonly reassembler = new FrameReassembler();
  mode: ConnectionMode = "short";
  requests = 0;

  constructor(socket: net.Socket) {
    this.socket = socket;
  }

  get alive(): boolean {
    return !this.socket.destroyed && this.socket.writable;
  }
}

/** A purchase (kind 2) or a reversal (kind 4) on its way to an issuer. */
class Transaction implements Job, Waiter {
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
    this.sw.dispatch(this);
  }

  replied(reply: Frame): void {
    this.sw.issuerReplied(this, reply);
  }

  lost(): void {
    this.sw.issuerLost(this);
  }
}

function expireTransaction(tx: Transaction): void {
  tx.sw.expired(tx);
}

class SignIn implements Job {
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
    this.sw.askHsm(this);
  }
}

function expireSignIn(job: SignIn): void {
  job.sw.signInExpired(job);
}

class Switch {
  readonly config: SwitchConfig;
  compiled: CompiledConfig;
  readonly metrics: SwitchMetrics;
  readonly sessions = new Map<string, Session>();
  readonly admission: Admission;
  readonly issuers: Issuers;
  readonly saf: StoreAndForward;
  readonly hsm: HsmPool;
  readonly connections = new Set<Connection>();
  /** Transactions queued or waiting for an issuer, by correlation key. */
  readonly active = new Map<string, Transaction>();
  readonly recentRoutes = new Map<string, string>();
  readonly signIns = new Set<SignIn>();
  readonly log: (line: string) => void;
  readonly labKey: Uint8Array;
  closed = false;
  #loggedErrors = 0;

  constructor(config: SwitchConfig, compiled: CompiledConfig, log: (line: string) => void) {
    this.config = config;
    this.compiled = compiled;
    this.log = log;
    this.labKey = compiled.labKey;
    this.admission = new Admission(config);
    this.metrics = new SwitchMetrics({
      inFlight: () => this.admission.inFlight,
      queueDepth: () => this.admission.queueDepth,
      pendingReversals: () => this.saf.pending,
      sessions: () => this.sessions.size,
    });
    this.issuers = new Issuers(compiled.issuers, config.issuerPoolSize, {
      reply: (reply, waiter) => this.issuerReply(reply, waiter),
      unreadable: (link, error) => {
        this.metrics.unmatchedReplies.inc();
        this.logError(`unreadable reply on ${link.name}: ${error.message}`);
      },
      up: (link) => this.linkUp(link),
      down: (link, reason, wasUp) => this.linkDown(link, reason, wasUp),
    });
    for (const [name, pool] of this.issuers.pools) {
      this.metrics.issuerLinks.track(() => pool.upCount, { issuer: name });
    }
    this.saf = new StoreAndForward(this.issuers, this.metrics, () => this.config.safRetryMs);
    this.hsm = new HsmPool(compiled.hsm.host, compiled.hsm.port, config.hsmPoolSize, {
      up: () => this.closed || this.log("hsm answers again"),
      down: (reason) => this.closed || this.log(`hsm unreachable: ${reason}`),
    });
    this.metrics.hsmLinks.track(() => this.hsm.upCount);
  }

  // ── terminal connections ──────────────────────────────────────────────────────────────────────────

  accept(socket: net.Socket): void {
    const conn = new Connection(socket);
    this.connections.add(conn);
    this.metrics.connections.inc({ mode: "short" });
    socket.setNoDelay(true);
    socket.setTimeout(this.config.idleTimeoutMs, () => socket.destroy());
    socket.on("data", (chunk: Buffer) => {
      let bodies: Uint8Array[];
      try {
        bodies = conn.reassembler.push(chunk);
      } catch {
        this.metrics.malformedFrame("closed");
        socket.destroy();
        return;
      }
      for (const body of bodies) {
        if (socket.destroyed) return;
        this.frame(conn, body);
      }
    });
    socket.on("error", () => {});
    socket.once("close", () => {
      this.connections.delete(conn);
      this.metrics.connections.dec({ mode: conn.mode });
    });
  }

  #markLong(conn: Connection): void {
    if (conn.mode === "long") return;
    this.metrics.connections.dec({ mode: "short" });
    this.metrics.connections.inc({ mode: "long" });
    conn.mode = "long";
  }

  frame(conn: Connection, body: Uint8Array): void {
    if (body.length === 0) return; // a zero-length frame: some long links use it as a heartbeat
    const t0 = performance.now();
    let request: Frame;
    try {
      request = decodeFrame(body, NO_PREFIX);
    } catch (error) {
      if (!(error instanceof CodecError)) this.logError(`decoding a terminal frame: ${String(error)}`);
      this.malformed(conn, body, t0);
      return;
    }
    if (++conn.requests === 2) this.#markLong(conn);
    try {
      switch (request.message.mti) {
        case "0200":
          this.purchase(conn, request, body, t0);
          break;
        case "0400":
          this.reversal(conn, request, body, t0);
          break;
        case "0800":
          this.signIn(conn, request, t0);
          break;
        case "0820":
          this.network(conn, request, t0);
          break;
        default:
          this.decline(conn, request, CODE.invalid, t0);
      }
    } catch (error) {
      // A reply that cannot be encoded from what the terminal sent (or a bug): answer 30, never crash.
      if (!(error instanceof CodecError)) this.logError(`handling ${request.message.mti}: ${String(error)}`);
      this.formatError(conn, request, t0);
    }
  }

  /** Writes a reply; `mac` adds F64, `signInAgain` sets processing requirement 3 in the header. */
  reply(
    conn: Connection,
    request: Frame,
    fields: Fields,
    code: string,
    t0: number,
    mac?: MacKey,
    signInAgain = false,
  ): void {
    const header = signInAgain ? withProcessingRequirement(request.header, SIGN_IN_AGAIN) : request.header;
    const mti = request.message.mti;
    const bytes = encodeFrame(
      { tpdu: replyTpdu(request.tpdu), header, message: { mti: replyMti(mti), fields } },
      mac ? { mac } : NO_MAC,
    );
    if (this.#write(conn, bytes)) this.metrics.reply(mti, code, (performance.now() - t0) / 1000);
    else this.metrics.undeliverable.inc({ code });
  }

  /** False when the terminal's connection is gone (closed, or half-closed: a terminal that hangs up). */
  #write(conn: Connection, bytes: Uint8Array): boolean {
    if (!conn.alive) return false;
    conn.socket.write(bytes);
    return true;
  }

  /** A reply the switch makes up: the request's identifying fields and `code`. */
  decline(
    conn: Connection,
    request: Frame,
    code: string,
    t0: number,
    mac?: MacKey,
    signInAgain = false,
  ): void {
    const fields = switchReply(
      replyMti(request.message.mti),
      request.message.fields,
      code,
      this.config.acquirerId,
    );
    this.reply(conn, request, fields, code, t0, mac, signInAgain);
  }

  /** The frame decoded, but a reply could not be built from it: 30 with the bare minimum. */
  formatError(conn: Connection, request: Frame, t0: number): void {
    this.metrics.malformedFrame("answered");
    try {
      const fields: Fields = { 39: CODE.format };
      for (const f of [11, 41]) {
        const v = request.message.fields[f];
        if (typeof v === "string") fields[f] = v;
      }
      this.reply(conn, request, fields, CODE.format, t0);
    } catch {
      conn.socket.destroy();
    }
  }

  /** A frame that does not decode: 30 when TPDU, header and a request MTI are readable, else close. */
  malformed(conn: Connection, body: Uint8Array, t0: number): void {
    const mtiHi = body[ENVELOPE];
    const mtiLo = body[ENVELOPE + 1];
    const bcd = (b: number) => b >> 4 <= 9 && (b & 15) <= 9;
    if (mtiHi !== undefined && mtiLo !== undefined && bcd(mtiHi) && bcd(mtiLo) && (mtiLo >> 4) % 2 === 0) {
      const mti = toHex(body, ENVELOPE, ENVELOPE + 2);
      try {
        this.reply(
          conn,
          { tpdu: rawTpdu(body), header: rawHeader(body), message: { mti, fields: {} } },
          { 39: CODE.format },
          CODE.format,
          t0,
        );
        this.metrics.malformedFrame("answered");
        return;
      } catch {
        // fall through: close
      }
    }
    this.metrics.malformedFrame("closed");
    conn.socket.destroy();
  }

  // ── sign-in ───────────────────────────────────────────────────────────────────────────────────────

  signIn(conn: Connection, request: Frame, t0: number): void {
    const fields = request.message.fields;
    const tid = fields[41];
    const f60 = fields[60];
    if (typeof tid !== "string" || typeof fields[11] !== "string" || typeof f60 !== "string") {
      this.formatError(conn, request, t0);
      return;
    }
    const layout = splitField60(f60).networkManagementCode ?? "";
    if (!SIGN_IN_LAYOUTS.has(layout)) {
      this.decline(conn, request, CODE.invalid, t0);
      return;
    }
    if (!this.compiled.fleet.has(tid)) {
      this.decline(conn, request, CODE.unknownTerminal, t0);
      return;
    }
    const job = new SignIn(this, conn, request, tid, layout as KeyLayout, t0);
    if (!this.admission.admit(job)) {
      this.decline(conn, request, CODE.malfunction, t0);
      return;
    }
    if (job.queued) {
      job.timer = setTimeout(expireSignIn, this.config.hsmTimeoutMs, job);
      this.signIns.add(job);
    }
  }

  signInExpired(job: SignIn): void {
    this.signIns.delete(job);
    if (!job.queued) return;
    this.admission.cancel(job);
    this.decline(job.conn, job.request, CODE.malfunction, job.t0);
  }

  askHsm(job: SignIn): void {
    clearTimeout(job.timer);
    this.signIns.delete(job);
    const timeoutMs = Math.max(1, Math.round(this.config.hsmTimeoutMs - (performance.now() - job.t0)));
    this.hsm.workingKeys(job.tid, job.layout, { timeoutMs }).then(
      (reply) => {
        this.admission.release();
        if (reply.error !== "00") {
          this.metrics.hsmRequests.inc({ result: `error ${reply.error}` });
          this.signInReply(job, CODE.security);
          return;
        }
        let mak: Uint8Array;
        try {
          mak = unwrapWorkingKeys(reply.f62, deriveTmk(this.labKey, job.tid), job.layout).mak;
        } catch (error) {
          this.metrics.hsmRequests.inc({ result: "bad keys" });
          this.logError(`HSM keys for ${job.tid} do not unwrap: ${(error as Error).message}`);
          this.signInReply(job, CODE.security);
          return;
        }
        this.metrics.hsmRequests.inc({ result: "ok" });
        const batch = splitField60(job.request.message.fields[60] as string).batchNumber ?? "000000";
        this.sessions.set(job.tid, { mak: macKey(mak, this.config.macAlgorithm), batch });
        this.signInReply(job, CODE.approved, reply.f62);
      },
      (error: unknown) => {
        this.admission.release();
        this.metrics.hsmRequests.inc({ result: error instanceof HsmError ? error.reason : "error" });
        if (!(error instanceof HsmError)) this.logError(`HSM request: ${String(error)}`);
        this.signInReply(job, CODE.security);
      },
    );
  }

  signInReply(job: SignIn, code: string, f62?: Uint8Array): void {
    if (this.closed) return;
    try {
      const fields = switchReply("0810", job.request.message.fields, code, this.config.acquirerId);
      if (f62) fields[62] = f62;
      this.reply(job.conn, job.request, fields, code, job.t0);
    } catch {
      this.formatError(job.conn, job.request, job.t0);
    }
  }

  // ── purchases and reversals ───────────────────────────────────────────────────────────────────────

  /** The checks before a financial message goes upstream; the session when they pass. */
  #authorize(conn: Connection, request: Frame, body: Uint8Array, t0: number): Session | undefined {
    const fields = request.message.fields;
    const tid = fields[41];
    if (
      typeof tid !== "string" ||
      typeof fields[11] !== "string" ||
      fields[3] === undefined ||
      fields[4] === undefined
    ) {
      this.formatError(conn, request, t0);
      return undefined;
    }
    if (!this.compiled.fleet.has(tid)) {
      this.decline(conn, request, CODE.unknownTerminal, t0);
      return undefined;
    }
    const session = this.sessions.get(tid);
    if (!session) {
      this.decline(conn, request, CODE.signInAgain, t0, undefined, true);
      return undefined;
    }
    if (!verifyFrameMac(body, session.mak, NO_PREFIX)) {
      this.decline(conn, request, CODE.macFailed, t0, undefined, true);
      return undefined;
    }
    return session;
  }

  route(pan: string | undefined): string | undefined {
    if (pan === undefined) return undefined;
    for (const r of this.compiled.routes) if (pan.startsWith(r.prefix)) return r.issuer;
    return undefined;
  }

  purchase(conn: Connection, request: Frame, body: Uint8Array, t0: number): void {
    const session = this.#authorize(conn, request, body, t0);
    if (!session) return;
    const fields = request.message.fields;
    const txKey = (fields[41] as string) + (fields[11] as string);
    if (this.active.has(`2${txKey}`)) {
      this.decline(conn, request, CODE.duplicate, t0, session.mak);
      return;
    }
    const issuer = this.route(cardNumber(fields));
    if (issuer === undefined) {
      this.decline(conn, request, CODE.noRoute, t0, session.mak);
      return;
    }
    if (!this.issuers.isUp(issuer)) {
      this.decline(conn, request, CODE.issuerDown, t0, session.mak);
      return;
    }
    if (this.recentRoutes.size >= MAX_RECENT_ROUTES) {
      this.recentRoutes.delete(this.recentRoutes.keys().next().value!);
    }
    this.recentRoutes.set(txKey, issuer);
    this.#start(new Transaction(this, conn, request, session.mak, issuer, "2", txKey, t0), false);
  }

  reversal(conn: Connection, request: Frame, body: Uint8Array, t0: number): void {
    const session = this.#authorize(conn, request, body, t0);
    if (!session) return;
    const fields = request.message.fields;
    const txKey = (fields[41] as string) + (fields[11] as string);
    if (this.active.has(`4${txKey}`)) {
      this.decline(conn, request, CODE.duplicate, t0, session.mak);
      return;
    }
    const pan = cardNumber(fields);
    const issuer = pan === undefined ? this.recentRoutes.get(txKey) : this.route(pan);
    if (issuer === undefined) {
      this.decline(conn, request, pan === undefined ? CODE.notFound : CODE.noRoute, t0, session.mak);
      return;
    }
    this.#start(new Transaction(this, conn, request, session.mak, issuer, "4", txKey, t0), true);
  }

  #start(tx: Transaction, priority: boolean): void {
    this.active.set(tx.key, tx);
    tx.timer = setTimeout(expireTransaction, this.config.issuerTimeoutMs, tx);
    if (priority) this.admission.force(tx);
    else if (!this.admission.admit(tx)) this.#finish(tx, CODE.malfunction, false);
  }

  /** Sends an admitted transaction upstream. */
  dispatch(tx: Transaction): void {
    if (tx.done) {
      this.admission.release();
      return;
    }
    const fields = tx.request.message.fields;
    fields[64] = undefined; // no MAC on the host link
    const frame = encodeFrame({
      tpdu: tx.request.tpdu,
      header: tx.request.header,
      message: tx.request.message,
    });
    if (this.issuers.request(tx.issuer, tx.key, frame, tx)) return;
    this.admission.release();
    this.#finish(tx, CODE.issuerDown, tx.kind === "4");
  }

  /** Answers the terminal for a transaction without an issuer reply; `reverse` owes the issuer an 0400. */
  #finish(tx: Transaction, code: string, reverse: boolean): void {
    tx.done = true;
    clearTimeout(tx.timer);
    this.active.delete(tx.key);
    if (reverse) this.#owe(tx);
    if (this.closed) return;
    try {
      this.decline(tx.conn, tx.request, code, tx.t0, tx.mak);
    } catch {
      this.formatError(tx.conn, tx.request, tx.t0);
    }
  }

  #owe(tx: Transaction): void {
    if (this.closed) return;
    const request = tx.request;
    const message =
      tx.kind === "4"
        ? request.message
        : { mti: "0400", fields: reversalFields(request.message.fields, CODE.noIssuerReply) };
    message.fields[64] = undefined;
    const frame = encodeFrame({ tpdu: request.tpdu, header: request.header, message });
    this.saf.queue(tx.txKey, tx.issuer, frame);
  }

  expired(tx: Transaction): void {
    if (tx.done) return;
    if (tx.queued) {
      // Never left the switch: nothing to reverse.
      this.admission.cancel(tx);
      this.#finish(tx, CODE.malfunction, false);
      return;
    }
    this.issuers.forget(tx.key, tx);
    this.admission.release();
    this.#finish(tx, CODE.noIssuerReply, true);
  }

  issuerLost(tx: Transaction): void {
    if (tx.done) return;
    this.admission.release();
    this.#finish(tx, CODE.noIssuerReply, true);
  }

  issuerReplied(tx: Transaction, reply: Frame): void {
    if (tx.done) return;
    tx.done = true;
    clearTimeout(tx.timer);
    this.active.delete(tx.key);
    this.admission.release();
    if (this.closed) return;
    const f39 = reply.message.fields[39];
    // An issuer reply without F39 is answered 96 and reversed (the issuer's decision is unknown), and so is an
    // approval the terminal will never see (it may never send its own 0400).
    const unknown = typeof f39 !== "string";
    const code = unknown ? CODE.malfunction : f39;
    reply.message.fields[39] = code;
    if (tx.kind === "2" && (unknown || (code === CODE.approved && !tx.conn.alive))) this.#owe(tx);
    try {
      const fields = forwardedReply(reply.message.fields, tx.request.message.fields, this.config.acquirerId);
      this.reply(tx.conn, tx.request, fields, code, tx.t0, tx.mak);
    } catch (error) {
      this.logError(
        `issuer reply for ${tx.request.message.mti} does not encode: ${(error as Error).message}`,
      );
      this.formatError(tx.conn, tx.request, tx.t0);
    }
  }

  /** Every issuer reply: 0410s acknowledge store-and-forward reversals; unmatched 0210s may be late. */
  issuerReply(reply: Frame, waiter: Waiter | undefined): void {
    const fields = reply.message.fields;
    const txKey = String(fields[41]) + String(fields[11]);
    const mti = reply.message.mti;
    if (mti === "0410") {
      const acked = this.saf.acknowledged(txKey, String(fields[39]));
      if (!waiter && !acked && !this.saf.has(txKey)) this.metrics.unmatchedReplies.inc();
      return;
    }
    if (waiter || mti === "0830") return;
    if (mti === "0210" && this.saf.has(txKey)) {
      this.metrics.lateReplies.inc();
      // An approval after the reversal was acknowledged: the 0400 may have overtaken it. Reverse again.
      if (fields[39] === CODE.approved) this.saf.reopen(txKey);
      return;
    }
    this.metrics.unmatchedReplies.inc();
  }

  // ── network management ────────────────────────────────────────────────────────────────────────────

  network(conn: Connection, request: Frame, t0: number): void {
    const fields = request.message.fields;
    const f60 = fields[60];
    const code = typeof f60 === "string" ? splitField60(f60).networkManagementCode : undefined;
    if (code === "301") {
      this.#markLong(conn);
      this.decline(conn, request, CODE.approved, t0);
    } else if (code === "002") {
      if (typeof fields[41] === "string") this.sessions.delete(fields[41]);
      this.decline(conn, request, CODE.approved, t0);
    } else {
      this.decline(conn, request, CODE.invalid, t0);
    }
  }

  // ── links, config, lifecycle ──────────────────────────────────────────────────────────────────────

  /** Issuer connections whose outage was logged (one line per outage, not per reconnect attempt). */
  readonly #reportedDown = new Set<string>();

  linkUp(link: PersistentLink): void {
    if (this.#reportedDown.delete(link.name) && !this.closed) {
      this.log(`${link.name} up (${link.host}:${link.port})`);
    }
  }

  linkDown(link: PersistentLink, reason: string, wasUp: boolean): void {
    if (this.closed || this.#reportedDown.has(link.name)) return;
    this.#reportedDown.add(link.name);
    this.log(
      wasUp
        ? `${link.name} down (${reason})`
        : `${link.name} cannot connect to ${link.host}:${link.port} (${reason})`,
    );
  }

  logError(message: string): void {
    if (this.#loggedErrors >= 100) return;
    if (++this.#loggedErrors === 100) message += " (further errors not logged)";
    this.log(message);
  }

  applyChanges(changed: string[]): void {
    if (changed.includes("idleTimeoutMs")) {
      for (const conn of this.connections) conn.socket.setTimeout(this.config.idleTimeoutMs);
    }
    if (changed.includes("issuerPoolSize"))
      this.issuers.resize(this.config.issuerPoolSize, this.config.issuerTimeoutMs);
    if (changed.includes("hsmPoolSize")) this.hsm.resize(this.config.hsmPoolSize, this.config.hsmTimeoutMs);
    this.admission.pump();
  }

  close(): void {
    this.closed = true;
    for (const tx of this.active.values()) {
      tx.done = true;
      clearTimeout(tx.timer);
    }
    this.active.clear();
    for (const job of this.signIns) clearTimeout(job.timer);
    this.signIns.clear();
    this.admission.drain();
    this.issuers.close();
    this.hsm.close();
    this.saf.close();
    for (const conn of this.connections) conn.socket.destroy();
  }
}

const defaultLog = (line: string) => console.error(`posstorm-switch: ${line}`);

/**
 * Starts the reference switch: terminal listener and admin API (port 0 picks a free port). `input` is any
 * subset of the settings (README.md); it is validated like a config file and throws ConfigError.
 */
export async function startSwitch(
  input: SwitchConfigInput = {},
  options: SwitchOptions = {},
): Promise<RunningSwitch> {
  const config = loadSwitchConfig({ overrides: input as Record<string, unknown> });
  const sw = new Switch(config, compileConfig(config), options.log ?? defaultLog);
  const server = net.createServer({ noDelay: true }, (socket) => sw.accept(socket));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(config.port, config.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    sw.close();
    throw error;
  }
  server.on("error", (error) => sw.log(`listener: ${error.message}`));
  const program = await serveProgram({
    listener: {
      port: (server.address() as net.AddressInfo).port,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    },
    admin: {
      program: PROGRAM,
      host: config.host,
      port: config.adminPort,
      registry: sw.metrics.registry,
      config: { spec: switchSpec, values: config as unknown as Record<keyof typeof switchSpec, unknown> },
      routes: {
        "PUT /config": (body) => {
          const before = { ...config };
          const values = config as unknown as Record<keyof typeof switchSpec, unknown>;
          const changed = updateConfig(PROGRAM, switchSpec, values, normalizeSwitchInput(settingsBody(body)));
          try {
            sw.compiled = compileConfig(config);
          } catch (error) {
            Object.assign(config, before);
            throw error;
          }
          sw.applyChanges(changed);
          if (changed.length > 0) {
            sw.log(
              `config changed: ${changed.map((k) => `${k}=${JSON.stringify(config[k as keyof SwitchConfig])}`).join(" ")}`,
            );
          }
          return { changed, config };
        },
        "GET /sessions": () => ({ sessions: sw.sessions.size }),
        "DELETE /sessions": () => {
          const cleared = sw.sessions.size;
          sw.sessions.clear();
          return { cleared };
        },
        "GET /reversals": () => ({ pending: sw.saf.list() }),
      },
    },
    stop: () => sw.close(),
  });
  return { ...program, metrics: sw.metrics.registry, config };
}
