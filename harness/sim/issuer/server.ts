import {
  buildMessage,
  CodecError,
  decodeFrame,
  encodeFrame,
  type Frame,
  type IsoMessage,
  maskPan,
  networkRequest,
  networkResponse,
  type PurchaseRequest,
  purchaseRequest,
  purchaseResponse,
  type ReversalRequest,
  readMessage,
  replyMti,
  replyTpdu,
  reversalRequest,
  reversalResponse,
} from "../../protocol/index.ts";
import { AdminError, StreamedBody, settingsBody } from "../common/admin.ts";
import { ConfigError, updateConfig } from "../common/config.ts";
import { Registry } from "../common/metrics.ts";
import { serveProgram } from "../common/program.ts";
import { type FrameConnection, type Log, startFrameServer, throttledLog } from "../common/tcp-server.ts";
import { Ledger, type LedgerFilter, type LedgerStatus, ledgerKey, ledgerNdjson } from "./ledger.ts";
import {
  formatResponseMix,
  parseResponseMix,
  pickResponseCode,
  type ResponseMix,
  randomDigits,
  sampleServiceTimeMs,
  seededRandom,
} from "./model.ts";
import {
  type IssuerConfig,
  type IssuerOptions,
  issuerSettings,
  PROGRAM,
  resolveIssuerConfig,
} from "./settings.ts";
import { WorkerPool } from "./workers.ts";

export interface StartedIssuer extends AsyncDisposable {
  /** ISO 8583 port. */
  readonly port: number;
  readonly adminPort: number;
  readonly metrics: Registry;
  /** The live settings (PUT /config changes them in place). */
  readonly config: IssuerConfig;
  readonly ledger: Ledger;
  close(): Promise<void>;
}

export interface IssuerHooks {
  /** Where log lines go (without the program prefix); silent by default. */
  log?: Log;
}

const codes = { approved: "00", formatError: "30", duplicate: "94" } as const;
const ledgerStatuses: readonly LedgerStatus[] = ["approved", "declined", "reversed"];

/** Local time parts for F12 (hhmmss), F13 and F15 (MMDD). */
function clock(at: Date): { time: string; date: string } {
  const two = (n: number) => String(n).padStart(2, "0");
  return {
    time: `${two(at.getHours())}${two(at.getMinutes())}${two(at.getSeconds())}`,
    date: `${two(at.getMonth() + 1)}${two(at.getDate())}`,
  };
}

/** The PAN of a purchase: F2, else the digits of F35 before the separator; empty without either. */
function panOf(request: PurchaseRequest): string {
  if (request.pan) return request.pan;
  const track = request.track2 ?? "";
  const separator = track.search(/[=Dd]/);
  return separator > 0 ? track.slice(0, separator) : "";
}

/** Starts the issuer simulator: ISO 8583 listener + admin API. Throws ConfigError on a bad setting. */
export async function startIssuer(
  options: IssuerOptions = {},
  hooks: IssuerHooks = {},
): Promise<StartedIssuer> {
  const given = Object.entries(options).filter(([, value]) => value !== undefined);
  const config = resolveIssuerConfig({ overrides: Object.fromEntries(given) });
  const log = hooks.log ?? (() => {});
  const logMalformed = throttledLog(log);
  const random = seededRandom(config.seed);
  let mix = parseResponseMix(config.responseMix) as ResponseMix;
  let rrnSequence = 0;
  const ledger = new Ledger();
  /** Purchases received and not decided yet, by ledger key: resolves once the ledger has the entry. */
  const inProgress = new Map<string, Promise<void>>();
  const pool = new WorkerPool(() => config.workers);

  const metrics = new Registry();
  const requests = metrics.counter("issuer_requests_total", "requests answered, by request MTI and F39");
  const malformed = metrics.counter(
    "issuer_malformed_frames_total",
    "frames that did not decode, were not a supported request, or had a bad length",
  );
  const serviceSeconds = metrics.histogram("issuer_service_seconds", "sampled service time of 0200/0400s");
  const responseSeconds = metrics.histogram(
    "issuer_response_seconds",
    "receipt to reply of 0200/0400s (queue wait + service)",
  );
  const undeliverable = metrics.counter(
    "issuer_replies_undeliverable_total",
    "replies decided after their connection had closed",
  );
  metrics.gauge("issuer_in_flight", "requests being served").track(() => pool.active);
  metrics.gauge("issuer_queue_depth", "requests waiting for a worker").track(() => pool.queued);
  metrics
    .gauge("issuer_workers", "requests served at once (the workers setting)")
    .track(() => config.workers);

  /**
   * The bytes of the reply to `request`, or undefined when it does not encode (values echoed from a garbled
   * request): that counts the request as malformed and closes the connection.
   */
  const encodeReply = (connection: FrameConnection, request: Frame, message: IsoMessage) => {
    try {
      return encodeFrame(
        { tpdu: replyTpdu(request.tpdu), header: request.header, message },
        { lengthPrefix: false },
      );
    } catch (error) {
      if (!(error instanceof CodecError)) throw error;
      malformed.inc();
      logMalformed(
        `connection ${connection.id}: ${request.message.mti} cannot be answered (${error.message}); closing`,
      );
      connection.close();
      return undefined;
    }
  };

  /** Writes a reply; false when the connection had closed (the switch never sees it). */
  const send = (connection: FrameConnection, bytes: Uint8Array): boolean => {
    const sent = connection.send(bytes);
    if (!sent) undeliverable.inc();
    return sent;
  };

  /**
   * Answers a request that was served: counts it by MTI and F39 and writes the reply. Returns whether the reply
   * went out, or undefined when it did not encode (then it counts as malformed, not as a request).
   */
  const answer = (connection: FrameConnection, request: Frame, message: IsoMessage): boolean | undefined => {
    const bytes = encodeReply(connection, request, message);
    if (!bytes) return undefined;
    requests.inc({ mti: request.message.mti, code: String(message.fields[39]) });
    return send(connection, bytes);
  };

  /** A decoded frame that is not a request we serve: 30 echoing what identifies it, when it is a request. */
  const formatError = (connection: FrameConnection, frame: Frame, why: string) => {
    malformed.inc();
    const { mti, fields } = frame.message;
    logMalformed(`connection ${connection.id}: ${mti}: ${why}`);
    if (!/^\d\d[02]\d$/.test(mti)) {
      connection.close();
      return;
    }
    const echoed: IsoMessage["fields"] = { 39: codes.formatError };
    for (const field of [3, 4, 11, 41, 42, 49, 60])
      if (fields[field] !== undefined) echoed[field] = fields[field];
    try {
      const message: IsoMessage = { mti: replyMti(mti), fields: echoed };
      send(
        connection,
        encodeFrame({ tpdu: replyTpdu(frame.tpdu), header: frame.header, message }, { lengthPrefix: false }),
      );
    } catch {
      connection.close(); // even the echoed fields do not encode
    }
  };

  const serve = async (receivedAt: number) => {
    const serviceMs = sampleServiceTimeMs(random, config.medianMs, config.p99Ms);
    await pool.serve(serviceMs);
    serviceSeconds.observe(serviceMs / 1000);
    responseSeconds.observe((Date.now() - receivedAt) / 1000);
  };

  const purchase = async (connection: FrameConnection, frame: Frame, request: PurchaseRequest) => {
    const receivedAt = Date.now();
    const key = ledgerKey(request.terminalId, request.stan, request.batchNumber);
    const now = clock(new Date(receivedAt));
    const base = {
      pan: request.pan,
      processingCode: request.processingCode,
      amount: request.amount,
      stan: request.stan,
      localTime: now.time,
      localDate: now.date,
      settlementDate: now.date,
      posConditionCode: request.posConditionCode,
      acquirerId: config.issuerId,
      terminalId: request.terminalId,
      merchantId: request.merchantId,
      currencyCode: request.currencyCode,
      transactionType: request.transactionType,
      batchNumber: request.batchNumber,
      networkManagementCode: request.networkManagementCode,
    };
    if (ledger.has(key) || inProgress.has(key)) {
      answer(connection, frame, buildMessage(purchaseResponse, { ...base, responseCode: codes.duplicate }));
      return;
    }
    let settled = () => {};
    inProgress.set(key, new Promise<void>((resolve) => (settled = resolve)));
    try {
      await serve(receivedAt);
      const responseCode = pickResponseCode(random, mix);
      const approved = responseCode === codes.approved;
      const authCode = approved ? randomDigits(random, 6) : undefined;
      const rrn = approved
        ? `${config.issuerId.slice(-2).padStart(2, "0")}${String(++rrnSequence % 1e10).padStart(10, "0")}`
        : undefined;
      const message = buildMessage(purchaseResponse, {
        ...base,
        responseCode,
        authorizationCode: authCode,
        retrievalReference: rrn,
      });
      const replySent = answer(connection, frame, message);
      if (replySent === undefined) return;
      ledger.record({
        tid: request.terminalId,
        stan: request.stan,
        batch: request.batchNumber,
        pan: maskPan(panOf(request)),
        amount: request.amount,
        responseCode,
        ...(authCode ? { authCode } : {}),
        ...(rrn ? { rrn } : {}),
        status: approved ? "approved" : "declined",
        receivedAt,
        repliedAt: Date.now(),
        replySent,
        reversalAttempts: 0,
      });
    } finally {
      inProgress.delete(key);
      settled();
    }
  };

  const reversal = async (connection: FrameConnection, frame: Frame, request: ReversalRequest) => {
    const receivedAt = Date.now();
    await serve(receivedAt);
    const key = ledgerKey(request.terminalId, request.stan, request.batchNumber);
    // An original still being served is decided first; the reversal then applies to its outcome.
    await inProgress.get(key);
    const responseCode = ledger.reverse(
      { tid: request.terminalId, stan: request.stan, batch: request.batchNumber, amount: request.amount },
      Date.now(),
    );
    const now = clock(new Date());
    answer(
      connection,
      frame,
      buildMessage(reversalResponse, {
        processingCode: request.processingCode,
        amount: request.amount,
        stan: request.stan,
        localTime: now.time,
        localDate: now.date,
        settlementDate: now.date,
        posConditionCode: request.posConditionCode,
        acquirerId: config.issuerId,
        responseCode,
        terminalId: request.terminalId,
        merchantId: request.merchantId,
        currencyCode: request.currencyCode,
        transactionType: request.transactionType,
        batchNumber: request.batchNumber,
        networkManagementCode: request.networkManagementCode,
      }),
    );
  };

  const failed = (error: unknown) => log(`request failed: ${(error as Error).message}`);

  const onFrame = (body: Uint8Array, connection: FrameConnection) => {
    if (body.length === 0) return; // a zero-length frame is a link heartbeat
    let frame: Frame;
    try {
      frame = decodeFrame(body, { lengthPrefix: false });
    } catch (error) {
      malformed.inc();
      const reason = error instanceof CodecError ? error.message : String(error);
      logMalformed(`connection ${connection.id}: undecodable frame (${reason}); closing`);
      connection.close();
      return;
    }
    try {
      switch (frame.message.mti) {
        case "0200":
          purchase(connection, frame, readMessage(purchaseRequest, frame.message)).catch(failed);
          return;
        case "0400":
          reversal(connection, frame, readMessage(reversalRequest, frame.message)).catch(failed);
          return;
        case "0820": {
          const echo = readMessage(networkRequest, frame.message);
          answer(connection, frame, buildMessage(networkResponse, { ...echo, responseCode: codes.approved }));
          return;
        }
        default:
          formatError(connection, frame, "not a request this issuer serves (0200, 0400, 0820)");
      }
    } catch (error) {
      if (!(error instanceof CodecError)) throw error;
      formatError(connection, frame, error.message);
    }
  };

  const frames = await startFrameServer({
    host: config.host,
    port: config.port,
    maxFrameBytes: config.maxFrameBytes,
    malformedFrames: malformed,
    onFrame,
    log,
  });
  metrics.gauge("issuer_connections", "open ISO 8583 connections").track(() => frames.connections);

  const configValues = config as unknown as Record<keyof typeof issuerSettings, unknown>;
  const onChange = (changed: string[]) => {
    if (changed.includes("responseMix")) mix = parseResponseMix(config.responseMix) as ResponseMix;
    if (changed.includes("workers")) pool.poke();
    if (changed.length > 0) {
      log(
        `config changed: ${changed.map((name) => `${name}=${JSON.stringify(configValues[name as keyof IssuerConfig])}`).join(" ")}`,
      );
    }
  };

  const program = await serveProgram({
    listener: frames,
    admin: {
      program: PROGRAM,
      host: config.host,
      port: config.adminPort,
      registry: metrics,
      config: { spec: issuerSettings, values: configValues, onChange },
      routes: {
        // Replaces the stock PUT /config so that responseMix may be given as an object, and is checked whole.
        "PUT /config": (body) => {
          const changes = { ...settingsBody(body) };
          if ("responseMix" in changes) {
            const parsed = parseResponseMix(changes.responseMix);
            if (typeof parsed === "string") {
              throw new ConfigError(PROGRAM, [
                `responseMix = ${JSON.stringify(changes.responseMix)} (from PUT /config) ${parsed}`,
              ]);
            }
            changes.responseMix = formatResponseMix(parsed);
          }
          const changed = updateConfig(PROGRAM, issuerSettings, configValues, changes);
          onChange(changed);
          return { changed, config: configValues };
        },
        "GET /ledger": (_body, url) => {
          const filter: LedgerFilter = {};
          const status = url.searchParams.get("status");
          if (status !== null) {
            if (!(ledgerStatuses as readonly string[]).includes(status)) {
              throw new AdminError(400, `status must be one of ${ledgerStatuses.join(", ")}`);
            }
            filter.status = status as LedgerStatus;
          }
          const tid = url.searchParams.get("tid");
          if (tid !== null) filter.tid = tid;
          const format = url.searchParams.get("format") ?? "json";
          if (format === "ndjson") {
            return new StreamedBody("application/x-ndjson", ledgerNdjson(ledger.each(filter)));
          }
          if (format !== "json") throw new AdminError(400, `format must be json or ndjson, not ${format}`);
          return {
            issuer: config.name,
            issuerId: config.issuerId,
            entries: ledger.entries(filter),
            reversalsNotFound: ledger.reversalsNotFound(),
          };
        },
        "GET /ledger/summary": () => ({ ...ledger.summary(), inProgress: inProgress.size }),
        "POST /ledger/reset": () => {
          ledger.reset();
          return { reset: true };
        },
      },
    },
    stop: () => pool.close(),
  });
  return { ...program, metrics, config, ledger };
}
