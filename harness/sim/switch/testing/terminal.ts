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
  type KeyLayout,
  type MacAlgorithm,
  type MacKey,
  macKey,
  type PurchaseInput,
  purchaseRequest,
  readMessage,
  signInRequest,
  signInResponse,
  type Tpdu,
  unwrapWorkingKeys,
  type WorkingKeys,
} from "../../../protocol/index.ts";

// A test terminal: one TCP connection to the switch, frames in and out, and the sign-in / purchase steps.

export const TPDU: Tpdu = { id: "60", destination: "0003", source: "0000" };
export const HEADER: Header = {
  applicationType: "60",
  version: "31",
  terminalStatus: 0,
  processingRequirement: 0,
  softwareVersion: "000001",
};
export const MERCHANT = "123456789012345";

export interface Exchange {
  frame: Frame;
  /** The reply body (TPDU first), for MAC checks. */
  body: Uint8Array;
}

export class TestTerminal {
  readonly socket: net.Socket;
  readonly #reassembler = new FrameReassembler();
  readonly #bodies: Uint8Array[] = [];
  #waiting: ((body: Uint8Array | undefined) => void) | undefined;
  #closed = false;
  /** Resolves when the switch closes the connection. */
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on("data", (chunk) => {
      for (const body of this.#reassembler.push(chunk)) {
        const waiting = this.#waiting;
        this.#waiting = undefined;
        if (waiting) waiting(body);
        else this.#bodies.push(body);
      }
    });
    socket.on("error", () => {});
    this.closed = new Promise((resolve) =>
      socket.once("close", () => {
        this.#closed = true;
        this.#waiting?.(undefined);
        resolve();
      }),
    );
  }

  static async connect(port: number): Promise<TestTerminal> {
    const socket = net.connect({ port, host: "127.0.0.1", noDelay: true });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    return new TestTerminal(socket);
  }

  sendRaw(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  send(frame: Frame, mac?: MacKey): void {
    this.socket.write(encodeFrame(frame, mac ? { mac } : {}));
  }

  /** The next reply body; rejects after `timeoutMs` or when the connection closes. */
  next(timeoutMs = 5_000): Promise<Uint8Array> {
    const queued = this.#bodies.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#closed) return Promise.reject(new Error("connection closed"));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting = undefined;
        reject(new Error(`no reply within ${timeoutMs}ms`));
      }, timeoutMs);
      this.#waiting = (body) => {
        clearTimeout(timer);
        if (body) resolve(body);
        else reject(new Error("connection closed"));
      };
    });
  }

  async exchange(frame: Frame, mac?: MacKey, timeoutMs?: number): Promise<Exchange> {
    this.send(frame, mac);
    const body = await this.next(timeoutMs);
    return { frame: decodeFrame(body, { lengthPrefix: false }), body };
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface SignedIn {
  keys: WorkingKeys;
  mak: MacKey;
  reply: Exchange;
}

/** Signs `tid` in; throws unless F39 is 00. */
export async function signIn(
  terminal: TestTerminal,
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
