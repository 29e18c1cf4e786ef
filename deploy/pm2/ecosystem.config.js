// pm2 apps for the omron miner and validator (docs/install.md, "pm2"), the counterpart of the
// original subnet's ecosystem file and its `pm2 start ... --name miner/validator` commands.
//
//   WALLET_NAME=miner HOTKEY_NAME=default AXON_EXTERNAL_IP=203.0.113.7 \
//     pm2 start deploy/pm2/ecosystem.config.js --only omron-miner
//   WALLET_NAME=validator HOTKEY_NAME=default \
//     pm2 start deploy/pm2/ecosystem.config.js --only omron-validator
//
// pm2 reads this file when `pm2 start` runs, so the variables are those of that shell:
// OMRON_BIN (default: the clone's target/release/omron), NETUID (2), SUBTENSOR_NETWORK
// (finney), WALLET_NAME, HOTKEY_NAME (default), MINER_PORT (8091), AXON_EXTERNAL_IP (the
// address validators dial; the miner refuses 0.0.0.0 without it), VALIDATOR_PORT (8443), and
// ARGS (any other flags, split on spaces). `make pm2-miner` / `make pm2-validator` set them.
"use strict";

const path = require("path");

const env = process.env;
const root = path.resolve(__dirname, "..", "..");
const omron = env.OMRON_BIN || path.join(root, "target", "release", "omron");

const common = [
  "--netuid", env.NETUID || "2",
  "--subtensor.network", env.SUBTENSOR_NETWORK || "finney",
  "--wallet.name", env.WALLET_NAME || "default",
  "--wallet.hotkey", env.HOTKEY_NAME || env.WALLET_HOTKEY || "default",
];
const extra = (env.ARGS || "").split(/\s+/).filter(Boolean);

// The binary is not JavaScript: no interpreter. The working directory is the clone, where
// `circuits/` and an optional miner.config.toml are found. SIGINT first, as Ctrl-C; the
// original waits 3 s (--kill-timeout 3000) before SIGKILL, the nodes need less.
const app = (name, args) => ({
  name,
  script: omron,
  args,
  interpreter: "none",
  cwd: root,
  autorestart: true,
  restart_delay: 10000,
  kill_timeout: 3000,
  time: true,
});

module.exports = {
  apps: [
    app("omron-miner", [
      "miner",
      ...common,
      "--axon.port", env.MINER_PORT || "8091",
      ...(env.AXON_EXTERNAL_IP ? ["--axon.external_ip", env.AXON_EXTERNAL_IP] : []),
      ...extra,
    ]),
    app("omron-validator", [
      "validator",
      ...common,
      "--external-api-port", env.VALIDATOR_PORT || "8443",
      ...extra,
    ]),
  ],
};
