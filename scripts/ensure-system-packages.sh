#!/usr/bin/env bash
# Makes sure the Debian packages the tests need are installed: as root on Debian, missing ones are
# installed with apt-get; otherwise the run stops with one line naming them. No test is skipped
# for want of a package.
set -euo pipefail

# package → a file that exists once it is installed
declare -A probes=(
  [chromium]=/usr/bin/chromium
  [fonts-noto-cjk]=/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
  [redis-server]=/usr/bin/redis-server
  [postgresql]=/usr/lib/postgresql/15/bin/postgres
  [nginx]=/usr/sbin/nginx
  # The fault tests: network namespaces, veth pairs and a bridge (ip), faults (iptables).
  [iproute2]=/bin/ip
  [iptables]=/usr/sbin/iptables
)

missing=()
for package in "${!probes[@]}"; do
  [ -e "${probes[$package]}" ] || missing+=("$package")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "missing system packages for the tests: ${missing[*]} (install them with: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
