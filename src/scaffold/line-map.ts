/**
 * Maps line numbers of an edited text back to the text it was made from, so diagnostics found while
 * validating a proposed edit can point into the user's real file. Lines the edit added or changed
 * have no counterpart.
 */

/**
 * `lineOf(editedLine)` → the 1-based line of `original` it comes from unchanged, or `undefined` for
 * a line the edit added or changed. Lines are matched as a longest common subsequence (after the
 * common head and tail, which edits of one annotation leave long).
 */
export function originalLines(original: string, edited: string): (editedLine: number) => number | undefined {
  const before = original.split("\n");
  const after = edited.split("\n");
  let head = 0;
  while (head < before.length && head < after.length && before[head] === after[head]) head++;
  let tail = 0;
  while (
    tail < before.length - head &&
    tail < after.length - head &&
    before[before.length - 1 - tail] === after[after.length - 1 - tail]
  )
    tail++;

  const a = before.slice(head, before.length - tail);
  const b = after.slice(head, after.length - tail);
  // lengths[i][j]: LCS length of a[i..] and b[j..], one flat array.
  const width = b.length + 1;
  const lengths = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lengths[i * width + j] =
        a[i] === b[j]
          ? lengths[(i + 1) * width + j + 1]! + 1
          : Math.max(lengths[(i + 1) * width + j]!, lengths[i * width + j + 1]!);
    }
  }
  const middle = new Map<number, number>();
  for (let i = 0, j = 0; i < a.length && j < b.length; ) {
    if (a[i] === b[j]) {
      middle.set(j, i);
      i++;
      j++;
    } else if (lengths[(i + 1) * width + j]! >= lengths[i * width + j + 1]!) i++;
    else j++;
  }

  return (editedLine) => {
    const index = editedLine - 1;
    if (index < 0 || index >= after.length) return undefined;
    if (index < head) return editedLine;
    if (index >= after.length - tail) return editedLine - (after.length - before.length);
    const matched = middle.get(index - head);
    return matched === undefined ? undefined : matched + head + 1;
  };
}
