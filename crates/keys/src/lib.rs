//! sr25519 keys, signatures and ss58 addresses as Bittensor uses them.
