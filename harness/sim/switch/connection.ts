import type net from "node:net";
import { FrameReassembler, type MacKey } from "../../protocol/index.ts";
import type { ConnectionMode } from "./metrics.ts";

// A terminal's connection to the switch, and the session a sign-in leaves for its TID.

export interface Session {
  mak: MacKey;
  batch: string;
}

export class Connection {
  readonly socket: net.Socket;
  readonly reassembler = new FrameReassembler();
  mode: ConnectionMode = "short";
  requests = 0;

  constructor(socket: net.Socket) {
    this.socket = socket;
  }

  get alive(): boolean {
    return !this.socket.destroyed && this.socket.writable;
  }
}
