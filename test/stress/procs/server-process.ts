/** What the chaos suites' server processes share: typed-error counts and a start that outlasts a restart. */
import { PaynetError } from "../../../runtime/src/errors.js";
import type { PaynetServer } from "../../../runtime/src/server/server.js";

/** Counts the server's `error` events by stable code (`untyped: ...` for anything else). */
export function countErrorsByCode(server: PaynetServer): Record<string, number> {
  const errors: Record<string, number> = {};
  server.on("error", (error) => {
    const code = error instanceof PaynetError ? error.code : `untyped: ${String(error)}`;
    errors[code] = (errors[code] ?? 0) + 1;
  });
  return errors;
}

/**
 * Starts the listener, retrying every 100 ms up to `attempts` times: a restarted process may briefly
 * find its port still held (or, for a cluster node, Redis not back yet).
 */
export async function startRetrying(server: PaynetServer, attempts: number): Promise<{ port: number }> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await server.start();
    } catch (error) {
      if (attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
