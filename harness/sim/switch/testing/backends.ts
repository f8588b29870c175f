import { randomBytes } from "node:crypto";
import net from "node:net";
import {
  DEFAULT_LAB_KEY_HEX,
  decodeFrame,
  deriveTmk,
  encodeFrame,
  type Fields,
  type Frame,
  FrameReassembler,
  fromHex,
  type KeyLayout,
  replyMti,
  replyTpdu,
  type WorkingKeys,
  wrapWorkingKeys,
} from "../../../protocol/index.ts";

// Small in-process backends for the switch's tests and benchmark: an HSM speaking the A0/A1 command and an
// issuer answering 0200/0400/0820 on persistent connections, both scriptable (delays, codes, silence).

export interface Backend {
  readonly port: number;
  /** Destroys every open connection (the server keeps listening). */
  dropConnections(): void;
  close(): Promise<void>;
}

async function listen(server: net.Server, sockets: Set<net.Socket>): Promise<Backend> {
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on("error", () => {});
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    dropConnections: () => {
      for (const s of sockets) s.destroy();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const prefixed = (body: Uint8Array) => {
  const out = new Uint8Array(body.length + 2);
  out[0] = body.length >> 8;
  out[1] = body.length & 0xff;
  out.set(body, 2);
  return out;
};

export interface FakeHsmOptions {
  labKeyHex?: string;
  /** Error code to answer (default "00"). */
  error?: () => string;
  /** Delay before each answer, ms (default 0). */
  delayMs?: () => number;
}

export interface FakeHsm extends Backend {
  /** A0 requests received. */
  readonly requests: { tid: string; layout: string }[];
  /** The clear keys issued per TID (the last sign-in's). */
  readonly keys: Map<string, WorkingKeys>;
}

/** An HSM that generates random working keys and wraps them under deriveTmk(labKey, TID). */
export async function startFakeHsm(options: FakeHsmOptions = {}): Promise<FakeHsm> {
  const labKey = fromHex(options.labKeyHex ?? DEFAULT_LAB_KEY_HEX);
  const requests: { tid: string; layout: string }[] = [];
  const keys = new Map<string, WorkingKeys>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    const reassembler = new FrameReassembler();
    socket.on("data", (chunk) => {
      for (const body of reassembler.push(chunk)) {
        const text = Buffer.from(body).toString("latin1");
        const header = text.slice(0, 4);
        const command = text.slice(4, 6);
        let answer: string;
        let f62: Uint8Array | undefined;
        if (command !== "A0") {
          answer = `${header}${command[0]}${String.fromCharCode(command.charCodeAt(1) + 1)}10`;
        } else {
          const tid = text.slice(6, 14);
          const layout = text.slice(14, 17) as KeyLayout;
          requests.push({ tid, layout });
          const error = options.error?.() ?? "00";
          answer = `${header}A1${error}`;
          if (error === "00") {
            const generated: WorkingKeys =
              layout === "001"
                ? { pik: randomBytes(8), mak: randomBytes(8) }
                : { pik: randomBytes(16), mak: randomBytes(8), tdk: randomBytes(16) };
            keys.set(tid, generated);
            f62 = wrapWorkingKeys(generated, deriveTmk(labKey, tid), layout);
            answer += String(f62.length).padStart(4, "0");
          }
        }
        const head = Buffer.from(answer, "latin1");
        const out = prefixed(f62 ? Buffer.concat([head, f62]) : head);
        const delay = options.delayMs?.() ?? 0;
        if (delay > 0) setTimeout(() => socket.write(out), delay);
        else socket.write(out);
      }
    });
  });
  const backend = await listen(server, sockets);
  return { ...backend, requests, keys };
}

/** What the fake issuer does with one request: answer (after `delayMs`) with `code`, or stay silent. */
export type IssuerAction = { code?: string; delayMs?: number; silent?: boolean };

export interface FakeIssuerOptions {
  /** Decides per request (default: approve at once; reversals answered from the ledger). */
  decide?: (request: Frame) => IssuerAction | undefined;
  /** Keep every request in `received` and approvals in `ledger` (default true; off for benchmarks). */
  record?: boolean;
}

export interface FakeIssuer extends Backend {
  /** Every request received, in arrival order. */
  readonly received: Frame[];
  /** TID + STAN of approved purchases, and whether each was reversed. */
  readonly ledger: Map<string, { reversed: boolean }>;
}

/** An issuer on persistent connections: 0200 → 0210, 0400 → 0410 (00 reversed, 12 declined, 25 not found), 0820 → 0830. */
export async function startFakeIssuer(options: FakeIssuerOptions = {}): Promise<FakeIssuer> {
  const received: Frame[] = [];
  const ledger = new Map<string, { reversed: boolean }>();
  const declined = new Set<string>();
  const sockets = new Set<net.Socket>();
  let auth = 0;
  const record = options.record ?? true;
  const server = net.createServer((socket) => {
    const reassembler = new FrameReassembler();
    socket.on("data", (chunk) => {
      for (const body of reassembler.push(chunk)) {
        const request = decodeFrame(body, { lengthPrefix: false });
        if (record) received.push(request);
        const action = options.decide?.(request) ?? {};
        if (action.silent) continue;
        const answer = () => {
          if (socket.destroyed) return;
          const f = request.message.fields;
          const txKey = String(f[41]) + String(f[11]);
          const fields: Fields = {
            ...f,
            64: undefined,
            35: undefined,
            52: undefined,
            53: undefined,
            26: undefined,
          };
          let code = action.code;
          switch (request.message.mti) {
            case "0200":
              code ??= "00";
              if (code === "00") {
                if (record) ledger.set(txKey, { reversed: false });
                fields[38] = String(++auth % 1_000_000).padStart(6, "0");
              } else {
                declined.add(txKey);
              }
              break;
            case "0400": {
              const entry = ledger.get(txKey);
              if (entry) entry.reversed = true;
              code ??= entry ? "00" : declined.has(txKey) ? "12" : "25";
              break;
            }
            default:
              code ??= "00";
          }
          fields[39] = code;
          socket.write(
            encodeFrame({
              tpdu: replyTpdu(request.tpdu),
              header: request.header,
              message: { mti: replyMti(request.message.mti), fields },
            }),
          );
        };
        if (action.delayMs) setTimeout(answer, action.delayMs);
        else answer();
      }
    });
  });
  const backend = await listen(server, sockets);
  return { ...backend, received, ledger };
}
