/**
 * A device built directly on the generated SDK (in the test process), for what paynetcli never
 * does on purpose: log in with an unregistered device id, send a CoinAck for an order it was never
 * given, query another device's order.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  createPayboxClient,
  type LoginRsp,
  type PayboxClient,
  type PayboxClientHandlers,
} from "../../../examples/sdk/index.js";

export interface SdkDeviceOptions {
  readonly port: number;
  readonly certsDir: string;
  /** Registers with this serial number first (device id `dev-SN`); logs in with `loginAs` otherwise. */
  readonly sn?: string;
  /** Device id to log in with when not registering. */
  readonly loginAs?: string;
  /** Handlers of what the cloud sends (default: none). */
  readonly handlers?: PayboxClientHandlers;
}

/** A started SDK device and the login replies it saw. */
export interface SdkDevice {
  readonly client: PayboxClient;
  readonly loginReplies: LoginRsp[];
  /** Resolves once online; rejects when the login is refused. */
  readonly online: Promise<void>;
}

/** Starts an SDK device against paynetd on 127.0.0.1:`port` (mTLS with the certs of `certsDir`). */
export async function startSdkDevice(options: SdkDeviceOptions): Promise<SdkDevice> {
  const [ca, cert, key] = await Promise.all(
    ["ca.crt", "device.crt", "device.key"].map((name) => readFile(join(options.certsDir, name), "utf8")),
  );
  let deviceId = options.loginAs ?? "";
  const loginReplies: LoginRsp[] = [];
  const sn = options.sn;
  const client = createPayboxClient(
    {
      host: "127.0.0.1",
      port: options.port,
      tls: { ca: ca as string, cert: cert as string, key: key as string },
      heartbeat: false,
      reconnect: { initialDelayMs: 100, maxDelayMs: 200 },
      ...(sn === undefined
        ? {}
        : {
            register: () => ({ deviceSn: sn }),
            onRegisterReply: (reply: { deviceId: string }) => {
              deviceId = reply.deviceId;
            },
          }),
      login: () => ({ deviceId, token: "demo-token" }),
      onLoginReply: (reply) => {
        loginReplies.push(reply);
      },
      onLoginRefused: () => "stop",
    },
    options.handlers,
  );
  const online = new Promise<void>((resolve, reject) => {
    client.on("online", () => resolve());
    client.on("loginRefused", (error) => reject(error));
  });
  // Keep a refusal the test does not wait for from becoming an unhandled rejection.
  online.catch(() => {});
  client.start();
  return { client, loginReplies, online };
}
