/**
 * A minimal L4 load balancer (for the cluster demo and tests), as in front of a paynet cluster: each accepted TCP
 * connection is piped to the first backend (in the order `backends()` returns them now) that
 * accepts it. A backend that dies takes its connections with it; the devices reconnect and land on
 * the next one that is up.
 */
import { connect, createServer, type Socket } from "node:net";

export interface Balancer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startBalancer(backends: () => readonly number[]): Promise<Balancer> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.once("close", () => sockets.delete(client));
    client.pause();
    const candidates = [...backends()];
    const attempt = () => {
      const port = candidates.shift();
      if (port === undefined) {
        client.destroy();
        return;
      }
      const upstream = connect({ port, host: "127.0.0.1" });
      let connected = false;
      upstream.once("error", () => {
        if (!connected) attempt();
      });
      upstream.once("connect", () => {
        connected = true;
        sockets.add(upstream);
        upstream.once("close", () => {
          sockets.delete(upstream);
          client.destroy();
        });
        upstream.on("error", () => client.destroy());
        client.on("error", () => upstream.destroy());
        client.once("close", () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    attempt();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return {
    port: typeof address === "object" && address !== null ? address.port : 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
