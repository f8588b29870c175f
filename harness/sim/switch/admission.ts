// Admission control for work that waits on a backend (sign-ins on the HSM, purchases on an issuer). Without
// shedding everything runs at once and only the count is kept. With shedding at most `maxInFlight` jobs run;
// up to `maxQueue` more wait in arrival order; beyond that a job is refused (the switch answers 96 at once).

export interface Job {
  /** Starts the work; the job calls `Admission.release()` exactly once when it is over. */
  run(): void;
  /** Set by `Admission.cancel()`: the job left the queue before it ran. */
  cancelled: boolean;
  queued: boolean;
}

export interface AdmissionLimits {
  shedding: boolean;
  maxInFlight: number;
  maxQueue: number;
}

export class Admission {
  inFlight = 0;
  readonly #limits: AdmissionLimits;
  #queue: (Job | undefined)[] = [];
  #head = 0;
  #queued = 0;
  #pumping = false;

  constructor(limits: AdmissionLimits) {
    this.#limits = limits;
  }

  /** Jobs waiting for a slot. */
  get queueDepth(): number {
    return this.#queued;
  }

  /** Runs or queues `job`; false when shedding refuses it. */
  admit(job: Job): boolean {
    const { shedding, maxInFlight, maxQueue } = this.#limits;
    if (!shedding || (this.inFlight < maxInFlight && this.#queued === 0)) {
      this.inFlight++;
      job.run();
      return true;
    }
    if (this.#queued >= maxQueue) return false;
    job.queued = true;
    this.#queue.push(job);
    this.#queued++;
    return true;
  }

  /** Runs `job` whatever the limits (reversals: refusing them would leave money taken). */
  force(job: Job): void {
    this.inFlight++;
    job.run();
  }

  /** A running job is over. */
  release(): void {
    this.inFlight--;
    this.pump();
  }

  /** Takes a queued job out of the queue (it expired). */
  cancel(job: Job): void {
    if (!job.queued || job.cancelled) return;
    job.cancelled = true;
    job.queued = false;
    this.#queued--;
  }

  /** Starts queued jobs while there is room (after a release or a change of limits). */
  pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#queued > 0 && (!this.#limits.shedding || this.inFlight < this.#limits.maxInFlight)) {
        const job = this.#queue[this.#head];
        this.#queue[this.#head++] = undefined;
        if (!job || job.cancelled) continue;
        job.queued = false;
        this.#queued--;
        this.inFlight++;
        job.run();
      }
      if (this.#queued === 0) {
        this.#queue.length = 0;
        this.#head = 0;
      } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** Every queued job, removed from the queue (on close). */
  drain(): Job[] {
    const jobs = this.#queue.slice(this.#head).filter((j): j is Job => j !== undefined && !j.cancelled);
    this.#queue = [];
    this.#head = 0;
    this.#queued = 0;
    return jobs;
  }
}
