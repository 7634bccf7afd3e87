/**
 * Runs `stop` once on the first SIGINT/SIGTERM; a second signal exits at once (an operator
 * pressing Ctrl-C twice does not want to wait for the grace period).
 */
export function onShutdownSignal(stop: (signal: NodeJS.Signals) => void): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    stop(signal);
  };
  process.on("SIGINT", handle);
  process.on("SIGTERM", handle);
}
