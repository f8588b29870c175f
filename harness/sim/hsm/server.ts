import { readFileSync } from "node:fs";
import { asciiBytes, fromHex, parseTerminalKeys, tmkLookup } from "../../protocol/index.ts";
import { Registry } from "../common/metrics.ts";
import { serveProgram } from "../common/program.ts";
import { type FrameConnection, type Log, startFrameServer, throttledLog } from "../common/tcp-server.ts";
import { CapacityModel } from "./capacity.ts";
import { workingKeysFor } from "./keys.ts";
import {
  encodeResponse,
  FIRMWARE_ID,
  type HsmErrorCode,
  hsmCommands,
  hsmErrors,
  parseRequest,
  parseWorkingKeysRequest,
  workingKeysReplyBody,
} from "./protocol.ts";
import { type HsmConfig, type HsmOptions, hsmSettings, PROGRAM, resolveHsmConfig } from "./settings.ts";

export interface StartedHsm extends AsyncDisposable {
  /** Host command port. */
  readonly port: number;
  readonly adminPort: number;
  readonly metrics: Registry;
  /** The live settings (PUT /config changes them in place). */
  readonly config: HsmConfig;
  close(): Promise<void>;
}

export interface HsmHooks {
  /** Where log lines go (without the program prefix); silent by default. */
  log?: Log;
}

const knownCommands = new Set<string>(Object.values(hsmCommands));

/** Replies of one connection leave in request order: a slot is reserved per request and filled later. */
class OrderedReplies {
  private readonly slots: { body: Uint8Array | undefined }[] = [];
  private readonly connection: FrameConnection;
  constructor(connection: FrameConnection) {
    this.connection = connection;
  }
  reserve(): (body: Uint8Array) => void {
    const slot: { body: Uint8Array | undefined } = { body: undefined };
    this.slots.push(slot);
    return (body) => {
      slot.body = body;
      while (this.slots.length > 0 && this.slots[0]!.body) this.connection.send(this.slots.shift()!.body!);
    };
  }
}

/** Starts the HSM simulator: host command listener + admin API. Throws ConfigError on a bad setting. */
export async function startHsm(options: HsmOptions = {}, hooks: HsmHooks = {}): Promise<StartedHsm> {
  const given = Object.entries(options).filter(([, value]) => value !== undefined);
  const config = resolveHsmConfig({ overrides: Object.fromEntries(given) });
  const log = hooks.log ?? (() => {});
  const logMalformed = throttledLog(log);
  const labKey = fromHex(config.labKeyHex);
  // The terminals' own keys when a list is given (read once; a bad list stops the HSM at start, keys unprinted).
  const tmkOf = tmkLookup(
    labKey,
    config.terminalKeysFile
      ? parseTerminalKeys(readFileSync(config.terminalKeysFile, "utf8"), config.terminalKeysFile)
      : undefined,
  );
  const firmware = asciiBytes(FIRMWARE_ID);

  const metrics = new Registry();
  const calls = metrics.counter("hsm_calls_total", "host commands answered, by command and error code");
  const malformed = metrics.counter(
    "hsm_malformed_frames_total",
    "requests that were not a valid command (short, unknown command, bad body) or had a bad length",
  );
  const callSeconds = metrics.histogram("hsm_call_seconds", "queue wait + service time of served calls");
  const capacity = new CapacityModel(() => config);
  metrics.gauge("hsm_queue_depth", "calls waiting for a worker or a token").track(() => capacity.queueDepth);
  metrics.gauge("hsm_in_flight", "calls being served").track(() => capacity.inFlight);
  metrics
    .gauge("hsm_utilisation", "busy fraction of capacity over the last second (workers or calls/s), 0..1")
    .track(() => capacity.utilisation());

  const outputs = new WeakMap<FrameConnection, OrderedReplies>();

  const onFrame = (frame: Uint8Array, connection: FrameConnection) => {
    const request = parseRequest(frame);
    if (!request) {
      malformed.inc();
      logMalformed(
        `connection ${connection.id}: request of ${frame.length} bytes has no header and command; closing`,
      );
      connection.close();
      return;
    }
    let output = outputs.get(connection);
    if (!output) {
      output = new OrderedReplies(connection);
      outputs.set(connection, output);
    }
    const send = output.reserve();
    const command = knownCommands.has(request.command) ? request.command : "other";
    const reply = (error: HsmErrorCode, body?: Uint8Array) => {
      calls.inc({ command, error });
      send(encodeResponse(request.header, request.command, error, body));
    };
    const serve = (work: () => Uint8Array) => {
      const queued = capacity.submit(({ waitedMs, servedMs }) => {
        callSeconds.observe((waitedMs + servedMs) / 1000);
        let body: Uint8Array;
        try {
          body = work();
        } catch (error) {
          log(`connection ${connection.id}: ${request.command} failed: ${(error as Error).message}`);
          reply(hsmErrors.invalidInput);
          return;
        }
        reply(hsmErrors.ok, body);
      });
      if (!queued) reply(hsmErrors.busy);
    };

    switch (request.command) {
      case hsmCommands.diagnostics:
        serve(() => firmware);
        return;
      case hsmCommands.workingKeys: {
        const parsed = parseWorkingKeysRequest(request.body);
        if (typeof parsed === "string") {
          malformed.inc();
          logMalformed(`connection ${connection.id}: ${parsed}`);
          reply(hsmErrors.invalidInput);
          return;
        }
        serve(() => workingKeysReplyBody(workingKeysFor(tmkOf(parsed.tid), parsed.layout)));
        return;
      }
      default:
        malformed.inc();
        logMalformed(`connection ${connection.id}: unknown command ${JSON.stringify(request.command)}`);
        reply(hsmErrors.unknownCommand);
    }
  };

  const frames = await startFrameServer({
    host: config.host,
    port: config.port,
    maxFrameBytes: config.maxFrameBytes,
    malformedFrames: malformed,
    onFrame,
    log,
  });
  metrics.gauge("hsm_connections", "open host connections").track(() => frames.connections);

  const program = await serveProgram({
    listener: frames,
    admin: {
      program: PROGRAM,
      host: config.host,
      port: config.adminPort,
      registry: metrics,
      config: {
        spec: hsmSettings,
        values: config as unknown as Record<keyof typeof hsmSettings, unknown>,
        onChange: (changed) => {
          log(
            `config changed: ${changed.map((name) => `${name}=${JSON.stringify(config[name as keyof HsmConfig])}`).join(" ")}`,
          );
          capacity.poke();
        },
      },
    },
    stop: () => capacity.close(),
  });
  return { ...program, metrics, config };
}
