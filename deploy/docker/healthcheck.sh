#!/bin/sh
# The image's HEALTHCHECK: GET /health on the node's metrics exporter, whose port the container
# names in OMRON_HEALTH_PORT (the --prometheus.port it passes). The miner answers 503 until its
# hotkey is registered, the validator 200 once it runs. Without an exporter there is nothing
# to ask, and the container counts as healthy while the process runs.
set -eu
[ -n "${OMRON_HEALTH_PORT:-}" ] || exit 0
exec curl --fail --silent --show-error --max-time 4 -o /dev/null \
    "http://127.0.0.1:${OMRON_HEALTH_PORT}/health"
