# Source this file (`source scripts/use-node24.sh`) to put a Node.js 24 first on this shell's PATH.
# Where the PATH's node is already 24 or newer it changes nothing; otherwise it installs the
# official Node 24 binary from the npm registry (the node-linux-<arch> package) into
# ${XDG_CACHE_HOME:-~/.cache}/rotator-node24, exactly as CI does (.ci/node.sh).
_rotator_root=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)
# shellcheck source=../.ci/node.sh
. "$_rotator_root/.ci/node.sh"
unset _rotator_root
if ensure_ci_node; then
  printf 'node %s (%s)\n' "$(node -v)" "$(command -v node)"
else
  printf 'could not get Node.js %s: install it from https://nodejs.org/ and run this again\n' "$CI_NODE_MAJOR" >&2
  # Sourced: a failed status, so `source scripts/use-node24.sh && npm ci` stops here.
  false
fi
