#!/usr/bin/env bash
# Make sure the system programs a make target needs are here: `tools/system-packages.sh COMMAND=PACKAGE ...`.
# Missing ones are installed with apt-get when this user can (root on Debian/Ubuntu); otherwise this stops at
# once with the one line to run.
set -euo pipefail
missing=()
for pair in "$@"; do
  command -v "${pair%%=*}" >/dev/null 2>&1 || missing+=("${pair#*=}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
  exit 0
fi
echo "Missing system packages. Run: sudo apt-get install -y ${missing[*]}" >&2
exit 1
