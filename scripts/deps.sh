# Shared by Bosun's scripts: check for a tool and install it with apt-get when
# we can (root on Debian/Ubuntu), otherwise say exactly what to install.

need_cargo() {
  if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo is missing: install the Rust toolchain (https://rustup.rs), then rerun." >&2
    exit 1
  fi
}

APT_UPDATED=""

# need_apt_tool COMMAND DEBIAN_PACKAGE WHY
need_apt_tool() {
  local cmd=$1 pkg=$2 why=$3
  command -v "$cmd" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing $pkg ($why)"
    if [ -z "$APT_UPDATED" ]; then
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
  fi
  if ! command -v "$cmd" >/dev/null 2>&1; then
    echo "error: '$cmd' is missing ($why). Install it: sudo apt-get install $pkg" >&2
    exit 1
  fi
}
