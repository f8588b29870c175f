import { isDeepStrictEqual } from "node:util";
import { ChaosError } from "./toxiproxy.ts";

// Backend faults go through the simulators' admin API: PUT /config changes runtime settings, GET
// /config reads them back. This file is the seam (fetch with a timeout on every call) and the
// verified change that backend faults use.

export type Settings = Record<string, unknown>;

export interface ConfigApi {
  get(adminUrl: string): Promise<Settings>;
  /** Answers the program's `{ changed, config }`. */
  put(adminUrl: string, patch: Settings): Promise<{ changed: string[]; config: Settings }>;
}

export function httpConfigApi(timeoutMs = 5_000): ConfigApi {
  const call = async (method: "GET" | "PUT", url: string, body?: Settings) => {
    let response: Response;
    try {
      response = await fetch(`${url}/config`, {
        method,
        ...(body ? { body: JSON.stringify(body), headers: { "content-type": "application/json" } } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const reason =
        error instanceof Error && error.name === "TimeoutError"
          ? `no answer after ${timeoutMs}ms`
          : error instanceof Error
            ? ((error.cause as Error | undefined)?.message ?? error.message)
            : String(error);
      throw new ChaosError(`${method} ${url}/config: ${reason}`, {}, error);
    }
    const text = await response.text();
    if (!response.ok) {
      let detail = text;
      try {
        detail = (JSON.parse(text) as { error?: string }).error ?? text;
      } catch {
        // not JSON: keep the text
      }
      throw new ChaosError(`${method} ${url}/config: HTTP ${response.status}: ${detail}`, {});
    }
    return JSON.parse(text) as unknown;
  };
  return {
    get: async (url) => (await call("GET", url)) as Settings,
    put: async (url, patch) => (await call("PUT", url, patch)) as { changed: string[]; config: Settings },
  };
}

/**
 * PUTs `patch` on `role`'s admin API and reads it back with GET /config: every setting must read back
 * as the program stored it (its PUT answer) and, when it was a plain number, boolean or string, as
 * asked. Returns the values the settings had before, to restore them.
 */
export async function changeConfig(api: ConfigApi, role: string, adminUrl: string, patch: Settings) {
  const before = await api.get(adminUrl);
  const previous: Settings = {};
  for (const name of Object.keys(patch)) {
    if (!(name in before)) {
      throw new ChaosError(`${role} has no setting ${name} (GET ${adminUrl}/config)`, {});
    }
    previous[name] = before[name];
  }
  await putVerified(api, role, adminUrl, patch);
  return previous;
}

export async function putVerified(api: ConfigApi, role: string, adminUrl: string, patch: Settings) {
  const answer = await api.put(adminUrl, patch);
  const after = await api.get(adminUrl);
  const wrong: string[] = [];
  for (const [name, asked] of Object.entries(patch)) {
    const stored = answer.config?.[name];
    const read = after[name];
    const plain = typeof asked === "number" || typeof asked === "boolean" || typeof asked === "string";
    const ok = isDeepStrictEqual(read, stored) && (!plain || isDeepStrictEqual(read, asked));
    if (!ok) wrong.push(`${name} = ${JSON.stringify(read)} (asked ${JSON.stringify(asked)})`);
  }
  if (wrong.length > 0) {
    throw new ChaosError(`${role} config did not take: GET ${adminUrl}/config reads ${wrong.join(", ")}`, {});
  }
}
