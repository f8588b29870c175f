import net from "node:net";
import { CodecError, FrameReassembler } from "../protocol/index.ts";
import { nowMs } from "./clock.ts";
import { classifyNetError } from "./net-errors.ts";
import { errorMessage } from "./outcome.ts";
import type { Outcome } from "./plan.ts";

// One TCP connection of a terminal to the switch (node:net), with the terminal's own timers: connect() races
// a timer whose expiry destroys the socket (`timeout.connect`), and every exchange has a reply timer. A link
// serves one exchange at a time: write a frame, wait for one reply frame.
//
// Memory: a link holds no reassembler while nothing is buffered (an idle long link keeps only its socket).

/** Why an exchange produced no reply. `written`: the request reached the kernel (a reply may have been due). */
export interface LinkFailure {
  ok: false;
  outcome: Outcome;
  written: boolean;
  /** For logs; never card data. */
  detail: string;
}

/** A reply frame: the bytes after the length (TPDU first), as decodeFrame and verifyFrameMac take them. */
export interface LinkReply {
  ok: true;
  body: Uint8Array;
}

type WaitEvent = { kind: "frame"; body: Uint8Array } | { kind: "failed"; outcome: Outcome; detail: string };

const NOT_OPEN: LinkFailure = { ok: false, outcome: "closed", written: false, detail: "link is not open" };

export class Link {
  private readonly host: string;
  private readonly port: number;
  private socket: net.Socket | undefined;
  private reassembler: FrameReassembler | undefined;
  private waiter: ((event: WaitEvent) => void) | undefined;
  /** nowMs() of the last completed exchange (or of the connect), for the long link's heartbeat. */
  lastActivity = 0;

  private readonly sockets: { opened: number } | undefined;

  /** `sockets.opened` counts each connection this link opens. */
  constructor(target: { host: string; port: number }, sockets?: { opened: number }) {
    this.host = target.host;
    this.port = target.port;
    this.sockets = sockets;
  }

  get open(): boolean {
    const socket = this.socket;
    return socket !== undefined && !socket.destroyed && socket.readyState === "open";
  }

  /** Opens the socket within `timeoutMs`; a failure to classify, or undefined once open. */
  connect(timeoutMs: number): Promise<LinkFailure | undefined> {
    this.destroy();
    const socket = new net.Socket();
    this.socket = socket;
    this.reassembler = undefined;
    // The last error of this socket: 'close' follows it for a failed read (reset).
    let lastError: unknown;
    socket.on("data", (chunk: Buffer) => this.onData(socket, chunk));
    socket.on("error", (error) => {
      lastError = error;
    });
    socket.on("close", () => this.onClose(socket, lastError));
    return new Promise((resolve) => {
      let settled = false;
      const done = (failure: LinkFailure | undefined) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.off("connect", onConnect);
        socket.off("error", onError);
        socket.off("close", onClosed);
        if (failure !== undefined) {
          if (this.socket === socket) this.socket = undefined;
          socket.destroy();
        }
        resolve(failure);
      };
      const onConnect = () => {
        socket.setNoDelay(true);
        if (this.sockets) this.sockets.opened++;
        this.lastActivity = nowMs();
        done(undefined);
      };
      const onError = (error: unknown) => {
        const detail = errorMessage(error);
        done({ ok: false, outcome: classifyNetError(error, "connect"), written: false, detail });
      };
      // Destroyed while connecting (the terminal aborted): no 'error' comes, only 'close'.
      const onClosed = () => {
        done({ ok: false, outcome: "closed", written: false, detail: "link closed while connecting" });
      };
      const timer = setTimeout(() => {
        done({
          ok: false,
          outcome: "timeout.connect",
          written: false,
          detail: `no connection within ${timeoutMs}ms`,
        });
      }, timeoutMs);
      socket.once("connect", onConnect);
      socket.once("error", onError);
      socket.once("close", onClosed);
      socket.connect({ port: this.port, host: this.host });
    });
  }

  /**
   * Writes `frame` and waits up to `timeoutMs` for one reply frame. On expiry the outcome is `timeoutOutcome`
   * (`timeout.response`, or `timeout.idle` for an echo). After a failure the link is useless: destroy it.
   */
  async exchange(
    frame: Uint8Array,
    timeoutMs: number,
    timeoutOutcome: Extract<Outcome, "timeout.response" | "timeout.idle">,
  ): Promise<LinkReply | LinkFailure> {
    const socket = this.socket;
    if (socket === undefined || socket.destroyed || socket.readyState !== "open") return NOT_OPEN;
    let written = false;
    const event = await new Promise<WaitEvent | LinkFailure>((resolve) => {
      const timer = setTimeout(
        () =>
          this.settle({ kind: "failed", outcome: timeoutOutcome, detail: `no reply within ${timeoutMs}ms` }),
        timeoutMs,
      );
      this.waiter = (e) => {
        clearTimeout(timer);
        resolve(e);
      };
      socket.write(frame, (error) => {
        if (error == null) {
          written = true;
          return;
        }
        // The write failed before reaching the kernel: no reply can be due.
        if (this.waiter === undefined) return;
        this.waiter = undefined;
        clearTimeout(timer);
        const detail = errorMessage(error);
        resolve({ ok: false, outcome: classifyNetError(error, "write"), written: false, detail });
      });
    });
    if ("ok" in event) return event;
    if (event.kind === "failed") return { ok: false, outcome: event.outcome, written, detail: event.detail };
    this.lastActivity = nowMs();
    return { ok: true, body: event.body };
  }

  /** Writes `frame` and reads nothing: true once it reached the kernel, false when it could not be written. */
  send(frame: Uint8Array): Promise<boolean> {
    const socket = this.socket;
    if (socket === undefined || socket.destroyed || socket.readyState !== "open")
      return Promise.resolve(false);
    return new Promise((resolve) => socket.write(frame, (error) => resolve(error == null)));
  }

  /** Closes the socket (safe in any state); an exchange still waiting ends as `closed`. */
  destroy(): void {
    const socket = this.socket;
    this.socket = undefined;
    this.reassembler = undefined;
    socket?.destroy();
    this.settle({ kind: "failed", outcome: "closed", detail: "link closed by the terminal" });
  }

  private settle(event: WaitEvent): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.(event);
  }

  private onData(socket: net.Socket, chunk: Uint8Array): void {
    if (socket !== this.socket) return;
    let frames: Uint8Array[];
    try {
      this.reassembler ??= new FrameReassembler();
      frames = this.reassembler.push(chunk);
    } catch (error) {
      const detail = error instanceof CodecError ? error.message : errorMessage(error);
      this.settle({ kind: "failed", outcome: "protocol", detail: `unframeable reply: ${detail}` });
      this.destroy();
      return;
    }
    if (this.reassembler.buffered === 0) this.reassembler = undefined;
    for (const body of frames) {
      if (body.length === 0) continue; // a zero-length frame: some links' heartbeat
      // A frame nobody waits for (none should come: one exchange at a time) is dropped.
      this.settle({ kind: "frame", body });
    }
  }

  private onClose(socket: net.Socket, error: unknown): void {
    if (socket !== this.socket) return; // destroyed by us, or an earlier socket of this link
    this.socket = undefined;
    this.reassembler = undefined;
    const outcome = error === undefined ? "closed" : classifyNetError(error, "read");
    this.settle({
      kind: "failed",
      outcome,
      detail: error === undefined ? "peer closed the connection" : errorMessage(error),
    });
  }
}
