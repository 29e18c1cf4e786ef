//! `omron wallet create|list|show`: Bittensor wallets in the SDK's layout and formats.
//!
//! A coldkey password comes from `BT_WALLET_PASSWORD`, the per-keyfile `BT_PW_<PATH>` variable
//! of bittensor-wallet, `BT_WALLET_PASSWORD_FILE`, or a prompt when a terminal is attached.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use omron_bittensor::wallet::{Wallet, WalletError, password_from_env};
use zeroize::Zeroizing;

use crate::Outcome;
use crate::args::wallet::WalletArgs;

/// Wallet subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum WalletCommand {
    /// Create a wallet: a coldkey (unless the wallet has one) and the hotkey. Prints the
    /// recovery phrases: write them down, they are shown once. The coldkey is encrypted with a
    /// password (BT_WALLET_PASSWORD or a prompt) unless --no-password is given.
    Create(CreateArgs),
    /// List the wallets under --wallet.path with their coldkey and hotkey addresses.
    List(ListArgs),
    /// Show a wallet's coldkey and hotkey addresses.
    Show(ShowArgs),
}

/// `omron wallet create`.
#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    #[command(flatten)]
    wallet: WalletArgs,
    /// Store the coldkey unencrypted (only for test wallets).
    #[arg(long = "no-password")]
    no_password: bool,
}

/// `omron wallet list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    wallet: WalletArgs,
}

/// `omron wallet show`.
#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    #[command(flatten)]
    wallet: WalletArgs,
    /// Also decrypt the coldkey (password from the environment or a prompt) and check it
    /// matches coldkeypub.txt.
    #[arg(long)]
    unlock: bool,
}

pub(crate) fn run(cmd: WalletCommand) -> anyhow::Result<Outcome> {
    match cmd {
        WalletCommand::Create(args) => create(&args),
        WalletCommand::List(args) => list(&args.wallet),
        WalletCommand::Show(args) => show(&args),
    }
}

/// A password from the environment or, on a terminal, typed (twice when `confirm`).
pub(crate) fn coldkey_password(keyfile: &Path, confirm: bool) -> anyhow::Result<Zeroizing<String>> {
    if let Some(pw) = password_from_env(keyfile)? {
        return Ok(pw);
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "{} needs a password: set BT_WALLET_PASSWORD (or BT_WALLET_PASSWORD_FILE), or run in a terminal",
            keyfile.display()
        );
    }
    let first = Zeroizing::new(
        rpassword::prompt_password(format!("Password for {}: ", keyfile.display()))
            .context("reading the password")?,
    );
    if first.is_empty() {
        bail!("the password cannot be empty");
    }
    if confirm {
        let again = Zeroizing::new(
            rpassword::prompt_password("Retype the password: ").context("reading the password")?,
        );
        if *again != *first {
            bail!("the passwords do not match");
        }
    }
    Ok(first)
}

fn create(args: &CreateArgs) -> anyhow::Result<Outcome> {
    let wallet = args.wallet.wallet()?;
    let has_coldkey = wallet.coldkey_path().exists();
    let has_hotkey = wallet.hotkey_path().exists();
    if has_coldkey && has_hotkey {
        bail!(
            "wallet {:?} already has a coldkey and hotkey {:?} at {}; nothing to create",
            wallet.name(),
            wallet.hotkey_name(),
            wallet.dir().display()
        );
    }
    if has_coldkey {
        let cold = wallet
            .coldkey_public()
            .context("reading the existing coldkeypub.txt")?;
        println!("coldkey: {cold} (existing)");
    } else {
        let password = if args.no_password {
            None
        } else {
            Some(coldkey_password(&wallet.coldkey_path(), true)?)
        };
        let created = wallet
            .create_coldkey(password.as_deref().map(String::as_str))
            .context("creating the coldkey")?;
        println!(
            "coldkey: {} ({})",
            created.account,
            if password.is_some() {
                "encrypted"
            } else {
                "NOT encrypted"
            }
        );
        println!("coldkey mnemonic: {}", created.mnemonic.as_str());
        println!("  write this phrase down: it is the only way to recover the coldkey.");
    }
    if has_hotkey {
        let hot = wallet
            .hotkey_public()
            .context("reading the existing hotkey")?;
        println!("hotkey {}: {hot} (existing)", wallet.hotkey_name());
    } else {
        let created = wallet.create_hotkey().context("creating the hotkey")?;
        println!("hotkey {}: {}", wallet.hotkey_name(), created.account);
        println!("hotkey mnemonic: {}", created.mnemonic.as_str());
    }
    println!("wallet: {}", wallet.dir().display());
    Ok(Outcome::Success)
}

fn list(args: &WalletArgs) -> anyhow::Result<Outcome> {
    let root = args.root();
    let wallets = Wallet::list(&root)?;
    if wallets.is_empty() {
        println!("no wallets under {}", root.display());
        return Ok(Outcome::Success);
    }
    let show =
        |a: &Option<omron_keys::AccountId>| a.map_or("(unreadable)".to_owned(), |a| a.to_ss58());
    for w in wallets {
        println!("{}  coldkey {}", w.name, show(&w.coldkey));
        for (name, account) in &w.hotkeys {
            println!("  hotkey {name}  {}", show(account));
        }
    }
    Ok(Outcome::Success)
}

fn show(args: &ShowArgs) -> anyhow::Result<Outcome> {
    let wallet = args.wallet.wallet()?;
    println!("wallet: {} ({})", wallet.name(), wallet.dir().display());
    let cold = wallet
        .coldkey_public()
        .context("reading the coldkey address")?;
    println!("coldkey: {cold}");
    match wallet.hotkey_public() {
        Ok(hot) => println!("hotkey {}: {hot}", wallet.hotkey_name()),
        // A wallet may hold only a coldkey; that is not an error.
        Err(WalletError::NotFound { .. }) => println!("hotkey {}: (none)", wallet.hotkey_name()),
        Err(e) => return Err(e).context("reading the hotkey address"),
    }
    if args.unlock {
        let pair = if wallet.coldkey_is_encrypted()? {
            let password = coldkey_password(&wallet.coldkey_path(), false)?;
            wallet.coldkey(Some(&password)).map_err(|e| match e {
                WalletError::WrongPassword => anyhow::anyhow!(
                    "wrong password for {}: the coldkey could not be decrypted",
                    wallet.coldkey_path().display()
                ),
                other => other.into(),
            })?
        } else {
            println!("coldkey is NOT encrypted");
            wallet.coldkey(None)?
        };
        println!("coldkey unlocked: {}", pair.public());
    }
    Ok(Outcome::Success)
}
