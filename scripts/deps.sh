#!/usr/bin/env bash
# Installs the Debian packages runnerfleet needs to build, test and run the
# demo, and only those that are missing. Uses sudo when not root.
set -euo pipefail
pkgs=(build-essential cmake pkg-config libcurl4-openssl-dev libyaml-dev libcjson-dev libev-dev
      libcmocka-dev python3 openssl curl ca-certificates valgrind)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
