/**
 * Client-side TLS session ticket cache. TLS 1.3 servers may send several tickets per handshake
 * (Node sends two); the latest one is kept and offered on the next connect so the handshake resumes
 * (no certificate exchange: much less traffic over 4G).
 */
export class TicketCache {
  readonly #tickets = new Map<string, Buffer>();

  /** Cache key of one server endpoint: a ticket is only valid for the server it came from. */
  static keyOf(host: string, port: number, servername: string | undefined): string {
    return `${host}:${port}/${servername ?? ""}`;
  }

  /** The latest ticket for `key`, or `undefined`. */
  get(key: string): Buffer | undefined {
    return this.#tickets.get(key);
  }

  /** Remembers `ticket` as the latest for `key`, replacing any older one. */
  store(key: string, ticket: Buffer): void {
    this.#tickets.set(key, ticket);
  }

  /** Forgets the ticket of `key` (e.g. after a failed handshake, so a stale ticket is not retried). */
  delete(key: string): void {
    this.#tickets.delete(key);
  }

  /** Number of endpoints with a ticket. */
  get size(): number {
    return this.#tickets.size;
  }
}
