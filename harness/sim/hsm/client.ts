import net from "node:net";
import { FrameReassembler, type KeyLayout, readAscii } from "../../protocol/index.ts";
import {
  encodeRequest,
  type HsmResponse,
  hsmCommands,
  hsmErrors,
  parseResponse,
  parseWorkingKeysReply,
  responseCodeOf,
  workingKeysRequestBody,
} from "./protocol.ts";

// A client of the HSM host command protocol (README.md): one TCP connection, many calls outstanding on it.
// Replies come back in request order; each request carries a fresh 4-digit header that the reply echoes, so a
// reply is matched to the oldest outstanding call with its header. Calls older than the matched one that never
// got a reply (lost requests) are dropped; a call that timed out keeps its place until its late reply arrives.
// When the connection closes, the outstanding calls fail and the next call connects again.

/** Why a call failed without an HSM answer. */
export type HsmFailure =
  /** No reply within the call's timeout (connecting included). */
  | "timeout"
  /** The connection closed (or the client was closed) before the reply came. */
  | "closed"
  /** No connection could be made. */
  | "connect"
  /** A reply that does not fit the protocol, or a later call's reply came first. */
  | "protocol"
  /** Too many calls outstanding on the connection. */
  | "overloaded";

export class HsmError extends Error {
  override readonly name = "HsmError";
  readonly reason: HsmFailure;
  constructor(reason: HsmFailure, message: string) {
    super(message);
    this.reason = reason;
  }
}

export interface HsmClientOptions {
  /** Timeout of a call without its own, in ms, connecting included (default 5000). */
  timeoutMs?: number;
  /**
   * Calls on one connection (timed-out ones still awaiting their late reply included) beyond which a new call
   * fails with `overloaded` (default 4096; at most 9999, the header space).
   */
  maxOutstanding?: number;
}

export interface HsmCallOptions {
  /** This call's timeout, in ms, connecting included. */
  timeoutMs?: number;
}

/** An A0 answer: `error` is the HSM's error code; `f62` is the 0810's F62 when `error` is `00`, else empty. */
export interface WorkingKeysResult {
  f62: Uint8Array;
  error: string;
}

export interface DiagnosticsResult {
  firmware: string;
  error: string;
}

interface Outstanding {
  header: string;
  command: string;
  /** Timed out: the caller has its error; the reply, when it comes, is dropped. */
  abandoned: boolean;
  resolve(response: HsmResponse): void;
  reject(error: HsmError): void;
}

interface Connection {
  socket: net.Socket;
  outstanding: Outstanding[];
}

const HEADER_SPACE = 10_000;

export class HsmClient {
  private readonly timeoutMs: number;
  private readonly maxOutstanding: number;
  private target: { host: string; port: number } | undefined;
  private connection: Connection | undefined;
  private connecting: Promise<Connection> | undefined;
  private nextHeader = 0;
  private closed = false;

  constructor(options: HsmClientOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.maxOutstanding = Math.min(options.maxOutstanding ?? 4096, HEADER_SPACE - 1);
  }

  /** A client connected to host:port. */
  static async connect(host: string, port: number, options: HsmClientOptions = {}): Promise<HsmClient> {
    const client = new HsmClient(options);
    await client.connect(host, port);
    return client;
  }

  /** Sets the HSM's address and connects; later calls reconnect on their own after a close. */
  async connect(host: string, port: number): Promise<void> {
    if (this.closed) throw new HsmError("closed", "HSM client is closed");
    this.target = { host, port };
    this.connection?.socket.destroy();
    this.connection = undefined;
    this.connecting = undefined;
    await this.open();
  }

  get connected(): boolean {
    return this.connection !== undefined;
  }

  /** Calls sent and not answered yet on the current connection (timed-out ones included). */
  get outstanding(): number {
    return this.connection?.outstanding.length ?? 0;
  }

  /** A0: working keys for terminal `tid` (8 characters) in `layout`, wrapped under its TMK. */
  async workingKeys(
    tid: string,
    layout: KeyLayout,
    options: HsmCallOptions = {},
  ): Promise<WorkingKeysResult> {
    const response = await this.call(hsmCommands.workingKeys, workingKeysRequestBody(tid, layout), options);
    if (response.error !== hsmErrors.ok) return { f62: new Uint8Array(0), error: response.error };
    const f62 = parseWorkingKeysReply(response.body, layout);
    if (typeof f62 === "string") throw new HsmError("protocol", f62);
    return { f62, error: response.error };
  }

  /** NC: the HSM's firmware id (`posstorm-hsm`). */
  async diagnostics(options: HsmCallOptions = {}): Promise<DiagnosticsResult> {
    const response = await this.call(hsmCommands.diagnostics, new Uint8Array(0), options);
    return { firmware: readAscii(response.body), error: response.error };
  }

  /** Any command: resolves with the reply (whatever its error code), rejects with HsmError. */
  call(command: string, body: Uint8Array, options: HsmCallOptions = {}): Promise<HsmResponse> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    return new Promise<HsmResponse>((resolve, reject) => {
      let settled = false;
      const entry: Outstanding = {
        header: "",
        command,
        abandoned: false,
        resolve: (response) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(response);
        },
        reject: (error) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        entry.abandoned = true;
        entry.reject(new HsmError("timeout", `HSM ${command} got no reply in ${timeoutMs}ms`));
      }, timeoutMs);
      if (this.closed) {
        entry.reject(new HsmError("closed", "HSM client is closed"));
        return;
      }
      this.open().then(
        (connection) => {
          if (settled) return;
          if (connection.socket.destroyed || connection !== this.connection) {
            entry.reject(new HsmError("closed", `HSM connection closed before ${command} was sent`));
            return;
          }
          if (connection.outstanding.length >= this.maxOutstanding) {
            entry.reject(
              new HsmError(
                "overloaded",
                `${connection.outstanding.length} HSM calls outstanding on the connection (max ${this.maxOutstanding})`,
              ),
            );
            return;
          }
          entry.header = String(this.nextHeader).padStart(4, "0");
          this.nextHeader = (this.nextHeader + 1) % HEADER_SPACE;
          connection.outstanding.push(entry);
          const frame = encodeRequest(entry.header, command, body);
          const out = Buffer.allocUnsafe(2 + frame.length);
          out.writeUInt16BE(frame.length, 0);
          out.set(frame, 2);
          connection.socket.write(out);
        },
        (error: HsmError) => entry.reject(error),
      );
    });
  }

  /** Closes the connection; outstanding calls fail with `closed`, and no call reconnects. */
  async close(): Promise<void> {
    this.closed = true;
    const socket = this.connection?.socket;
    this.connecting = undefined;
    if (!socket || socket.destroyed) return;
    await new Promise<void>((resolve) => {
      socket.once("close", () => resolve());
      socket.destroy();
    });
  }

  private open(): Promise<Connection> {
    if (this.connection) return Promise.resolve(this.connection);
    if (this.closed) return Promise.reject(new HsmError("closed", "HSM client is closed"));
    const target = this.target;
    if (!target) {
      return Promise.reject(
        new HsmError("connect", "HSM client has no address: call connect(host, port) first"),
      );
    }
    this.connecting ??= new Promise<Connection>((resolve, reject) => {
      const socket = net.connect({ host: target.host, port: target.port });
      const connection: Connection = { socket, outstanding: [] };
      const timer = setTimeout(
        () => socket.destroy(new Error(`no connection within ${this.timeoutMs}ms`)),
        this.timeoutMs,
      );
      const failed = (error: Error) => {
        clearTimeout(timer);
        if (this.connecting === pending) this.connecting = undefined;
        reject(
          new HsmError("connect", `cannot connect to HSM ${target.host}:${target.port}: ${error.message}`),
        );
      };
      socket.once("error", failed);
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.off("error", failed);
        socket.setNoDelay(true);
        if (this.closed || this.connecting !== pending) {
          socket.destroy();
          reject(new HsmError("closed", "HSM client is closed"));
          return;
        }
        this.wire(connection);
        this.connection = connection;
        this.connecting = undefined;
        resolve(connection);
      });
    });
    const pending = this.connecting;
    return pending;
  }

  private wire(connection: Connection): void {
    const { socket } = connection;
    const reassembler = new FrameReassembler({ maxFrameBytes: 0xffff });
    let failure: { kind: HsmFailure; why: string } | undefined;
    const fail = (kind: HsmFailure, why: string) => {
      failure ??= { kind, why };
      socket.destroy();
    };
    socket.on("data", (chunk: Buffer) => {
      let frames: Uint8Array[];
      try {
        frames = reassembler.push(chunk);
      } catch (error) {
        fail("protocol", `bad reply framing: ${(error as Error).message}`);
        return;
      }
      for (const frame of frames) {
        if (socket.destroyed) return;
        const response = parseResponse(frame);
        if (!response) {
          fail("protocol", `reply of ${frame.length} bytes is shorter than header + response + error`);
          return;
        }
        const at = connection.outstanding.findIndex((entry) => entry.header === response.header);
        if (at < 0) {
          fail(
            "protocol",
            `reply with header ${JSON.stringify(response.header)} matches no outstanding call`,
          );
          return;
        }
        for (const lost of connection.outstanding.splice(0, at)) {
          lost.reject(
            new HsmError("protocol", `HSM answered a later call first: ${lost.command} got no reply`),
          );
        }
        const entry = connection.outstanding.shift()!;
        if (entry.abandoned) continue;
        const expected = responseCodeOf(entry.command);
        if (response.response !== expected) {
          entry.reject(
            new HsmError(
              "protocol",
              `HSM answered ${entry.command} with ${JSON.stringify(response.response)}, expected ${expected}`,
            ),
          );
          continue;
        }
        entry.resolve(response);
      }
    });
    socket.on("error", (error) => fail("closed", error.message));
    socket.on("close", () => {
      if (this.connection === connection) this.connection = undefined;
      const reason = failure ? `: ${failure.why}` : "";
      const kind = failure?.kind ?? "closed";
      for (const entry of connection.outstanding.splice(0)) {
        entry.reject(
          new HsmError(kind, `HSM connection closed before ${entry.command} was answered${reason}`),
        );
      }
    });
  }
}
