import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";
import { encodeFrame, fromHex, toHex } from "../../protocol/index.ts";
import { frameVectors } from "../../protocol/testing/vectors.ts";
import { buildParser } from "../parser.ts";
import { decodeHexFrame } from "./decode.ts";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const sale = frameVectors.find((v) => v.id === "cup-0200-easy8583-ic-sale-mac")!;
const pan = sale.fields["2"] as string;

let stdout: MockInstance;
let stderr: MockInstance;
const printed = () => stdout.mock.calls.map((call) => String(call[0])).join("");
const complained = () => stderr.mock.calls.map((call) => String(call[0])).join("");

async function run(...argv: string[]): Promise<number | undefined> {
  process.exitCode = undefined;
  await buildParser(["decode", ...argv]).parseAsync();
  const code = process.exitCode;
  process.exitCode = undefined;
  return code === undefined ? undefined : Number(code);
}

beforeEach(() => {
  stdout = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
});
afterEach(() => vi.restoreAllMocks());

describe("posstorm decode", () => {
  it("prints the frame as pretty JSON with card data masked, exit 0", async () => {
    expect(await run(sale.hex)).toBe(0);
    const output = printed();
    expect(output).toMatch(/^\{\n {2}"form": "length-prefixed",/);
    const description = JSON.parse(output);
    expect(description.mti).toBe("0200");
    expect(description.fields["2"]).toEqual({
      name: "primaryAccountNumber",
      value: "6210 81** **** ***4 940",
      masked: true,
    });
    expect(output).not.toContain(pan);
    expect(complained()).toBe("");
  });

  it("shows card data with --unmask", async () => {
    expect(await run("--unmask", sale.hex)).toBe(0);
    expect(JSON.parse(printed()).fields["2"].value).toBe(pan);
  });

  it("accepts the frame without its length and starting at the MTI, whitespace anywhere", async () => {
    const spaced = sale.hex.slice(4).replace(/(.{8})/g, "$1 \n\t");
    expect(await run(spaced)).toBe(0);
    expect(JSON.parse(printed()).form).toBe("tpdu");
    expect(decodeHexFrame(sale.hex.slice(26)).form).toBe("mti");
  });

  it("reads a BCD length with --length-codec bcd", async () => {
    const frame = {
      tpdu: { id: "60", destination: "0003", source: "0000" },
      header: {
        applicationType: "60",
        version: "31",
        terminalStatus: 0,
        processingRequirement: 0,
        softwareVersion: "000000",
      },
      message: { mti: "0820", fields: { 11: "000001" } },
    };
    const hex = toHex(encodeFrame(frame, { lengthCodec: "bcd" }));
    expect(await run("--length-codec", "bcd", hex)).toBe(0);
    expect(JSON.parse(printed())).toMatchObject({
      form: "length-prefixed",
      length: Number(hex.slice(0, 4)),
      mti: "0820",
    });
  });

  it("prints the codec error to stderr and exits 2 on a bad frame", async () => {
    expect(await run(sale.hex.slice(0, 100))).toBe(2);
    expect(printed()).toBe("");
    expect(complained()).toBe("posstorm decode: length prefix says 280 bytes but 48 follow at offset 0\n");
  });

  it("never prints a PAN in an error", async () => {
    const bytes = fromHex(sale.hex);
    bytes[53] = 0x99; // F35's length prefix (after length, TPDU, header, MTI, bitmap, F2-F25): 99 digits
    expect(await run(toHex(bytes))).toBe(2);
    expect(complained()).toMatch(
      /^posstorm decode: field 35 \(track2\): length 99 exceeds max 37 at offset 53\n$/,
    );
    expect(complained()).not.toContain(pan.slice(0, 10));
  });

  it("rejects text that is not hex", async () => {
    expect(await run("60zz")).toBe(2);
    expect(complained()).toBe("posstorm decode: non-hex character at position 2\n");
  });
});

describe("bin/posstorm decode (child process)", () => {
  const posstorm = join(repo, "bin", "posstorm");

  it("reads the hex from stdin and exits 0", () => {
    const result = spawnSync(posstorm, ["decode"], {
      input: `${sale.hex}\n`,
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout).fields["11"]).toEqual({ name: "stan", value: "000020" });
  });

  it("exits 2 with the error on stderr", () => {
    const result = spawnSync(posstorm, ["decode", "0200"], { encoding: "utf8", timeout: 30_000 });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(
      "posstorm decode: truncated: MTI and bitmap need 10 bytes, 2 left at offset 0",
    );
  });
});
