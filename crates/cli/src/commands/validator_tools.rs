//! `omron validator cert` and `omron validator export`: an operator's tools on a validator's
//! state folder, run beside (or without) the node.
//!
//! * `cert` prints the SHA-256 of the external API's certificate: what the node commits on
//!   chain and what clients pin (`omron request --cert-sha256`).
//! * `export` writes what the validator archived as plain files that anyone re-verifies:
//!   external requests (`external/<id>.json` with the receipt, `.proof`, `.input.json`; check
//!   with `omron receipt verify`) and proven score batches (`pow/<id>.json`, `.proof`,
//!   `.inputs.json`; check with `omron verify --miner-hotkey`).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use omron_validator::store::Store;

use crate::Outcome;
use crate::args::wallet::WalletArgs;

/// Tools on a validator's state.
#[derive(Debug, Subcommand)]
pub(crate) enum ValidatorTool {
    /// Print the SHA-256 fingerprint of the external API's certificate (generating the
    /// certificate if the state has none yet).
    Cert(CertArgs),
    /// Export archived external requests and proven score batches as re-verifiable files.
    Export(ExportArgs),
}

/// Where the state is.
#[derive(Debug, Args)]
pub(crate) struct StateArgs {
    /// The validator's state folder (default: the one `omron validator` uses for the wallet,
    /// hotkey and netuid).
    #[arg(long = "state", value_name = "DIR")]
    state: Option<PathBuf>,
    /// The subnet (for the default state folder).
    #[arg(long = "netuid", value_name = "NETUID", default_value_t = 2)]
    netuid: u16,
    #[command(flatten)]
    wallet: WalletArgs,
}

impl StateArgs {
    fn dir(&self) -> PathBuf {
        super::validator::default_state_dir(self.state.as_deref(), &self.wallet, self.netuid)
    }
}

/// `omron validator cert` flags.
#[derive(Debug, Args)]
pub(crate) struct CertArgs {
    #[command(flatten)]
    state: StateArgs,
    /// Folder of cert.pem and key.pem (default: <state>/cert).
    #[arg(long = "certificate-path", value_name = "DIR")]
    certificate_path: Option<PathBuf>,
}

/// `omron validator export` flags.
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    #[command(flatten)]
    state: StateArgs,
    /// Folder to write into (created; existing files of the same name are replaced).
    #[arg(long = "out", value_name = "DIR")]
    out: PathBuf,
    /// Only what was answered or proven at or after this block.
    #[arg(long = "since-block", value_name = "N", default_value_t = 0)]
    since_block: u64,
}

pub(crate) fn run(tool: ValidatorTool) -> anyhow::Result<Outcome> {
    match tool {
        ValidatorTool::Cert(a) => cert(a),
        ValidatorTool::Export(a) => export(a),
    }
}

fn cert(args: CertArgs) -> anyhow::Result<Outcome> {
    let dir = args
        .certificate_path
        .unwrap_or_else(|| args.state.dir().join("cert"));
    let cert = omron_validator::external::cert::load_or_generate(&dir, &[])
        .with_context(|| format!("certificate in {}", dir.display()))?;
    if cert.generated {
        eprintln!(
            "omron: generated a new self-signed certificate in {}",
            dir.display()
        );
    }
    println!("{}", cert.fingerprint);
    Ok(Outcome::Success)
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

fn export(args: ExportArgs) -> anyhow::Result<Outcome> {
    let state = args.state.dir();
    let db = state.join(super::validator::STATE_FILE);
    if !db.exists() {
        anyhow::bail!("no validator state at {}", db.display());
    }
    let store = Store::open(&db).with_context(|| format!("cannot open {}", db.display()))?;
    let ext_dir = args.out.join("external");
    let pow_dir = args.out.join("pow");
    std::fs::create_dir_all(&ext_dir)
        .with_context(|| format!("cannot create {}", ext_dir.display()))?;
    std::fs::create_dir_all(&pow_dir)
        .with_context(|| format!("cannot create {}", pow_dir.display()))?;

    let mut external = 0usize;
    let mut failed = 0usize;
    for row in store.external_since_block(args.since_block)? {
        let name = format!("{:08}", row.id);
        let mut doc = serde_json::to_value(&row.record)?;
        if let Some(p) = &row.record.proven {
            let proof = hex::decode(&p.proof).context("archived proof is not hex")?;
            write(&ext_dir.join(format!("{name}.proof")), &proof)?;
            write(
                &ext_dir.join(format!("{name}.input.json")),
                serde_json::to_string_pretty(&p.context)?.as_bytes(),
            )?;
            // The shape `omron receipt verify` reads: receipt, proof, context.input.
            if let serde_json::Value::Object(m) = &mut doc {
                m.insert("receipt".into(), p.receipt.clone());
                m.insert("proof".into(), serde_json::Value::String(p.proof.clone()));
                m.insert("output".into(), p.output.clone());
                m.insert("context".into(), serde_json::json!({ "input": p.context }));
            }
            external += 1;
        } else {
            failed += 1;
        }
        write(
            &ext_dir.join(format!("{name}.json")),
            serde_json::to_string_pretty(&doc)?.as_bytes(),
        )?;
    }

    let mut batches = 0usize;
    for p in store.recent_proofs(usize::MAX >> 1)? {
        if p.entry.block.unwrap_or(0) < args.since_block || !p.entry.verified {
            continue;
        }
        let name = format!("{:08}", p.id);
        write(&pow_dir.join(format!("{name}.proof")), &p.entry.proof)?;
        write(
            &pow_dir.join(format!("{name}.inputs.json")),
            p.entry.inputs_json.as_bytes(),
        )?;
        let meta = serde_json::json!({
            "circuit_id": p.entry.circuit_id,
            "prover_hotkey": p.entry.miner_hotkey,
            "block": p.entry.block,
            "output": serde_json::from_str::<serde_json::Value>(&p.entry.output_json).unwrap_or(serde_json::Value::Null),
            "request_hash": p.entry.request_hash,
            "verify": format!(
                "omron verify --circuit circuits/<dir of {}> --input {name}.inputs.json --proof {name}.proof --miner-hotkey {}",
                p.entry.circuit_id, p.entry.miner_hotkey
            ),
        });
        write(
            &pow_dir.join(format!("{name}.json")),
            serde_json::to_string_pretty(&meta)?.as_bytes(),
        )?;
        batches += 1;
    }
    println!(
        "exported {external} verified external requests ({failed} failed ones as records only) to {} and {batches} proven score batches to {}",
        ext_dir.display(),
        pow_dir.display()
    );
    Ok(Outcome::Success)
}
