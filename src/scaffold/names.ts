/**
 * Naming helpers shared by the scaffolding commands: file names, identifiers and "did you mean"
 * suggestions for message names typed on the command line.
 */

/** Splits `CoinAck`, `coin_ack`, `HTTPStatus2Rsp` into lower-case words. */
function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .split(/[^A-Za-z0-9]+/)
    .filter((word) => word.length > 0)
    .map((word) => word.toLowerCase());
}

/** `CoinAck` → `coin-ack` (handler file names). */
export function kebabCase(name: string): string {
  return words(name).join("-");
}

/** `CoinAck` → `coinAck` (handler identifiers). */
export function camelCase(name: string): string {
  const [first = "", ...rest] = words(name);
  return first + rest.map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join("");
}

/** `paybox` / `my-app` → `Paybox` / `MyApp`. */
export function pascalCase(name: string): string {
  return words(name)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join("");
}

/**
 * Edit distance counting insertions, deletions, substitutions and swaps of neighbours (`QueryRps`
 * is one slip away from `QueryRsp`), case-insensitive (typos in message names are often just the case).
 */
export function editDistance(a: string, b: string): number {
  const left = a.toLowerCase();
  const right = b.toLowerCase();
  const rows: number[][] = [];
  for (let i = 0; i <= left.length; i++) {
    const row = [i];
    for (let j = 1; j <= right.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const above = rows[i - 1]!;
      let best = Math.min(
        above[j]! + 1,
        row[j - 1]! + 1,
        above[j - 1]! + (left[i - 1] === right[j - 1] ? 0 : 1),
      );
      if (i > 1 && j > 1 && left[i - 1] === right[j - 2] && left[i - 2] === right[j - 1]) {
        best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      }
      row.push(best);
    }
    rows.push(row);
  }
  return rows[left.length]![right.length]!;
}

/**
 * The candidate closest to `name`, when it is close enough to be a plausible typo (at most a third
 * of the name's length, at least 2 edits allowed) or starts with it, else `undefined`.
 */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.max(2, Math.floor(name.length / 3));
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (distance <= limit && (best === undefined || distance < best.distance)) best = { candidate, distance };
  }
  if (best !== undefined) return best.candidate;
  // A shortened name (`Login` for `LoginReq`) is a plausible slip too.
  const lower = name.toLowerCase();
  return [...candidates].find((candidate) => lower.length >= 3 && candidate.toLowerCase().startsWith(lower));
}

/** ` Did you mean X?` or an empty string, to append to an error message. */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const suggestion = closestName(name, candidates);
  return suggestion === undefined ? "" : ` Did you mean ${suggestion}?`;
}
