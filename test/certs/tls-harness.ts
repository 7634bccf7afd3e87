/** Minimal real-TLS harness for certificate tests: one server on 127.0.0.1:0, one client. */
import type { AddressInfo } from "node:net";
import * as tls from "node:tls";

export type HandshakeOutcome =
  | { readonly ok: true; readonly peerSubjectCN: string | undefined }
  | { readonly ok: false; readonly reason: string };

/**
 * Runs one mTLS handshake and reports whether the server accepted the client, decided on the server
 * side (in TLS 1.3 the client may believe it is connected before the server refuses it).
 *
 * `enforce: true` (default) is a server with requestCert + rejectUnauthorized: OpenSSL aborts the
 * handshake, and `reason` is whatever the server saw. `enforce: false` lets the handshake finish so
 * the server can read `authorizationError`, a stable code such as `CERT_HAS_EXPIRED`, then close.
 */
export async function mtlsHandshake(
  serverOptions: tls.TlsOptions,
  clientOptions: tls.ConnectionOptions,
  { enforce = true }: { enforce?: boolean } = {},
): Promise<HandshakeOutcome> {
  let outcome: HandshakeOutcome | undefined;
  const server = tls.createServer(
    { requestCert: true, rejectUnauthorized: enforce, ...serverOptions },
    (socket) => {
      if (!socket.authorized) {
        outcome = { ok: false, reason: String(socket.authorizationError) };
        socket.destroy();
        return;
      }
      const cn = (socket.getPeerCertificate().subject as { CN?: string | string[] } | undefined)?.CN;
      outcome = { ok: true, peerSubjectCN: Array.isArray(cn) ? cn[0] : cn };
      socket.end("ok");
    },
  );
  const serverRefused = new Promise<void>((resolve) =>
    server.on("tlsClientError", (error) => {
      outcome ??= { ok: false, reason: error.message };
      resolve();
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  try {
    const reply = await new Promise<string>((resolve) => {
      let data = "";
      const socket = tls.connect({ host: "127.0.0.1", port, ...clientOptions });
      socket.setEncoding("utf8");
      socket.on("data", (chunk: string) => {
        data += chunk;
      });
      socket.on("error", () => {});
      socket.on("close", () => resolve(data));
    });
    if (outcome === undefined) await serverRefused;
    if (outcome?.ok && reply !== "ok") throw new Error(`server accepted but the client read ${reply}`);
    return outcome!;
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
