#!/usr/bin/env bash
# Installs the peers `npm run bench` compares ferry with: restic, borgbackup, zstd, age (and GNU
# time for CPU seconds and peak RSS). Debian/Ubuntu (apt-get) only; idempotent: installs only what
# is missing, and does nothing when everything is there. Uses sudo only when not root.
#
#   npm run bench:setup        # or: bash scripts/bench-setup.sh
#
# Not run by CI (.ci/run): CI runs only the smoke bench, which needs none of these.
set -euo pipefail

# command -> Debian package
declare -A PKG=([restic]=restic [borg]=borgbackup [zstd]=zstd [age]=age [/usr/bin/time]=time)

missing=()
for cmd in restic borg zstd age /usr/bin/time; do
  if [[ "$cmd" == /* ]]; then
    [[ -x "$cmd" ]] || missing+=("${PKG[$cmd]}")
  else
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${PKG[$cmd]}")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "bench-setup: everything is installed"
else
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "bench-setup: no apt-get here; install these yourself: ${missing[*]}" >&2
    exit 1
  fi
  SUDO=()
  if [[ "$(id -u)" != 0 ]]; then
    if ! command -v sudo >/dev/null 2>&1; then
      echo "bench-setup: not root and no sudo; install these as root: ${missing[*]}" >&2
      exit 1
    fi
    SUDO=(sudo)
  fi
  echo "bench-setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# What the bench will find (versions go into the bench's JSON too).
command -v restic >/dev/null && echo "  $(restic version | head -1)"
command -v borg >/dev/null && echo "  $(borg --version)"
command -v zstd >/dev/null && echo "  $(zstd --version)"
command -v age >/dev/null && echo "  age $(age --version)"
exit 0
