//! `--wallet.*`: which Bittensor wallet a command uses (the SDK's flags and environment).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use omron_bittensor::wallet::{DEFAULT_WALLET_PATH, Wallet, expand_home};

/// Wallet selection, shared by every command that signs or shows keys.
#[derive(Debug, Clone, Args, PartialEq, Eq)]
#[command(next_help_heading = "Wallet")]
pub(crate) struct WalletArgs {
    /// Wallet name: the folder under --wallet.path holding the coldkey.
    #[arg(
        long = "wallet.name",
        value_name = "NAME",
        default_value = "default",
        env = "BT_WALLET_NAME"
    )]
    pub(crate) name: String,
    /// Hotkey name: the file under <wallet>/hotkeys/.
    #[arg(
        long = "wallet.hotkey",
        value_name = "HOTKEY",
        default_value = "default",
        env = "BT_WALLET_HOTKEY"
    )]
    pub(crate) hotkey: String,
    /// Folder holding the wallets (`~` is your home).
    #[arg(
        long = "wallet.path",
        value_name = "DIR",
        default_value = DEFAULT_WALLET_PATH,
        env = "BT_WALLET_PATH"
    )]
    pub(crate) path: String,
}

impl Default for WalletArgs {
    fn default() -> Self {
        Self {
            name: "default".into(),
            hotkey: "default".into(),
            path: DEFAULT_WALLET_PATH.into(),
        }
    }
}

impl WalletArgs {
    /// The wallet root with `~` expanded.
    pub(crate) fn root(&self) -> PathBuf {
        expand_home(&self.path)
    }

    /// The selected wallet (nothing is read yet).
    pub(crate) fn wallet(&self) -> anyhow::Result<Wallet> {
        Wallet::new(self.root(), &self.name, &self.hotkey)
            .context("invalid --wallet.name or --wallet.hotkey")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: WalletArgs,
    }

    #[test]
    fn empty_args_are_the_default() {
        // Parsing an empty command line reads the SDK's variables, which a developer may have
        // set; the declared defaults are checked directly instead, and parsed when unset.
        use clap::CommandFactory;
        let cmd = Wrapper::command();
        let default_of = |id: &str| -> String {
            let arg = cmd.get_arguments().find(|a| a.get_id() == id).unwrap();
            arg.get_default_values()[0].to_string_lossy().into_owned()
        };
        let declared = WalletArgs {
            name: default_of("name"),
            hotkey: default_of("hotkey"),
            path: default_of("path"),
        };
        assert_eq!(declared, WalletArgs::default());
        if ["BT_WALLET_NAME", "BT_WALLET_HOTKEY", "BT_WALLET_PATH"]
            .iter()
            .all(|v| std::env::var_os(v).is_none())
        {
            assert_eq!(
                Wrapper::try_parse_from(["x"]).unwrap().args,
                WalletArgs::default()
            );
        }
    }

    #[test]
    fn dotted_flags() {
        let parsed = Wrapper::try_parse_from([
            "x",
            "--wallet.name",
            "miner",
            "--wallet.hotkey",
            "hk",
            "--wallet.path",
            "/w",
        ])
        .unwrap();
        let w = parsed.args.wallet().unwrap();
        assert_eq!(w.coldkey_path(), PathBuf::from("/w/miner/coldkey"));
        assert_eq!(w.hotkey_path(), PathBuf::from("/w/miner/hotkeys/hk"));
        assert!(
            Wrapper::try_parse_from(["x", "--wallet.name", "../x"])
                .unwrap()
                .args
                .wallet()
                .is_err()
        );
    }
}
