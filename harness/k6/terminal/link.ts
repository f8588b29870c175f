import { clearTimeout, setTimeout } from "k6/timers";
import { Socket } from "k6/x/tcp";
import { CodecError, FrameReassembler } from "../../protocol/index.ts";
import type { Outcome } from "../plan.ts";
import { classifySocketError, errorMessage } from "./outcome.ts";

// One TCP connection of a terminal to the switch, with the terminal's own timers: k6/x/tcp has a fixed 30 s
// dial and no response timeout, so connect() races a k6/timers timer (expiry destroys the socket) and every
// exchange has one too. A link serves one exchange at a time: write a frame, wait for one reply frame.

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

export class Link {
  private readonly host: string;
  private readonly port: number;
  private socket: Socket | undefined;
  private reassembler = new FrameReassembler();
  private waiter: ((event: WaitEvent) => void) | undefined;
  /** Date.now() of the last completed exchange, for the long link's heartbeat. */
  lastActivity = 0;

  constructor(target: { host: string; port: number }) {
    this.host = target.host;
    this.port = target.port;
  }

  get open(): boolean {
    return this.socket !== undefined && this.socket.ready_state === "open";
  }

  /** Opens the socket within `timeoutMs`; a failure to classify, or undefined once open. */
  async connect(timeoutMs: number): Promise<LinkFailure | undefined> {
    this.destroy();
    const socket = new Socket();
    this.socket = socket;
    this.reassembler = new FrameReassembler();
    // The last 'error' message of this socket: 'close' follows it for a failed read (reset).
    let lastError: string | undefined;
    // The reassembler copies each chunk into its own buffer, so no chunk is kept past the handler.
    socket.on("data", (chunk) => this.onData(socket, chunk));
    socket.on("error", (error) => {
      lastError = error.message;
    });
    socket.on("close", () => this.onClose(socket, lastError));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      socket.destroy();
    }, timeoutMs);
    try {
      await socket.connect(this.port, this.host);
      this.lastActivity = Date.now();
      return undefined;
    } catch (error) {
      if (this.socket === socket) this.socket = undefined;
      socket.destroy();
      if (timedOut) {
        return {
          ok: false,
          outcome: "timeout.connect",
          written: false,
          detail: `no connection within ${timeoutMs}ms`,
        };
      }
      const detail = errorMessage(error);
      return { ok: false, outcome: classifySocketError(detail, "connect"), written: false, detail };
    } finally {
      clearTimeout(timer);
    }
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
    if (socket === undefined || socket.ready_state !== "open") {
      return { ok: false, outcome: "closed", written: false, detail: "link is not open" };
    }
    const reply = new Promise<WaitEvent>((resolve) => {
      this.waiter = resolve;
    });
    const timer = setTimeout(
      () =>
        this.settle({ kind: "failed", outcome: timeoutOutcome, detail: `no reply within ${timeoutMs}ms` }),
      timeoutMs,
    );
    try {
      try {
        await socket.write(frame);
      } catch (error) {
        this.waiter = undefined;
        const detail = errorMessage(error);
        return { ok: false, outcome: classifySocketError(detail, "write"), written: false, detail };
      }
      const event = await reply;
      if (event.kind === "failed")
        return { ok: false, outcome: event.outcome, written: true, detail: event.detail };
      this.lastActivity = Date.now();
      return { ok: true, body: event.body };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the socket (safe in any state); an exchange still waiting ends as `closed`. */
  destroy(): void {
    const socket = this.socket;
    this.socket = undefined;
    socket?.destroy();
    this.settle({ kind: "failed", outcome: "closed", detail: "link closed by the terminal" });
  }

  private settle(event: WaitEvent): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.(event);
  }

  private onData(socket: Socket, chunk: Uint8Array): void {
    if (socket !== this.socket) return;
    let frames: Uint8Array[];
    try {
      frames = this.reassembler.push(chunk);
    } catch (error) {
      const detail = error instanceof CodecError ? error.message : errorMessage(error);
      this.settle({ kind: "failed", outcome: "protocol", detail: `unframeable reply: ${detail}` });
      this.destroy();
      return;
    }
    for (const body of frames) {
      if (body.length === 0) continue; // a zero-length frame: some links' heartbeat
      // A frame nobody waits for (none should come: one exchange at a time) is dropped.
      this.settle({ kind: "frame", body });
    }
  }

  private onClose(socket: Socket, error: string | undefined): void {
    if (socket !== this.socket) return; // destroyed by us, or an earlier socket of this link
    this.socket = undefined;
    const outcome = error === undefined ? "closed" : classifySocketError(error, "read");
    this.settle({ kind: "failed", outcome, detail: error ?? "peer closed the connection" });
  }
}
