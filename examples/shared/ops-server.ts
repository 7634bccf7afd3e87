/**
 * The ops endpoint of the programs (`--metrics HOST:PORT`): `/metrics` for Prometheus, `/livez`
 * (the process answers) and `/readyz` (paynetd: it takes devices, 503 once draining, so load
 * balancers stop sending new ones; paynetcli: it is online). Loopback unless an address is given;
 * nothing here touches the device port.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import type { Address } from "./address.js";

/** A started ops endpoint. */
export interface OpsServer {
  readonly http: Server;
  readonly address: Address;
  close(): Promise<void>;
}

/** What the endpoint reports. */
export interface OpsSources {
  readonly registry: Registry;
  /** What `/readyz` says: 200 when true, else 503 with `notReady` as body. */
  ready(): boolean;
  /** Body of a 503 `/readyz` (default `draining`). */
  readonly notReady?: string;
}

/** Starts the endpoint on `address` (port 0: any free port). */
export async function startOpsServer(address: Address, sources: OpsSources): Promise<OpsServer> {
  const http = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { allow: "GET, HEAD" }).end();
    } else if (path === "/livez") {
      response.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    } else if (path === "/readyz") {
      const ready = sources.ready();
      response
        .writeHead(ready ? 200 : 503, { "content-type": "text/plain" })
        .end(ready ? "ready\n" : `${sources.notReady ?? "draining"}\n`);
    } else if (path === "/metrics") {
      sources.registry.metrics().then(
        (text) => response.writeHead(200, { "content-type": sources.registry.contentType }).end(text),
        (error: unknown) =>
          response.writeHead(500, { "content-type": "text/plain" }).end(`${String(error)}\n`),
      );
    } else {
      response
        .writeHead(404, { "content-type": "text/plain" })
        .end("not found: try /metrics, /livez, /readyz\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(address.port, address.host, () => {
      http.off("error", reject);
      resolve();
    });
  });
  const bound = http.address() as AddressInfo;
  return {
    http,
    address: { host: address.host, port: bound.port },
    close: () =>
      new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}
