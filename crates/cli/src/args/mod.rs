//! Flag groups shared by several commands: one `clap` struct per concern.

pub(crate) mod axon;
pub(crate) mod subtensor;
pub(crate) mod validator;
pub(crate) mod wallet;
