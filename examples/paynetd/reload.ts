/**
 * SIGHUP: re-read the TLS material from `--certs` and hand it to the running server, so a renewed
 * certificate or a new CRL (`paynet-gen certs revoke`) takes effect without dropping the fleet.
 */
import type { PayboxServer } from "../sdk/index.js";
import type { Log } from "../shared/log.js";
import { CRL_FILE, type LoadedTls, loadServerTls } from "./tls.js";

type TlsUpdate = Parameters<PayboxServer["runtime"]["reloadTls"]>[0];

/**
 * Installs the SIGHUP handler. Reloads run one after the other; a refused reload (unreadable or
 * invalid files) is logged and leaves the material in force unchanged.
 *
 * `startedWithCrl` tells whether the server started with a CRL: when `ca.crl` disappears later, the
 * revocations loaded before stay in force (deleting a file must not silently let revoked devices back
 * in); a restart drops them.
 */
export function reloadTlsOnSighup(
  server: PayboxServer,
  source: { readonly certsDir: string; readonly mtls: boolean },
  startedWithCrl: boolean,
  log: Log,
): void {
  let hasCrl = startedWithCrl;
  let queue = Promise.resolve();
  const reload = async () => {
    let loaded: LoadedTls;
    try {
      loaded = await loadServerTls(source.certsDir, source.mtls);
    } catch (error) {
      log.warn(`TLS reload refused, the old material stays in force: ${messageOf(error)}`);
      return;
    }
    const { tls } = loaded;
    const update: TlsUpdate = { cert: tls.cert, key: tls.key };
    if (tls.ca !== undefined) update.ca = tls.ca;
    if (tls.crl !== undefined) update.crl = tls.crl;
    try {
      server.runtime.reloadTls(update);
    } catch (error) {
      log.warn(`TLS reload refused, the old material stays in force: ${messageOf(error)}`);
      return;
    }
    log.info(`reloaded TLS material (${describeRevocations(loaded, source.mtls, hasCrl)})`);
    hasCrl ||= tls.crl !== undefined;
  };
  process.on("SIGHUP", () => {
    log.info("SIGHUP: reloading TLS material");
    queue = queue.then(reload);
  });
}

function describeRevocations(loaded: LoadedTls, mtls: boolean, hadCrl: boolean): string {
  if (!mtls) return "server certificate and key; no client certificates without --mtls";
  if (loaded.tls.crl !== undefined) return `${loaded.revoked ?? "?"} revoked`;
  return hadCrl
    ? `${CRL_FILE} is gone: the revocations loaded before stay in force until a restart`
    : `0 revoked, no ${CRL_FILE}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
