/**
 * The TLS step of a SIGHUP: re-read certificate, key, client CA and CRL and hand them to the
 * running server, so a renewed certificate or a new CRL (`paynet-gen certs revoke`) takes effect
 * without dropping the fleet. Loading and applying are separate, so a reload can check everything
 * (config file included) before it changes anything.
 */
import type { PayboxServer } from "../sdk/index.js";
import { CRL_FILE, type LoadedTls, loadServerTls, type ServerTlsFiles } from "./tls.js";

type TlsUpdate = Parameters<PayboxServer["runtime"]["reloadTls"]>[0];

/**
 * Applies TLS material to a running server, remembering whether a CRL was ever in force: when
 * `ca.crl` disappears later, the revocations loaded before stay (deleting a file must not silently
 * let revoked devices back in); a restart drops them.
 */
export class TlsReloader {
  readonly #server: PayboxServer;
  readonly #mtls: boolean;
  #hasCrl: boolean;

  constructor(server: PayboxServer, mtls: boolean, startedWithCrl: boolean) {
    this.#server = server;
    this.#mtls = mtls;
    this.#hasCrl = startedWithCrl;
  }

  /** Reads the material of `files`; throws (`ExampleError`) when a file is missing or unreadable. */
  load(files: ServerTlsFiles): Promise<LoadedTls> {
    return loadServerTls(files, this.#mtls);
  }

  /**
   * Hands `loaded` to the server; throws `InvalidOptionsError` (the old material stays) when the
   * runtime refuses it. Returns what the log line says about revocations.
   */
  apply(loaded: LoadedTls): string {
    const { tls } = loaded;
    const update: TlsUpdate = { cert: tls.cert, key: tls.key };
    if (tls.ca !== undefined) update.ca = tls.ca;
    if (tls.crl !== undefined) update.crl = tls.crl;
    this.#server.runtime.reloadTls(update);
    const described = describeRevocations(loaded, this.#mtls, this.#hasCrl);
    this.#hasCrl ||= tls.crl !== undefined;
    return described;
  }
}

function describeRevocations(loaded: LoadedTls, mtls: boolean, hadCrl: boolean): string {
  if (!mtls) return "server certificate and key; no client certificates without --mtls";
  if (loaded.tls.crl !== undefined) return `${loaded.revoked ?? "?"} revoked`;
  return hadCrl
    ? `${CRL_FILE} is gone: the revocations loaded before stay in force until a restart`
    : `0 revoked, no ${CRL_FILE}`;
}
