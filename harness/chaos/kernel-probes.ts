import { connect, createServer } from "node:net";
import { explain, findSystemTool, NFT_FAMILY, NFT_TABLE, run, SYSTEM_TOOL_PACKAGE } from "./kernel.ts";

// Probes for `posstorm doctor`: nftables and ss doing, on things of their own, what the kernel faults do
// (kernel.ts), and whether posstorm's table is there now.

export type ProbeResult =
  | { ok: true; path: string; version: string }
  | { ok: false; detail: string; fix: string };

/**
 * What a packet-loss fault does, on a table of the probe's own (`inet posstorm_probe_<pid>`): create it with a
 * base chain at the output hook and a drop rule that matches nothing, read it back, delete it.
 */
export async function probeNftables(
  env: NodeJS.ProcessEnv = process.env,
  timeoutMs = 5_000,
): Promise<ProbeResult> {
  const fix = `bash scripts/setup.sh (installs ${SYSTEM_TOOL_PACKAGE.nft}), or apt-get install ${SYSTEM_TOOL_PACKAGE.nft}`;
  const nft = findSystemTool("nft", env);
  if (!nft) return { ok: false, detail: "nft (nftables) not found on PATH or in /usr/sbin, /sbin", fix };
  const version =
    (await run(nft, ["--version"], undefined, timeoutMs).catch(() => undefined))?.stdout.trim() ?? "?";
  const table = `posstorm_probe_${process.pid}`;
  const create = [
    `add table ${NFT_FAMILY} ${table}`,
    `add chain ${NFT_FAMILY} ${table} probe { type filter hook output priority 0; policy accept; }`,
    `add rule ${NFT_FAMILY} ${table} probe oifname "lo" tcp dport 9 numgen random mod 10000 < 1 counter drop`,
    "",
  ].join("\n");
  const created = await run(nft, ["-f", "-"], create, timeoutMs);
  if (created.code !== 0) {
    const error = explain(`nft: create table ${NFT_FAMILY} ${table}`, created);
    const permission = /root or CAP_NET_ADMIN/.test(error.message);
    return {
      ok: false,
      detail: error.message,
      fix: permission
        ? "run as root, or grant CAP_NET_ADMIN (docker --cap-add NET_ADMIN)"
        : "the kernel needs nf_tables with inet tables, numgen and counter (modprobe nf_tables)",
    };
  }
  const listed = await run(nft, ["list", "table", NFT_FAMILY, table], undefined, timeoutMs);
  const deleted = await run(nft, ["delete", "table", NFT_FAMILY, table], undefined, timeoutMs);
  if (listed.code !== 0 || !listed.stdout.includes("drop")) {
    return { ok: false, detail: `nft accepted table ${table} but does not list its rule`, fix };
  }
  if (deleted.code !== 0)
    return { ok: false, detail: explain(`nft delete table ${table}`, deleted).message, fix };
  return { ok: true, path: nft, version: version.replace(/^nftables /, "") };
}

/** What a connection-kill fault does: `ss -K` on a loopback connection of the probe's own, which must close. */
export async function probeSs(env: NodeJS.ProcessEnv = process.env, timeoutMs = 5_000): Promise<ProbeResult> {
  const fix = `bash scripts/setup.sh (installs ${SYSTEM_TOOL_PACKAGE.ss}), or apt-get install ${SYSTEM_TOOL_PACKAGE.ss}`;
  const ss = findSystemTool("ss", env);
  if (!ss) return { ok: false, detail: "ss (iproute2) not found on PATH or in /usr/sbin, /sbin", fix };
  const version = (await run(ss, ["-V"], undefined, timeoutMs).catch(() => undefined))?.stdout.trim() ?? "?";
  const server = createServer((socket) => socket.on("error", () => undefined));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const client = connect(port, "127.0.0.1");
  const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
  client.on("error", () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      client.once("connect", resolve);
      client.once("error", reject);
    });
    const killed = await run(
      ss,
      ["-K", "-H", "-tn", "state", "established", `( dport = :${port} )`, "dst", "127.0.0.0/8"],
      undefined,
      timeoutMs,
    );
    if (killed.code !== 0) return { ok: false, detail: explain("ss -K", killed).message, fix };
    const gone = await Promise.race([
      closed.then(() => true),
      new Promise((r) => setTimeout(() => r(false), 2_000)),
    ]);
    if (!gone) {
      return {
        ok: false,
        detail:
          "ss -K left a loopback connection open (needs root and a kernel with CONFIG_INET_DIAG_DESTROY)",
        fix: "run as root on a kernel with CONFIG_INET_DIAG_DESTROY",
      };
    }
    return { ok: true, path: ss, version: version.replace(/^ss utility, /, "") };
  } finally {
    client.destroy();
    server.close();
  }
}

/** Whether posstorm's table `inet posstorm` exists now (undefined: nft is missing or not permitted). */
export async function kernelTablePresent(timeoutMs = 5_000): Promise<boolean | undefined> {
  const nft = findSystemTool("nft");
  if (!nft) return undefined;
  const ran = await run(nft, ["list", "tables", NFT_FAMILY], undefined, timeoutMs);
  if (ran.code !== 0) return undefined;
  return new RegExp(`^table ${NFT_FAMILY} ${NFT_TABLE}$`, "m").test(ran.stdout);
}
