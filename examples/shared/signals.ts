/** How often the programs check that the process that started them is still there. */
const PARENT_CHECK_MS = 1_000;

/**
 * Runs `stop` once on the first SIGINT/SIGTERM; a second signal exits at once (an operator
 * pressing Ctrl-C twice does not want to wait for the grace period).
 *
 * Also stops when the parent process goes away (killed with SIGKILL, or a shell in between that dies
 * on SIGTERM without passing it on; the npm scripts `exec` node so npm's forwarded SIGTERM arrives
 * here directly): the program notices its new parent within a second and stops as if signalled.
 */
export function onShutdownSignal(stop: (reason: string) => void): void {
  let stopping = false;
  const handle = (reason: string) => {
    if (stopping) process.exit(130);
    stopping = true;
    stop(reason);
  };
  process.on("SIGINT", () => handle("SIGINT"));
  process.on("SIGTERM", () => handle("SIGTERM"));
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watch);
    if (!stopping) handle(`parent process ${parent} exited`);
  }, PARENT_CHECK_MS);
  watch.unref();
}
