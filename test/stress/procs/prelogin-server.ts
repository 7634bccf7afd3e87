/**
 * Server process of the header-only-peers measurement (started with `node --import tsx --expose-gc`,
 * so its memory is its own and measured after full GCs): two PaynetServers with the stress registry,
 * `lifted` with `preLogin.maxFrame` raised to `maxFrame` (a 64 KiB header is held, so what it costs
 * is the decoder's), `strict` with the defaults (the header is refused at once).
 */
import { childConfig, memoryAfterGc, serveRpc } from "../../../bench/lib/child.js";
import { PaynetServer } from "../../../runtime/src/server/server.js";
import type { ServerOptions } from "../../../runtime/src/server/types.js";
import { loginPingAckRegistry } from "../../helpers/messages.js";
import { countingLogger } from "../lib/counting-logger.js";

interface Config {
  cert: string;
  key: string;
}

const config = childConfig<Config>();

function server(options: Partial<ServerOptions>) {
  const logger = countingLogger();
  const instance = new PaynetServer({
    tls: { cert: config.cert, key: config.key },
    registry: loginPingAckRegistry(),
    logger,
    readTimeoutMs: 0,
    ...options,
  });
  return { instance, logger };
}

const lifted = server({ preLogin: { maxFrame: 65_536, deadlineMs: 0, maxFramesPerSecond: 100 } });
const strict = server({ preLogin: { deadlineMs: 0 } });
const liftedPort = (await lifted.instance.start()).port;
const strictPort = (await strict.instance.start()).port;

function statsOf(which: "lifted" | "strict") {
  const { instance, logger } = which === "lifted" ? lifted : strict;
  const s = instance.stats();
  const framesIn = Object.values(s.framesIn).reduce((sum, counter) => sum + counter.frames, 0);
  return { connections: s.connections.current, framesIn, preLogin: s.preLogin, logCounts: logger.counts };
}

serveRpc(
  {
    mem: () => memoryAfterGc(),
    stats: (which: "lifted" | "strict") => statsOf(which),
  },
  { liftedPort, strictPort },
);
