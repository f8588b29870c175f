import { CodecError } from "../errors.ts";
import { LENGTH_BYTES, type LengthCodec, maxFrameLength, readFrameLength } from "./length.ts";

export interface ReassemblerOptions {
  /** Codec of the 2-byte length: `binary` (default) or `bcd`. */
  lengthCodec?: LengthCodec;
  /** Largest frame body accepted, in bytes (default 8192); a larger length is a CodecError. */
  maxFrameBytes?: number;
}

/**
 * Cuts a TCP byte stream into frames by their 2-byte length. Push chunks of any size (one byte, several frames)
 * and get back the complete frame bodies (TPDU first, length removed), each a fresh copy. A zero length is
 * returned as an empty body (some long links use it as a heartbeat). After a CodecError the stream is out of
 * step: close the connection.
 */
export class FrameReassembler {
  readonly lengthCodec: LengthCodec;
  readonly maxFrameBytes: number;
  private buffer = new Uint8Array(1024);
  private start = 0;
  private end = 0;
  /** Stream offset of `buffer[start]`, for error messages. */
  private streamOffset = 0;

  constructor(options: ReassemblerOptions = {}) {
    this.lengthCodec = options.lengthCodec ?? "binary";
    this.maxFrameBytes = Math.min(options.maxFrameBytes ?? 8192, maxFrameLength[this.lengthCodec]);
  }

  /** Bytes received but not yet returned as a frame. */
  get buffered(): number {
    return this.end - this.start;
  }

  push(chunk: Uint8Array): Uint8Array[] {
    this.append(chunk);
    const frames: Uint8Array[] = [];
    while (this.end - this.start >= LENGTH_BYTES) {
      const length = this.frameLength();
      const total = LENGTH_BYTES + length;
      if (this.end - this.start < total) break;
      frames.push(this.buffer.slice(this.start + LENGTH_BYTES, this.start + total));
      this.start += total;
      this.streamOffset += total;
    }
    if (this.start === this.end) {
      this.start = 0;
      this.end = 0;
    }
    return frames;
  }

  private frameLength(): number {
    let length: number;
    try {
      length = readFrameLength(this.buffer, this.start, this.lengthCodec);
    } catch {
      throw new CodecError("frame length is not BCD", { offset: this.streamOffset });
    }
    if (length > this.maxFrameBytes) {
      throw new CodecError(`frame length ${length} exceeds max ${this.maxFrameBytes}`, {
        offset: this.streamOffset,
      });
    }
    return length;
  }

  private append(chunk: Uint8Array): void {
    const needed = this.end - this.start + chunk.length;
    if (this.end + chunk.length > this.buffer.length) {
      if (needed > this.buffer.length) {
        const grown = new Uint8Array(Math.max(needed, this.buffer.length * 2));
        grown.set(this.buffer.subarray(this.start, this.end), 0);
        this.buffer = grown;
      } else {
        this.buffer.copyWithin(0, this.start, this.end);
      }
      this.end -= this.start;
      this.start = 0;
    }
    this.buffer.set(chunk, this.end);
    this.end += chunk.length;
  }
}
