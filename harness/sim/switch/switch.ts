import net from "node:net";
import {
  CodecError,
  decodeFrame,
  type Envelope,
  encodeFrame,
  envelopeThatDecodes,
  type Fields,
  type Frame,
  type FrameDecodeOptions,
  type Header,
  type MacKey,
  replyMti,
  replyTpdu,
  splitField60,
  TERMINAL_HEADER,
  TERMINAL_TPDU,
  type Tpdu,
  tmkLookup,
  toHex,
  withProcessingRequirement,
} from "../../protocol/index.ts";
import { settingsBody } from "../common/admin.ts";
import { updateConfig } from "../common/config.ts";
import type { Registry } from "../common/metrics.ts";
import { serveProgram } from "../common/program.ts";
import { Admission } from "./admission.ts";
import { SWITCH_CODES } from "./codes.ts";
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
import { Connection, type Session } from "./connection.ts";
import { HsmPool } from "./hsm.ts";
import { Issuers } from "./issuers.ts";
import type { PersistentLink } from "./link.ts";
import { SwitchMetrics } from "./metrics.ts";
import { issuerReply, purchase, reversal, type Transaction } from "./purchases.ts";
import { FINANCIAL_REPLIES, field60Layout, switchReply } from "./replies.ts";
import { StoreAndForward } from "./saf.ts";
import { type SignIn, signIn } from "./signin.ts";

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

export { SWITCH_CODES };

const CODE = SWITCH_CODES;
const SIGN_IN_AGAIN = 3;
const NO_PREFIX = { lengthPrefix: false } as const;
const NO_MAC = {} as const;

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

export class Switch {
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
  /** A terminal's master key: from the terminal list when one was given, else derived from the lab key. */
  readonly tmkOf: (tid: string) => Uint8Array;
  closed = false;
  #loggedErrors = 0;
  /** batchPerSignIn: the last batch opened; starts anywhere so that a restarted switch opens batches anew. */
  #batch = Math.floor(Math.random() * 999_999);

  constructor(config: SwitchConfig, compiled: CompiledConfig, log: (line: string) => void) {
    this.config = config;
    this.compiled = compiled;
    this.log = log;
    this.labKey = compiled.labKey;
    this.tmkOf = tmkLookup(compiled.labKey, compiled.terminalKeys);
    this.admission = new Admission(config);
    this.metrics = new SwitchMetrics({
      inFlight: () => this.admission.inFlight,
      queueDepth: () => this.admission.queueDepth,
      pendingReversals: () => this.saf.pending,
      sessions: () => this.sessions.size,
    });
    this.issuers = new Issuers(compiled.issuers, config.issuerPoolSize, {
      reply: (reply, waiter) => issuerReply(this, reply, waiter),
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

  /** The switch's dialect: whether its replies carry the TPDU and the header (runtime settings). */
  #envelope(): Envelope {
    return { tpdu: this.config.tpdu, header: this.config.header };
  }

  #framing(): FrameDecodeOptions {
    return { ...NO_PREFIX, envelope: this.#envelope() };
  }

  frame(conn: Connection, body: Uint8Array): void {
    if (body.length === 0) return; // a zero-length frame: some long links use it as a heartbeat
    const t0 = performance.now();
    let request: Frame;
    try {
      request = decodeFrame(body, this.#framing());
    } catch (error) {
      // Read leniently: a request in another dialect (no TPDU, no header) is served, and answered in this
      // switch's own, so a terminal of the other dialect meets the difference in the reply and names it.
      const other = envelopeThatDecodes(body, this.#envelope(), NO_PREFIX);
      if (!other) {
        if (!(error instanceof CodecError)) this.logError(`decoding a terminal frame: ${String(error)}`);
        this.malformed(conn, body, t0);
        return;
      }
      request = decodeFrame(body, { ...NO_PREFIX, envelope: other });
    }
    if (++conn.requests === 2) this.#markLong(conn);
    // After an interface change: terminals on older software are refused whatever they ask (40).
    const oldest = this.config.minSoftwareVersion;
    if (oldest && request.header && request.header.softwareVersion < oldest) {
      this.decline(conn, request, CODE.softwareTooOld, t0);
      return;
    }
    try {
      switch (request.message.mti) {
        case "0200":
          purchase(this, conn, request, body, t0);
          break;
        case "0400":
          reversal(this, conn, request, body, t0);
          break;
        case "0800":
          signIn(this, conn, request, t0);
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

  /** batchPerSignIn: the batch the next approved sign-in opens (000001 … 999999, then round again). */
  openBatch(): string {
    this.#batch = (this.#batch % 999_999) + 1;
    return String(this.#batch).padStart(6, "0");
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
    const version = this.config.headerVersion;
    // A request of a dialect without TPDU or header gets the terminal's defaults back, where this dialect has them.
    const received = request.header ?? TERMINAL_HEADER;
    const own = version ? { ...received, version } : received;
    const header = signInAgain ? withProcessingRequirement(own, SIGN_IN_AGAIN) : own;
    const mti = request.message.mti;
    const answer = replyMti(mti);
    if (mti === "0200" && !this.config.purchaseReplyField60) fields[60] = undefined;
    const f60 = fields[60];
    if (FINANCIAL_REPLIES.has(answer) && typeof f60 === "string" && this.config.field60Parts)
      fields[60] = field60Layout(f60, this.config.field60Parts);
    if (mti === "0200" && code === CODE.approved && this.config.purchaseReplyField63)
      fields[63] = this.config.purchaseReplyField63;
    const swapped = replyTpdu(request.tpdu ?? TERMINAL_TPDU);
    const nii = this.config.tpduAddress;
    const bytes = encodeFrame(
      {
        tpdu: nii ? { ...swapped, source: nii } : swapped,
        header,
        message: { mti: answer, fields },
      },
      { envelope: this.#envelope(), ...(mac ? { mac } : NO_MAC) },
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
      server.listen(config.port, config.host, config.listenBacklog, () => {
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
