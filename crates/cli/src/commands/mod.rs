//! One module per subcommand.

pub(crate) mod bench;
pub(crate) mod chain;
pub(crate) mod circuit;
pub(crate) mod localnet;
pub(crate) mod miner;
pub(crate) mod prove;
pub(crate) mod query;
pub(crate) mod receipt;
pub(crate) mod request;
pub(crate) mod validator;
pub(crate) mod validator_tools;
pub(crate) mod verify;
pub(crate) mod wallet;
