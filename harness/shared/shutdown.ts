// Cleanups to run when the process is interrupted (Ctrl-C, SIGTERM): every started container or
// applied fault registers one and removes it when it is undone normally. A crash that skips this
// (kill -9) is covered by removing stale containers, by label, at the next start.

type Cleanup = () => Promise<void>;

const cleanups = new Set<Cleanup>();
let installed = false;
let interrupted = false;
let exitCode = 2;
/** A run that ends by hand (a rehearsal): the first SIGINT calls it instead of the cleanups. */
let softStop: (() => void) | undefined;

/** True once SIGINT/SIGTERM arrived: failures after that are the interrupt's, and it sets the exit. */
export function isInterrupted(): boolean {
  return interrupted;
}

/** Runs `cleanup` on SIGINT/SIGTERM. Returns a function that unregisters it. */
export function onShutdown(cleanup: Cleanup): () => void {
  install();
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/**
 * The first Ctrl-C (SIGINT) calls `stop` instead of interrupting: a rehearsal ends by hand and still reports.
 * A second Ctrl-C, or SIGTERM, interrupts as usual. Returns a function that takes it back.
 */
export function onSoftStop(stop: () => void): () => void {
  install();
  softStop = stop;
  return () => {
    if (softStop === stop) softStop = undefined;
  };
}

/** Exit code after an interrupt; posstorm's contract: 2 (the run did not finish). */
export function setInterruptExitCode(code: number): void {
  exitCode = code;
}

/** Runs every registered cleanup once, newest first, each bounded by `timeoutMs`. */
export async function runCleanups(timeoutMs = 10_000): Promise<void> {
  const pending = [...cleanups].reverse();
  cleanups.clear();
  for (const cleanup of pending) {
    await Promise.race([
      cleanup().catch((error: unknown) => console.error(`[posstorm] cleanup failed: ${String(error)}`)),
      new Promise((resolve) => setTimeout(resolve, timeoutMs).unref()),
    ]);
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  const handler = (signal: NodeJS.Signals) => {
    const stop = softStop;
    if (stop && signal === "SIGINT" && !interrupted) {
      softStop = undefined;
      console.error(`[posstorm] ${signal}: ending the rehearsal and reporting (Ctrl-C again to interrupt)`);
      stop();
      return;
    }
    if (interrupted) {
      console.error(`[posstorm] second ${signal}: exiting without cleanup`);
      process.exit(exitCode);
    }
    interrupted = true;
    console.error(`[posstorm] ${signal}: cleaning up (${cleanups.size} item(s))`);
    void runCleanups().finally(() => process.exit(exitCode));
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}
