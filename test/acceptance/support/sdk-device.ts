/**
 * A device built directly on the generated SDK (in the test process), for what paynetcli never
 * does on purpose: log in with an unregistered device id, send a CoinAck for an order it was never
 * given, query another device's order.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  createPayboxClient,
  type LoginRsp,
  type PayboxClient,
  type PayboxClientHandlers,
  type RegisterRsp,
} from "../../../examples/sdk/index.js";

export interface SdkDeviceOptions {
  readonly port: number;
  readonly certsDir: string;
  /** Registers with this serial number first and logs in with the device id the reply assigned. */
  readonly sn?: string;
  /** Device id to log in with (instead of the assigned one, when registering). */
  readonly loginAs?: string;
  /**
   * Base name of the client certificate in `certsDir` (`<name>.crt`/`.key`). Default: `sn` when
   * registering and `certsDir` holds `<sn>.crt` (as `paynet-gen certs device SN` names it), else
   * `device`.
   */
  readonly certName?: string;
  /** Handlers of what the cloud sends (default: none). */
  readonly handlers?: PayboxClientHandlers;
}

/** A started SDK device and the login replies it saw. */
export interface SdkDevice {
  readonly client: PayboxClient;
  readonly loginReplies: LoginRsp[];
  readonly registerReplies: RegisterRsp[];
  /** Resolves once online; rejects when the login is refused. */
  readonly online: Promise<void>;
  /** Orders of the CoinCommands this device received. */
  readonly commands: string[];
}

/** Starts an SDK device against paynetd on 127.0.0.1:`port` (mTLS with the certs of `certsDir`). */
export async function startSdkDevice(options: SdkDeviceOptions): Promise<SdkDevice> {
  const own = options.sn !== undefined && existsSync(join(options.certsDir, `${options.sn}.crt`));
  const certName = options.certName ?? (own ? options.sn : undefined) ?? "device";
  const [ca, cert, key] = await Promise.all(
    ["ca.crt", `${certName}.crt`, `${certName}.key`].map((name) =>
      readFile(join(options.certsDir, name), "utf8"),
    ),
  );
  let deviceId = options.loginAs ?? "";
  const commands: string[] = [];
  const registerReplies: RegisterRsp[] = [];
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
            onRegisterReply: (reply: RegisterRsp) => {
              registerReplies.push(reply);
              deviceId = options.loginAs ?? reply.deviceId;
            },
          }),
      login: () => ({ deviceId, token: "demo-token" }),
      onLoginReply: (reply) => {
        loginReplies.push(reply);
      },
      onLoginRefused: () => "stop",
    },
    {
      ...options.handlers,
      CoinCommand: (command, ctx) => {
        commands.push(command.orderId);
        return options.handlers?.CoinCommand?.call(options.handlers, command, ctx);
      },
    },
  );
  const online = new Promise<void>((resolve, reject) => {
    client.on("online", () => resolve());
    client.on("loginRefused", (error) => reject(error));
  });
  // Keep a refusal the test does not wait for from becoming an unhandled rejection.
  online.catch(() => {});
  client.start();
  return { client, loginReplies, registerReplies, online, commands };
}
