# Shared helpers for HemoStat's scripts. Source it; it defines functions and sets nothing else.

hs_log() { printf '\033[1m[hemostat]\033[0m %s\n' "$*" >&2; }
hs_die() { printf '\033[1;31m[hemostat] error:\033[0m %s\n' "$*" >&2; exit 1; }

# The repository root, wherever the script was called from.
hs_root() { cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd; }

# A short per-checkout directory under /tmp for sockets (unix socket paths are limited to 107
# bytes, and a deep checkout path would exceed it).
hs_state_dir() {
    local root; root=$(hs_root)
    printf '/tmp/hemostat-%s' "$(printf '%s' "$root" | md5sum | cut -c1-10)"
}

# A TCP port nobody listens on right now.
hs_free_port() {
    python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}
