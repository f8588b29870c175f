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
  type MacKey,
  macKey,
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
} from "../../protocol/index.ts";
import type { Endpoint } from "../lab.ts";

// A minimal terminal in Node for lab tests: short connections (connect, one exchange, close), sign-in
// with key adoption, MAC'd purchases and reversals. The k6 fleet is the real terminal model; this one
// checks the lab from the outside, as any client of the switch could.

const TPDU: Tpdu = { id: "60", destination: "0003", source: "0000" };
const HEADER: Header = {
  applicationType: "60",
  version: "31",
  terminalStatus: 0,
  processingRequirement: 0,
  softwareVersion: "000000",
};

export interface Exchange {
  frame: Frame;
  /** The reply's bytes after the length, as the MAC is checked over them. */
  body: Uint8Array;
  elapsedMs: number;
}

/** Sends one frame on a new connection and reads one reply frame. */
export async function exchange(endpoint: Endpoint, bytes: Uint8Array, timeoutMs = 10_000): Promise<Exchange> {
  const started = performance.now();
  const body = await new Promise<Uint8Array>((resolve, reject) => {
    const socket = net.connect(endpoint);
    const reassembler = new FrameReassembler();
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no reply from ${endpoint.host}:${endpoint.port} within ${timeoutMs}ms`));
    }, timeoutMs);
    socket.once("connect", () => socket.write(bytes));
    socket.on("data", (chunk) => {
      const frames = reassembler.push(new Uint8Array(chunk));
      if (frames.length > 0) {
        clearTimeout(timer);
        socket.destroy();
        resolve(frames[0]!);
      }
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once("close", () => {
      clearTimeout(timer);
      reject(new Error(`${endpoint.host}:${endpoint.port} closed the connection without a reply`));
    });
  });
  return { frame: decodeFrame(body, { lengthPrefix: false }), body, elapsedMs: performance.now() - started };
}

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
    this.merchantId = opts.merchantId ?? "123456789012345";
    this.tmk = deriveTmk(fromHex(opts.labKeyHex ?? DEFAULT_LAB_KEY_HEX), terminalId);
  }

  nextStan(): string {
    this.#stan = (this.#stan % 999_999) + 1;
    return String(this.#stan).padStart(6, "0");
  }

  async signIn() {
    const request = buildMessage(signInRequest, {
      stan: this.nextStan(),
      terminalId: this.terminalId,
      merchantId: this.merchantId,
      batchNumber: this.batchNumber,
    });
    const reply = await exchange(
      this.endpoint,
      encodeFrame({ tpdu: TPDU, header: HEADER, message: request }),
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
    const bytes = encodeFrame({ tpdu: TPDU, header: HEADER, message: request }, { mac: this.mac });
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
      encodeFrame({ tpdu: TPDU, header: HEADER, message: request }, { mac: this.mac }),
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
