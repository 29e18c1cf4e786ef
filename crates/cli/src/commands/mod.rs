//! One module per subcommand.

pub(crate) mod bench;
pub(crate) mod circuit;
pub(crate) mod prove;
pub(crate) mod verify;
pub(crate) mod chain;
pub(crate) mod wallet;
pub(crate) mod query;
pub(crate) mod validator;
pub(crate) mod miner;
pub(crate) mod localnet;
