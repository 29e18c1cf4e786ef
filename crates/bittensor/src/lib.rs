//! Bittensor wallets and the axon/dendrite wire protocol (SDK <= 10.x and btauth/1).
