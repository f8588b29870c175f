import net from "node:net";
import {
  buildMessage,
  DEFAULT_LAB_KEY_HEX,
  decodeFrame,
  deriveTmk,
  encodeFrame,
  type Frame,
  FrameReassembler,
  fromHex,
  type Header,
  type IsoMessage,
  type KeyLayout,
  type MacAlgorithm,
  type MacKey,
  macKey,
  type PurchaseInput,
  purchaseRequest,
  purchaseResponse,
  readMessage,
  reversalFor,
  reversalRequest,
  signInRequest,
  signInResponse,
  type Tpdu,
  unwrapWorkingKeys,
  verifyFrameMac,
  type WorkingKeys,
} from "../../../protocol/index.ts";

// Test terminals in Node, for the switch's tests and benchmark and for the lab's tests and the fleet benchmark.
// `TerminalConnection`: one TCP connection to the switch, frames in and out, with the sign-in / purchase steps
// beside it. `TestTerminal`: a terminal with its own keys, STAN and batch on short connections (connect, one
// exchange, close): sign-in with key adoption, MAC'd purchases and reversals. The fleet engine (harness/fleet) is the real terminal
// model; these check a switch from the outside, as any client of it could.

export const TPDU: Tpdu = { id: "60", destination: "0003", source: "0000" };
export const HEADER: Header = {
  applicationType: "60",
  version: "31",
  terminalStatus: 0,
  processingRequirement: 0,
  softwareVersion: "000001",
};
export const MERCHANT = "123456789012345";

/** Host and TCP port of the switch (the lab's `Endpoint` has this shape). */
interface Endpoint {
  host: string;
  port: number;
}

export interface Exchange {
  frame: Frame;
  /** The reply's bytes after the length (TPDU first), as the MAC is checked over them. */
  body: Uint8Array;
  /** From sending the request (for `exchange`, from connecting) to the reply. */
  elapsedMs: number;
}

const received = (body: Uint8Array, started: number): Exchange => ({
  frame: decodeFrame(body, { lengthPrefix: false }),
  body,
  elapsedMs: performance.now() - started,
});

export class TerminalConnection {
  readonly socket: net.Socket;
  readonly #address: string;
  readonly #reassembler = new FrameReassembler();
  readonly #bodies: Uint8Array[] = [];
  #waiting: ((body: Uint8Array | undefined) => void) | undefined;
  #closed = false;
  #error: Error | undefined;
  /** Resolves when the connection closes (the switch closed it, or `close()`). */
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket, address: string) {
    this.socket = socket;
    this.#address = address;
    socket.on("data", (chunk) => {
      for (const body of this.#reassembler.push(chunk)) {
        const waiting = this.#waiting;
        this.#waiting = undefined;
        if (waiting) waiting(body);
        else this.#bodies.push(body);
      }
    });
    socket.on("error", (error) => {
      this.#error ??= error;
    });
    this.closed = new Promise((resolve) =>
      socket.once("close", () => {
        this.#closed = true;
        this.#waiting?.(undefined);
        resolve();
      }),
    );
  }

  /** A connection that is still opening: what is sent before it is up waits in the socket. */
  static open(endpoint: Endpoint): TerminalConnection {
    const socket = net.connect({ host: endpoint.host, port: endpoint.port, noDelay: true });
    return new TerminalConnection(socket, `${endpoint.host}:${endpoint.port}`);
  }

  static async connect(port: number): Promise<TerminalConnection> {
    const connection = TerminalConnection.open({ host: "127.0.0.1", port });
    await new Promise<void>((resolve, reject) => {
      connection.socket.once("connect", resolve);
      connection.socket.once("error", reject);
    });
    return connection;
  }

  sendRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  send(frame: Frame, mac?: MacKey): void {
    this.socket.write(encodeFrame(frame, mac ? { mac } : {}));
  }

  /** The next reply body; rejects after `timeoutMs`, or when the connection closes (with its error, if any). */
  next(timeoutMs = 5_000): Promise<Uint8Array> {
    const queued = this.#bodies.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#closed) return Promise.reject(this.#closedError());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting = undefined;
        reject(new Error(`no reply from ${this.#address} within ${timeoutMs}ms`));
      }, timeoutMs);
      this.#waiting = (body) => {
        clearTimeout(timer);
        if (body) resolve(body);
        else reject(this.#closedError());
      };
    });
  }

  async exchange(frame: Frame, mac?: MacKey, timeoutMs?: number): Promise<Exchange> {
    const started = performance.now();
    this.send(frame, mac);
    return received(await this.next(timeoutMs), started);
  }

  close(): void {
    this.socket.destroy();
  }

  #closedError(): Error {
    return this.#error ?? new Error(`${this.#address} closed the connection without a reply`);
  }
}

export interface SignedIn {
  keys: WorkingKeys;
  mak: MacKey;
  reply: Exchange;
}

/** Signs `tid` in; throws unless F39 is 00. */
export async function signIn(
  terminal: TerminalConnection,
  tid: string,
  options: { layout?: KeyLayout; stan?: string; labKeyHex?: string; mac?: MacAlgorithm } = {},
): Promise<SignedIn> {
  const layout = options.layout ?? "003";
  const reply = await terminal.exchange({
    tpdu: TPDU,
    header: HEADER,
    message: buildMessage(signInRequest, {
      stan: options.stan ?? "000001",
      terminalId: tid,
      merchantId: MERCHANT,
      batchNumber: "000007",
      networkManagementCode: layout,
    }),
  });
  const read = readMessage(signInResponse, reply.frame.message);
  if (read.responseCode !== "00" || !read.workingKeys)
    throw new Error(`sign-in answered ${read.responseCode}`);
  const tmk = deriveTmk(fromHex(options.labKeyHex ?? DEFAULT_LAB_KEY_HEX), tid);
  const keys = unwrapWorkingKeys(read.workingKeys, tmk, layout);
  return { keys, mak: macKey(keys.mak, options.mac ?? "cup-ecb"), reply };
}

/** A purchase frame (magstripe, no PIN) for `tid` with card `pan`. */
export function purchase(
  tid: string,
  stan: string,
  pan = "6222021234567890",
  amount = "000000000100",
): Frame {
  const input: PurchaseInput = {
    pan,
    amount,
    stan,
    expiryDate: "2712",
    posEntryMode: "021",
    track2: `${pan}D2712220100000`,
    terminalId: tid,
    merchantId: MERCHANT,
    batchNumber: "000007",
  };
  return { tpdu: TPDU, header: HEADER, message: buildMessage(purchaseRequest, input) };
}

/** Sends one frame (`bytes`, length first) on a new connection and reads one reply frame; `timeoutMs` includes connecting. */
export async function exchange(endpoint: Endpoint, bytes: Uint8Array, timeoutMs = 10_000): Promise<Exchange> {
  const started = performance.now();
  const connection = TerminalConnection.open(endpoint);
  try {
    connection.sendRaw(bytes);
    return received(await connection.next(timeoutMs), started);
  } finally {
    connection.close();
  }
}

/** `TestTerminal`'s header: as `HEADER`, software version 000000. */
const TEST_TERMINAL_HEADER: Header = { ...HEADER, softwareVersion: "000000" };

/** A terminal on short connections: each sign-in, purchase and reversal is an `exchange` with `endpoint`. */
export class TestTerminal {
  readonly endpoint: Endpoint;
  readonly terminalId: string;
  readonly merchantId: string;
  readonly tmk: Uint8Array;
  keys: WorkingKeys | undefined;
  mac: MacKey | undefined;
  batchNumber = "000001";
  #stan = 0;

  constructor(
    endpoint: Endpoint,
    terminalId: string,
    opts: { merchantId?: string; labKeyHex?: string } = {},
  ) {
    this.endpoint = endpoint;
    this.terminalId = terminalId;
    this.merchantId = opts.merchantId ?? MERCHANT;
    this.tmk = deriveTmk(fromHex(opts.labKeyHex ?? DEFAULT_LAB_KEY_HEX), terminalId);
  }

  nextStan(): string {
    this.#stan = (this.#stan % 999_999) + 1;
    return String(this.#stan).padStart(6, "0");
  }

  /** Adopts the working keys and batch number when F39 is 00; never throws on a refusal. */
  async signIn() {
    const request = buildMessage(signInRequest, {
      stan: this.nextStan(),
      terminalId: this.terminalId,
      merchantId: this.merchantId,
      batchNumber: this.batchNumber,
    });
    const reply = await exchange(
      this.endpoint,
      encodeFrame({ tpdu: TPDU, header: TEST_TERMINAL_HEADER, message: request }),
    );
    const values = readMessage(signInResponse, reply.frame.message);
    if (values.responseCode === "00" && values.workingKeys instanceof Uint8Array) {
      this.keys = unwrapWorkingKeys(values.workingKeys, this.tmk);
      this.mac = macKey(this.keys.mak);
      this.batchNumber = String(values.batchNumber);
    }
    return { ...reply, responseCode: String(values.responseCode), keys: this.keys };
  }

  purchaseMessage(pan: string, amount: string): IsoMessage {
    return buildMessage(purchaseRequest, {
      pan,
      amount,
      stan: this.nextStan(),
      expiryDate: "3012",
      posEntryMode: "021",
      terminalId: this.terminalId,
      merchantId: this.merchantId,
      batchNumber: this.batchNumber,
    });
  }

  /** A MAC'd purchase; `tamper` flips a bit of the MAC (F64) after it is computed. */
  async purchase(pan: string, amount = "000000000100", opts: { tamper?: boolean; timeoutMs?: number } = {}) {
    if (!this.mac) throw new Error(`terminal ${this.terminalId} has not signed in`);
    const request = this.purchaseMessage(pan, amount);
    const bytes = encodeFrame(
      { tpdu: TPDU, header: TEST_TERMINAL_HEADER, message: request },
      { mac: this.mac },
    );
    if (opts.tamper) bytes[bytes.length - 1]! ^= 0x01;
    const reply = await exchange(this.endpoint, bytes, opts.timeoutMs);
    return this.#read(request, reply);
  }

  async reverse(original: IsoMessage, reason: "98" | "A0" | "06" = "98", timeoutMs?: number) {
    if (!this.mac) throw new Error(`terminal ${this.terminalId} has not signed in`);
    const request = buildMessage(
      reversalRequest,
      reversalFor(readMessage(purchaseRequest, original), reason),
    );
    const reply = await exchange(
      this.endpoint,
      encodeFrame({ tpdu: TPDU, header: TEST_TERMINAL_HEADER, message: request }, { mac: this.mac }),
      timeoutMs,
    );
    return this.#read(request, reply);
  }

  #read(request: IsoMessage, reply: Exchange) {
    const responseCode = String(reply.frame.message.fields[39] ?? "");
    const macOk =
      this.mac !== undefined && reply.frame.message.fields[64] !== undefined
        ? verifyFrameMac(reply.body, this.mac, { lengthPrefix: false })
        : false;
    const values =
      reply.frame.message.mti === "0210" ? readMessage(purchaseResponse, reply.frame.message) : undefined;
    return { ...reply, request, responseCode, macOk, values };
  }
}
