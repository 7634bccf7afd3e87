/** How often the programs check that the process that started them is still there. */
const PARENT_CHECK_MS = 1_000;

/**
 * Runs `stop` once on the first SIGINT/SIGTERM; a second signal exits at once (an operator
 * pressing Ctrl-C twice does not want to wait for the grace period).
 *
 * Also stops when the parent process goes away. `npm run paynetd` starts the program through a
 * shell; a SIGTERM to npm reaches that shell, which dies without passing it on, and the program
 * would be left running on its own. It notices the new parent within a second and stops as if
 * signalled.
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
