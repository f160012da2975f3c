#!/usr/bin/env bash
# Installs the Debian packages Gale builds with, when any is missing. Safe to run repeatedly:
# nothing is downloaded when everything is installed already.
set -euo pipefail

# cmake: meson finds msgpack-cxx (and doctest) through their CMake package configs.
# clang-14 and libclang-rt-14-dev (libFuzzer and the sanitizer runtimes): the fuzz test suite
# builds its targets with clang++ (docs/fuzzing.md).
# librdkafka-dev, libhiredis-dev, libpq-dev: the client libraries of the Kafka, Redis and
# PostgreSQL connectors (spouts/, bolts/); redis-server and postgresql: the real servers their
# tests start on loopback (Kafka's tests use librdkafka's built-in mock cluster: Debian has no
# Kafka broker).
packages=(
  libzmq3-dev cppzmq-dev libmsgpack-cxx-dev libboost-program-options-dev libspdlog-dev
  doctest-dev meson ninja-build pkg-config cmake g++ clang-14 libclang-rt-14-dev
  librdkafka-dev libhiredis-dev libpq-dev redis-server postgresql
)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$package")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "setup-deps: installing ${missing[*]}"
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q "${missing[@]}" </dev/null
