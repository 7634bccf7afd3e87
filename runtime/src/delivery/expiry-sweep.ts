/**
 * The deadline sweep of a pending-delivery store: one wheel timer while the store holds records,
 * asking it every interval for the records past their deadline (`store.expire`, which hands each
 * record to exactly one caller, also across processes sharing the store).
 */
import { messageOf } from "../errors.js";
import type { Logger } from "../logger.js";
import type { TimerWheel, WheelTimer } from "../timers.js";
import type { PendingDelivery, PendingDeliveryStore } from "./types.js";

/** How often records past their deadline are swept out of the store. */
const SWEEP_INTERVAL_MS = 1_000;

export class ExpirySweep {
  readonly #store: PendingDeliveryStore;
  readonly #timers: TimerWheel;
  readonly #now: () => number;
  readonly #logger: Logger;
  readonly #expired: (record: PendingDelivery) => void;
  #timer: WheelTimer | undefined;
  #sweeping = false;

  constructor(
    store: PendingDeliveryStore,
    timers: TimerWheel,
    now: () => number,
    logger: Logger,
    expired: (record: PendingDelivery) => void,
  ) {
    this.#store = store;
    this.#timers = timers;
    this.#now = now;
    this.#logger = logger;
    this.#expired = expired;
  }

  /** The store holds (or may hold) records: make sure a sweep is due. */
  arm(): void {
    if (this.#timer === undefined)
      this.#timer = this.#timers.schedule(SWEEP_INTERVAL_MS, () => void this.#run());
    else if (!this.#timer.active) this.#timer.reschedule(SWEEP_INTERVAL_MS);
  }

  cancel(): void {
    this.#timer?.cancel();
  }

  async #run(): Promise<void> {
    if (this.#sweeping) return;
    this.#sweeping = true;
    try {
      for (const record of await this.#store.expire(this.#now())) this.#expired(record);
    } catch (error) {
      this.#logger.error({ error: messageOf(error) }, "pending delivery store failed");
    } finally {
      this.#sweeping = false;
      if (this.#store.size() > 0) this.arm();
    }
  }
}
