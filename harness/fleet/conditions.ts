// Conditions the run imposes on its terminals while the load goes: fleet-side faults, set by the chaos
// timeline (or by hand) and followed by every segment. Plain data, so it crosses to worker threads as is.

export interface FleetConditions {
  /**
   * Terminal power loss: this fraction (0..1) of purchases is cut right after the 0200 is written (the link
   * dies with the terminal); the terminal stays off `offMs`, then comes back owing the purchase's reversal.
   */
  powerLoss?: { fraction: number; offMs: number };
}

export const NO_CONDITIONS: FleetConditions = Object.freeze({});

/** The run's handle on its fleet's conditions: the chaos context sets them, the coordinator passes them on. */
export class FleetControl {
  #conditions: FleetConditions = NO_CONDITIONS;
  readonly #listeners = new Set<(conditions: FleetConditions) => void>();

  get conditions(): FleetConditions {
    return this.#conditions;
  }

  set(conditions: FleetConditions): void {
    this.#conditions = conditions;
    for (const listener of this.#listeners) listener(conditions);
  }

  /** Calls `listener` now and on every change; the function returned stops it. */
  subscribe(listener: (conditions: FleetConditions) => void): () => void {
    this.#listeners.add(listener);
    listener(this.#conditions);
    return () => this.#listeners.delete(listener);
  }
}
