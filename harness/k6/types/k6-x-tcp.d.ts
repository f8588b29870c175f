/**
 * `k6/x/tcp`: raw TCP sockets for k6 scripts.
 *
 * Built into posstorm's k6 by the in-tree extension in `scripts/k6/tcp` (see scripts/k6/README.md).
 * It mirrors the async-first API of grafana/xk6-tcp v0.2.0+, so scripts also run on a k6 built with
 * the official extension. Only what both provide is declared here.
 *
 * Handlers run on the VU event loop. While a socket is open the iteration does not end, so
 * always `destroy()` a socket in `finally`. There is no connect timeout below the fixed 30 s dial
 * and no response timeout at all: scripts run their own timers (`k6/timers`).
 */
declare module "k6/x/tcp" {
  /** `disconnected` → `opening` (connect() pending) → `open` → `destroyed` (terminal). A failed
   * connect() returns to `disconnected`. */
  export type SocketState = "disconnected" | "opening" | "open" | "destroyed";

  export type SocketEvent = "connect" | "data" | "close" | "error" | "timeout";

  /** String encodings accepted by write(); `utf8` is the default. posstorm's build rejects a
   * character above 0x7F under `ascii` and malformed base64/hex input. */
  export type WriteEncoding = "utf8" | "utf-8" | "ascii" | "base64" | "base64url" | "hex";

  /** Tags added to the socket's metrics (tcp_*); later, more specific tags win. */
  export type Tags = Record<string, string>;

  export interface SocketOptions {
    tags?: Tags;
  }

  export interface ConnectOptions {
    /** 1-65535. */
    port: number | string;
    /** Host name or IP address; default `localhost`. */
    host?: string;
    tags?: Tags;
  }

  export interface WriteOptions {
    /** How a string `data` becomes bytes; ignored for binary data. Default `utf8`. */
    encoding?: WriteEncoding;
    tags?: Tags;
  }

  /**
   * The value of a connect()/write() rejection and of the 'error' event: a JavaScript `Error`
   * whose `message` is the Go error text, e.g. `dial tcp 127.0.0.1:9: connect: connection refused`,
   * `read tcp …: connection reset by peer`, `dial tcp …: i/o timeout`. Classify by `message`.
   */
  export interface SocketError extends Error {
    /** posstorm's build sets `TCPError`. */
    name: string;
    /** The failed operation, e.g. `connect`, `write`, `read`. */
    method?: string;
  }

  export class Socket {
    constructor(options?: SocketOptions);

    /** Current state. */
    readonly ready_state: SocketState;
    /** `ready_state === "open"`. */
    readonly connected: boolean;
    /** Bytes handed to the kernel by completed write() calls. */
    readonly bytes_written: number;
    /** Bytes received ('data' chunks), whether or not a handler consumed them. */
    readonly bytes_read: number;
    /** Local (ephemeral) port; undefined until connected. */
    readonly local_port: number | undefined;
    /** Remote port; undefined until connected. */
    readonly remote_port: number | undefined;

    /**
     * Connects (fixed 30 s dial timeout). Resolves once open, after the 'connect' event.
     * Rejects with a {@link SocketError} (and emits 'error' first, if a handler is set) when the
     * dial fails: refused, unreachable, timed out, or destroy() was called meanwhile.
     */
    connect(port: number | string, host?: string): Promise<void>;
    connect(options: ConnectOptions): Promise<void>;

    /**
     * Sends `data`; resolves when every byte is handed to the kernel. Writes go out in call order.
     * Rejects with a {@link SocketError} when the socket is not open, the input is invalid, or
     * the write fails. Binary data is copied, so the caller may reuse its buffer at once.
     */
    write(data: string | ArrayBuffer | Uint8Array, options?: WriteOptions): Promise<void>;

    /**
     * One handler per event; a later call replaces it. 'data' gets a chunk of whatever size TCP
     * delivered (copy it if you keep it: `new Uint8Array(chunk)`); 'close' fires exactly once,
     * when either side closes or on destroy(); 'error' precedes 'close' for a failed read (reset)
     * and accompanies a failed connect(); 'timeout' fires after setTimeout() ms of inactivity and
     * leaves the socket open. An exception thrown by a handler fails the iteration.
     */
    on(event: "connect", handler: () => void): this;
    on(event: "data", handler: (chunk: Uint8Array) => void): this;
    on(event: "close", handler: () => void): this;
    on(event: "error", handler: (error: SocketError) => void): this;
    on(event: "timeout", handler: () => void): this;

    /** Emit 'timeout' after `ms` without bytes read or written (and again after each further
     * `ms`); 0 disables. Does not close the socket. */
    setTimeout(ms: number): this;

    /** Closes the socket; 'close' fires once. Safe to call in any state, any number of times. */
    destroy(): this;
  }
}
