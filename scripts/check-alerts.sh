#!/usr/bin/env bash
# Checks the Prometheus alert rules (deploy/prometheus/alerts.yml): syntax with
# `promtool check rules`, behaviour with the unit tests of deploy/prometheus/alerts_test.yml
# (`promtool test rules`). Installs promtool from Debian's `prometheus` package when it is
# missing; a failed install fails the run (nothing is skipped silently).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v promtool >/dev/null; then
    echo "check-alerts: promtool missing; installing Debian's prometheus package" >&2
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
    command -v promtool >/dev/null || { echo "check-alerts: promtool still missing after install" >&2; exit 1; }
fi

promtool check rules deploy/prometheus/alerts.yml
# Run from the rules' folder: alerts_test.yml names alerts.yml relative to itself.
(cd deploy/prometheus && promtool test rules alerts_test.yml)
