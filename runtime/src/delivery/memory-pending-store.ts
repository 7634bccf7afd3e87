import type { PendingDelivery, PendingDeliveryStore } from "./types.js";

/**
 * In-process {@link PendingDeliveryStore}: the default. Insertion order is creation order, so
 * `oldestCreatedAt()` is O(1); `expire` scans, which the once-a-second sweep can afford.
 */
export class MemoryPendingDeliveryStore implements PendingDeliveryStore {
  readonly #all = new Map<string, PendingDelivery>();
  readonly #byDevice = new Map<string, Map<string, PendingDelivery>>();

  add(delivery: PendingDelivery): void {
    const id = deliveryId(delivery.deviceId, delivery.type, delivery.key);
    this.#all.delete(id);
    this.#all.set(id, delivery);
    let forDevice = this.#byDevice.get(delivery.deviceId);
    if (forDevice === undefined) {
      forDevice = new Map();
      this.#byDevice.set(delivery.deviceId, forDevice);
    }
    forDevice.set(id, delivery);
  }

  remove(deviceId: string, type: number, key: string): boolean {
    const id = deliveryId(deviceId, type, key);
    if (!this.#all.delete(id)) return false;
    const forDevice = this.#byDevice.get(deviceId);
    forDevice?.delete(id);
    if (forDevice?.size === 0) this.#byDevice.delete(deviceId);
    return true;
  }

  forDevice(deviceId: string): readonly PendingDelivery[] {
    const forDevice = this.#byDevice.get(deviceId);
    return forDevice === undefined ? [] : [...forDevice.values()];
  }

  expire(now: number): readonly PendingDelivery[] {
    const expired: PendingDelivery[] = [];
    for (const delivery of this.#all.values()) if (delivery.deadline <= now) expired.push(delivery);
    for (const delivery of expired) this.remove(delivery.deviceId, delivery.type, delivery.key);
    return expired;
  }

  size(): number {
    return this.#all.size;
  }

  oldestCreatedAt(): number | undefined {
    for (const delivery of this.#all.values()) return delivery.createdAt;
    return undefined;
  }
}

/**
 * One string naming a delivery: device, request Type and key. The device id goes first with its
 * length, so no device id or key (any characters, separators included) can make two deliveries one.
 */
export function deliveryId(deviceId: string, type: number, key: string): string {
  return `${deviceId.length}:${deviceId}${type}:${key}`;
}
