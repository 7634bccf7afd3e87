/** Errors of the example programs, each with a stable `code` like the runtime's errors. */

export type ExampleErrorCode =
  | "USAGE"
  | "CERTS_MISSING"
  | "TICKET_KEYS"
  | "STATE_FILE"
  | "ADMIN"
  /** A config file, environment variable or secret file that cannot be used. */
  | "CONFIG"
  /** The device's data directory or its record of executed commands cannot be used. */
  | "DATA_DIR"
  /** An order id re-used for another device or with other coins. */
  | "ORDER_CONFLICT"
  /** A RegisterReq serial paynetd does not store (empty, too long, not printable ASCII). */
  | "DEVICE_SN_INVALID"
  /** paynetd's device registry holds its --max-devices. */
  | "DEVICES_FULL"
  /** paynetd's order book holds its --max-orders. */
  | "ORDERS_FULL"
  /** paynetd's state in Redis (--redis) is not what paynetd wrote. */
  | "STATE_REDIS";

/** A failure of an example program that is not a runtime error. */
export class ExampleError extends Error {
  readonly code: ExampleErrorCode;

  constructor(code: ExampleErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ExampleError";
    this.code = code;
  }
}

/** A bad command line; the programs print it with their usage and exit with status 2. */
export class UsageError extends ExampleError {
  constructor(message: string) {
    super("USAGE", message);
    this.name = "UsageError";
  }
}
