/**
 * The private `redis-server` of a test (examples/demo/redis.ts). When `redis-server` is missing,
 * {@link redisMissing} says why; suites skip on a developer machine and fail under `CI=true` (CI
 * installs it: .ci/run).
 */
import { redisInstalled } from "../../examples/demo/redis.js";

export { freePort, privateRedisArgs, startRedis, type TestRedis } from "../../examples/demo/redis.js";

/** Why Redis tests cannot run here, or `undefined` when `redis-server` is installed. */
export function redisMissing(): string | undefined {
  if (redisInstalled()) return undefined;
  const why = "redis-server is not installed (apt-get install redis-server)";
  if (process.env.CI === "true") throw new Error(`${why}: the cluster tests must run under CI`);
  return why;
}
