//! The Chain trait, an embedded local subtensor with Yuma consensus, and a client for the real network.
