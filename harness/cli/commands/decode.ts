import type { CommandModule } from "yargs";
import {
  CodecError,
  decodeCapture,
  describeFrame,
  type FrameDescription,
  fromHex,
  type LengthCodec,
} from "../../protocol/index.ts";

interface DecodeArgs {
  hex: string | undefined;
  unmask: boolean;
  "length-codec": LengthCodec;
}

export interface DecodeOptions {
  /** Show card data (PAN, track, PIN block, chip data) in clear. */
  unmask?: boolean;
  lengthCodec?: LengthCodec;
}

/**
 * Decodes a frame given as hex text (whitespace anywhere is ignored): with its 2-byte length, without it, or
 * starting at the MTI. Throws CodecError for anything that is not a frame.
 */
export function decodeHexFrame(text: string, options: DecodeOptions = {}): FrameDescription {
  const hex = text.replace(/\s+/g, "");
  if (hex === "") throw new CodecError("no hex given: pass it as an argument or on stdin");
  const capture = decodeCapture(fromHex(hex), { lengthCodec: options.lengthCodec ?? "binary" });
  return describeFrame(capture, { unmask: options.unmask ?? false });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export const decodeCommand: CommandModule<object, DecodeArgs> = {
  command: "decode [hex]",
  describe:
    "Decode a UnionPay POS ISO 8583 frame from hex (argument or stdin) and print it as JSON, card data masked",
  builder: (y) =>
    y
      .positional("hex", {
        type: "string",
        describe:
          "the frame in hex, with or without its length prefix, or starting at the MTI; read from stdin when absent",
      })
      .option("unmask", {
        type: "boolean",
        default: false,
        describe: "show card data (PAN, track, PIN block, chip data) in clear",
      })
      .option("length-codec", {
        choices: ["binary", "bcd"] as const,
        default: "binary" as const,
        describe: "how the 2-byte length prefix is written",
      }),
  handler: async (argv) => {
    const text = argv.hex ?? (await readStdin());
    try {
      const description = decodeHexFrame(text, { unmask: argv.unmask, lengthCodec: argv["length-codec"] });
      process.stdout.write(`${JSON.stringify(description, null, 2)}\n`);
      process.exitCode = 0;
    } catch (error) {
      if (!(error instanceof CodecError)) throw error;
      process.stderr.write(`posstorm decode: ${error.message}\n`);
      process.exitCode = 2;
    }
  },
};
