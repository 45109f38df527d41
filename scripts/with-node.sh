#!/bin/sh
# Runs a command under Node >= 22.12 (wrangler, workerd's tooling and vitest-pool-workers need it).
# When the machine's node is older, a Node 22 binary is installed from the npm registry package
# `node-<os>-<arch>@22` (the binary ships inside the package, so no other download is needed) into
# .cache/node22 and put first on PATH. Usage: sh scripts/with-node.sh <command> [args...]
set -eu

root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
required_major=22
required_minor=12

node_is_recent_enough() {
  command -v node >/dev/null 2>&1 || return 1
  node -e "const [a,b]=process.versions.node.split('.').map(Number);process.exit(a>$required_major||(a===$required_major&&b>=$required_minor)?0:1)"
}

if ! node_is_recent_enough; then
  case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) echo "with-node: unsupported OS $(uname -s); install Node >= 22.12 yourself" >&2; exit 1 ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "with-node: unsupported CPU $(uname -m); install Node >= 22.12 yourself" >&2; exit 1 ;;
  esac
  prefix="$root/.cache/node22"
  bin="$prefix/node_modules/node-$os-$arch/bin"
  if [ ! -x "$bin/node" ]; then
    echo "with-node: node $(node --version 2>/dev/null || echo missing) is older than $required_major.$required_minor; installing node-$os-$arch@$required_major into .cache/node22" >&2
    mkdir -p "$prefix"
    npm install --prefix "$prefix" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "node-$os-$arch@$required_major" >&2
  fi
  PATH="$bin:$PATH"
  export PATH
fi

PATH="$root/node_modules/.bin:$PATH"
export PATH
exec "$@"
