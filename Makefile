# Shortcuts for operators, named as the original subnet's makefile names them (docs/install.md).
#
#   make miner WALLET_NAME=miner HOTKEY_NAME=default AXON_EXTERNAL_IP=203.0.113.7
#   make validator WALLET_NAME=validator HOTKEY_NAME=default
#   make test-miner ...      # the same on testnet (netuid 118, --subtensor.network test)
#   make localnet            # the whole subnet on this machine (ARGS="--duration 120")
#   make pm2-miner ... / make pm2-validator ... / make pm2-stop
#   make docker / make docker-miner ... / make docker-validator ... / make docker-stop
#   make build / make install PREFIX=~/.local / make test / make check-deploy
#
# ARGS adds any other flags, e.g. ARGS="--logging.debug --max-concurrent-proofs 4".

WALLET_NAME ?= default
# The original's makefile reads WALLET_HOTKEY, its README says HOTKEY_NAME: both work.
WALLET_HOTKEY ?= default
HOTKEY_NAME ?= $(WALLET_HOTKEY)
WALLET_PATH ?= $(HOME)/.bittensor/wallets
NETUID ?= 2
SUBTENSOR_NETWORK ?= finney
MINER_PORT ?= 8091
VALIDATOR_PORT ?= 8443
AXON_EXTERNAL_IP ?=
ARGS ?=
PREFIX ?= $(HOME)/.local
OMRON ?= target/release/omron
IMAGE ?= omron

WALLET_FLAGS = --wallet.name $(WALLET_NAME) --wallet.hotkey $(HOTKEY_NAME) --wallet.path $(WALLET_PATH)
MINER_FLAGS = --axon.port $(MINER_PORT) $(if $(AXON_EXTERNAL_IP),--axon.external_ip $(AXON_EXTERNAL_IP))
VALIDATOR_FLAGS = --external-api-port $(VALIDATOR_PORT)
# What pm2 and docker compose read (deploy/pm2/ecosystem.config.js, docker-compose.yml).
NODE_ENV_VARS = NETUID=$(NETUID) SUBTENSOR_NETWORK=$(SUBTENSOR_NETWORK) \
	WALLET_NAME=$(WALLET_NAME) HOTKEY_NAME=$(HOTKEY_NAME) WALLET_PATH=$(WALLET_PATH) \
	MINER_PORT=$(MINER_PORT) VALIDATOR_PORT=$(VALIDATOR_PORT) VALIDATOR_API_PORT=$(VALIDATOR_PORT) \
	AXON_EXTERNAL_IP=$(AXON_EXTERNAL_IP) ARGS="$(ARGS)"

.PHONY: build install test check-deploy localnet miner validator test-miner test-validator \
	pm2-miner pm2-validator pm2-stop docker docker-miner docker-validator docker-stop

build:
	cargo build --release --locked -p omron-cli

install:
	./scripts/install.sh --prefix $(PREFIX) --yes

test:
	./scripts/test.sh

check-deploy:
	./scripts/check-deploy.sh

localnet: build
	$(OMRON) localnet $(ARGS)

miner: build
	$(OMRON) miner --netuid $(NETUID) --subtensor.network $(SUBTENSOR_NETWORK) $(WALLET_FLAGS) $(MINER_FLAGS) $(ARGS)

validator: build
	$(OMRON) validator --netuid $(NETUID) --subtensor.network $(SUBTENSOR_NETWORK) $(WALLET_FLAGS) $(VALIDATOR_FLAGS) $(ARGS)

# The original's testnet targets: netuid 118 on the test network; the miner serves everyone.
test-miner: build
	$(OMRON) miner --netuid 118 --subtensor.network test --disable-blacklist $(WALLET_FLAGS) $(MINER_FLAGS) $(ARGS)

test-validator: build
	$(OMRON) validator --netuid 118 --subtensor.network test $(WALLET_FLAGS) $(VALIDATOR_FLAGS) $(ARGS)

pm2-miner: build
	$(NODE_ENV_VARS) OMRON_BIN=$(abspath $(OMRON)) pm2 start deploy/pm2/ecosystem.config.js --only omron-miner

pm2-validator: build
	$(NODE_ENV_VARS) OMRON_BIN=$(abspath $(OMRON)) pm2 start deploy/pm2/ecosystem.config.js --only omron-validator

pm2-stop:
	-pm2 delete omron-miner
	-pm2 delete omron-validator

docker:
	docker build -t $(IMAGE) .

docker-miner:
	$(NODE_ENV_VARS) PUID=$$(id -u) PGID=$$(id -g) docker compose up -d --build miner

docker-validator:
	$(NODE_ENV_VARS) PUID=$$(id -u) PGID=$$(id -g) docker compose up -d --build validator

docker-stop:
	docker compose down
