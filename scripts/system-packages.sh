#!/usr/bin/env bash
# Installs the Debian packages that the test tiers need when they are missing: promtool and Prometheus
# (monitoring), the Pushgateway (batch job metrics), Java (the Spark scoring test), podman, buildah,
# runc and debootstrap (real image builds and runs), wrk (load), nodejs and npm (the schema
# validators of tests/schemas/, Renovate in tools/renovate/, gitlab-ci-local), rsync (gitlab-ci-local
# copies the repository with it), g++ (`npm ci` compiles gitlab-ci-local's re2 module when no
# prebuilt one can be downloaded), chromium (the fleet report page, opened headless).
# Needs root and apt-get; elsewhere it names what is missing and fails, so no test silently skips.
set -euo pipefail

declare -A command_of=(
  [prometheus]=promtool
  [prometheus-pushgateway]=prometheus-pushgateway
  [openjdk-17-jre-headless]=java
  [podman]=podman
  [buildah]=buildah
  [runc]=runc
  [debootstrap]=debootstrap
  [wrk]=wrk
  [nodejs]=node
  [npm]=npm
  [chromium]=chromium
  [rsync]=rsync
  [g++]=g++
)
export PATH="$PATH:/usr/sbin:/sbin"

missing=()
for package in "${!command_of[@]}"; do
  command -v "${command_of[$package]}" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "missing system packages: ${missing[*]}" >&2
  echo "install them (Debian/Ubuntu: sudo apt-get install ${missing[*]}) and run make test again" >&2
  exit 1
fi

echo "installing system packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
