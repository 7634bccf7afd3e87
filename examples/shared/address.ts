import { UsageError } from "./errors.js";

/** A `HOST:PORT` pair from the command line. */
export interface Address {
  readonly host: string;
  readonly port: number;
}

/**
 * Parses `HOST:PORT` (`[::1]:9443` for IPv6). Port 0 is allowed when `allowZero` (listen on any
 * free port).
 */
export function parseAddress(flag: string, value: string, allowZero: boolean): Address {
  const match = /^(?:\[(?<v6>[^\]]+)\]|(?<host>[^:]+)):(?<port>\d+)$/.exec(value);
  const host = match?.groups?.v6 ?? match?.groups?.host;
  const port = Number(match?.groups?.port);
  if (host === undefined || !Number.isInteger(port) || port > 65_535 || (port === 0 && !allowZero)) {
    throw new UsageError(`${flag}: expected HOST:PORT, got "${value}"`);
  }
  return { host, port };
}

/** `host:port`, with brackets around IPv6 hosts. */
export function formatAddress(address: Address): string {
  return address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** Parses a positive number of seconds (fractions allowed) into milliseconds. */
export function parseSeconds(flag: string, value: string, allowZero = false): number {
  const seconds = Number(value);
  if (value.trim() === "" || !Number.isFinite(seconds) || seconds < 0 || (seconds === 0 && !allowZero)) {
    throw new UsageError(
      `${flag}: expected a ${allowZero ? "non-negative" : "positive"} number of seconds, got "${value}"`,
    );
  }
  return Math.round(seconds * 1000);
}

/** Parses a non-negative integer. */
export function parseCount(flag: string, value: string): number {
  const count = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(count)) {
    throw new UsageError(`${flag}: expected a non-negative integer, got "${value}"`);
  }
  return count;
}
