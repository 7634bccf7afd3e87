/**
 * Pushes from the cloud to one device: to its session when it is online on this server, else
 * through the cluster (it may be online on another node), else `NotConnectedError`.
 */
import type { MessageDef, RequestOptions, RequestSpec } from "../codec.js";
import { failedIterable } from "../delivery/reply-queue.js";
import { NotConnectedError } from "../errors.js";
import type { ServerCluster } from "./cluster.js";
import type { SessionDirectory } from "./directory.js";
import { onlineSession } from "./parts.js";

export class DevicePushes {
  readonly #directory: SessionDirectory;
  readonly #cluster: ServerCluster | undefined;

  constructor(directory: SessionDirectory, cluster: ServerCluster | undefined) {
    this.#directory = directory;
    this.#cluster = cluster;
  }

  send<T>(deviceId: string, def: MessageDef<T>, message: T): Promise<void> {
    const session = onlineSession(this.#directory, deviceId);
    if (session !== undefined) return session.send(def, message);
    if (this.#cluster !== undefined) return this.#cluster.send(deviceId, def, message);
    return Promise.reject(notOnline(deviceId));
  }

  request<Req, Rep>(
    deviceId: string,
    spec: RequestSpec<Req, Rep>,
    message: Req,
    options?: RequestOptions<Rep>,
  ): Promise<Rep> {
    const session = onlineSession(this.#directory, deviceId);
    if (session !== undefined) return session.request(spec, message, options);
    if (this.#cluster !== undefined) return this.#cluster.request(deviceId, spec, message, options);
    return Promise.reject(notOnline(deviceId));
  }

  stream<Req, Rep>(
    deviceId: string,
    spec: RequestSpec<Req, Rep>,
    message: Req,
    options?: RequestOptions<Rep>,
  ): AsyncIterable<Rep> {
    const session = onlineSession(this.#directory, deviceId);
    if (session !== undefined) return session.stream(spec, message, options);
    if (this.#cluster !== undefined) return this.#cluster.stream(deviceId, spec, message, options);
    return failedIterable(notOnline(deviceId));
  }
}

function notOnline(deviceId: string): NotConnectedError {
  return new NotConnectedError(`device ${deviceId} is not online`, { peer: `device ${deviceId}` });
}
