/**
 * A client given several server addresses (`addresses`): it connects to the first, moves on to the
 * next after a failed attempt or a lost connection, round the list. Real TLS servers on 127.0.0.1.
 */
import { describe, expect, it } from "vitest";
import { PaynetClient } from "../../runtime/src/client/client.js";
import type { ClientOptions } from "../../runtime/src/client/types.js";
import { InvalidOptionsError } from "../../runtime/src/errors.js";
import {
  clientRegistry,
  makeClient,
  nextEvent,
  setUpClientTests,
  startLoginServer,
} from "../helpers/client-harness.js";
import { freePort } from "../helpers/redis-server.js";

const pki = await setUpClientTests();

/** `host:port` of each connection attempt of `client`, in order. */
function attempts(client: PaynetClient): string[] {
  const seen: string[] = [];
  client.on("connecting", ({ host, port }) => seen.push(`${host}:${port}`));
  return seen;
}

describe("client with several server addresses", () => {
  it("skips a server that refuses, and moves to the next one when its server goes away", async () => {
    const dead = await freePort(); // nothing listens there
    const a = await startLoginServer(pki);
    const b = await startLoginServer(pki);
    // makeClient's host and port are replaced by the list.
    const client = makeClient(pki, 0, {
      port: undefined,
      host: undefined,
      addresses: [
        { host: "127.0.0.1", port: dead },
        { host: "127.0.0.1", port: a.port },
        { host: "127.0.0.1", port: b.port },
      ],
    } as unknown as Partial<ClientOptions>);
    const seen = attempts(client);
    const online = nextEvent(client, "online");
    client.start();
    await online;
    expect(seen).toEqual([`127.0.0.1:${dead}`, `127.0.0.1:${a.port}`]);
    expect(a.logins).toEqual(["device-001"]);

    // A goes away: the next attempt goes to B, not back to A.
    const backOnline = nextEvent(client, "online");
    await a.server.stop({ graceMs: 0 });
    await backOnline;
    expect(seen.slice(2)).toEqual([`127.0.0.1:${b.port}`]);
    expect(b.logins).toEqual(["device-001"]);

    // B goes away too: round the list (the dead port, A gone) until a server is back on A's port.
    const again = nextEvent(client, "online");
    await b.server.stop({ graceMs: 0 });
    const aAgain = await startLoginServer(pki, { server: { port: a.port } });
    await again;
    expect(aAgain.logins).toEqual(["device-001"]);
    const afterB = seen.slice(3);
    expect(afterB.at(-1)).toBe(`127.0.0.1:${a.port}`);
    // Each attempt moved one step round the list.
    const order = [`127.0.0.1:${dead}`, `127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`];
    for (let i = 1; i < seen.length; i++) {
      expect(order.indexOf(seen[i]!)).toBe((order.indexOf(seen[i - 1]!) + 1) % order.length);
    }
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      "host with addresses",
      { addresses: [{ host: "127.0.0.1", port: 1 }] },
      "invalid option addresses: give either host and port or addresses, not both",
    ],
    [
      "empty list",
      { host: undefined, port: undefined, addresses: [] },
      "invalid option addresses: expected a non-empty array of { host, port }",
    ],
    [
      "bad port in the list",
      {
        host: undefined,
        port: undefined,
        addresses: [
          { host: "a", port: 1 },
          { host: "b", port: 0 },
        ],
      },
      "invalid option addresses[1].port: expected an integer 1..65535, got 0",
    ],
    [
      "empty host in the list",
      { host: undefined, port: undefined, addresses: [{ host: "", port: 1 }] },
      "invalid option addresses[0].host: expected a non-empty string, got ",
    ],
  ])("refuses %s with a typed error naming the option", (_, options, message) => {
    const build = () =>
      new PaynetClient({
        host: "127.0.0.1",
        port: 4000,
        tls: {},
        registry: clientRegistry(),
        ...options,
      } as ClientOptions);
    expect(build).toThrow(InvalidOptionsError);
    expect(build).toThrow(message);
  });
});
