//! One module per subcommand.

pub(crate) mod bench;
pub(crate) mod circuit;
pub(crate) mod prove;
pub(crate) mod verify;
pub(crate) mod chain;
