/**
 * Baseline server: plain `node:tls` (TLS 1.3, same certificate) echoing `Len | Type | payload` frames.
 * It does the least work any framed TLS server can do — every complete frame of a chunk goes back in
 * one write — so it is the ceiling paynet is measured against, and the memory floor per connection.
 */
import { createServer, type TLSSocket } from "node:tls";
import { childConfig, cpuMicros, memoryAfterGc, serveRpc } from "../lib/child.js";
import { type BenchPkiFiles, pem } from "../lib/pki.js";

interface Config {
  pki: BenchPkiFiles;
  ticketKeys: string;
}

const config = childConfig<Config>();
const sockets = new Set<TLSSocket>();

const server = createServer(
  {
    cert: pem(config.pki.serverCert),
    key: pem(config.pki.serverKey),
    minVersion: "TLSv1.3",
    ticketKeys: Buffer.from(config.ticketKeys, "hex"),
  },
  (socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    let rest: Buffer | undefined;
    socket.on("data", (chunk: Buffer) => {
      const buf = rest === undefined ? chunk : Buffer.concat([rest, chunk]);
      rest = undefined;
      let end = 0;
      while (buf.length - end >= 5) {
        const len = buf.readUInt32BE(end);
        if (buf.length - end - 4 < len) break;
        end += 4 + len;
      }
      if (end > 0) socket.write(buf.subarray(0, end));
      if (end < buf.length) rest = Buffer.from(buf.subarray(end));
    });
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  },
);
server.maxConnections = 1_000_000;
server.on("tlsClientError", () => {});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  serveRpc(
    {
      mem: () => memoryAfterGc(),
      cpu: () => cpuMicros(),
      connections: () => sockets.size,
      dropAll: () => {
        for (const socket of sockets) socket.destroy();
        return null;
      },
    },
    { port },
  );
});
