//! `omron query`: send one signed request to an axon and print what came back: the operator's
//! tool to check a miner from outside.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use omron_bittensor::axon::AuthScheme;
use omron_bittensor::dendrite::{AxonTarget, Dendrite, DendriteConfig};
use omron_bittensor::json::{self, JsonObject, JsonValue};
use omron_bittensor::synapse::{Envelope, Ping, Synapse};
use omron_bittensor::wallet::WalletError;
use omron_keys::{AccountId, Keypair};
use omron_protocol::{Competition, ProofOfWeightsSynapse, QueryForCapacities, QueryZkProof};

use crate::Outcome;
use crate::args::wallet::WalletArgs;

/// `omron query`.
#[derive(Debug, Args)]
pub(crate) struct QueryArgs {
    /// The axon's address.
    #[arg(long = "axon", value_name = "IP:PORT")]
    axon: SocketAddr,
    /// The axon's hotkey (requests are signed for it).
    #[arg(long = "axon.hotkey", value_name = "SS58")]
    axon_hotkey: AccountId,
    /// The synapse: QueryZkProof, ProofOfWeightsSynapse, QueryForCapacities, Competition, or
    /// Synapse (a ping).
    #[arg(long = "synapse", value_name = "NAME")]
    synapse: String,
    /// The synapse's fields as JSON, e.g. '{"query_input": {...}}'.
    #[arg(long = "body", value_name = "JSON", default_value = "{}")]
    body: String,
    /// Seconds to wait for the answer.
    #[arg(long = "timeout", value_name = "SECONDS", default_value_t = 12.0)]
    timeout: f64,
    /// Sign with btauth/1 (SDK 11) instead of the axon/dendrite scheme of SDK <= 10.
    #[arg(long = "btauth")]
    btauth: bool,
    #[command(flatten)]
    wallet: WalletArgs,
}

/// The synapse names `--synapse` accepts.
const NAMES: [&str; 5] = [
    "QueryZkProof",
    "ProofOfWeightsSynapse",
    "QueryForCapacities",
    "Competition",
    "Synapse",
];

pub(crate) fn run(args: QueryArgs) -> anyhow::Result<Outcome> {
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        bail!("--timeout must be a positive number of seconds");
    }
    let body = json::parse(args.body.as_bytes()).context("--body is not valid JSON")?;
    let hotkey = load_hotkey(&args.wallet)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let answer = runtime.block_on(async {
        match args.synapse.as_str() {
            "QueryZkProof" => send::<QueryZkProof>(&args, hotkey, body).await,
            "ProofOfWeightsSynapse" => send::<ProofOfWeightsSynapse>(&args, hotkey, body).await,
            "QueryForCapacities" => send::<QueryForCapacities>(&args, hotkey, body).await,
            "Competition" => send::<Competition>(&args, hotkey, body).await,
            "Synapse" => send::<Ping>(&args, hotkey, body).await,
            other => bail!("unknown synapse {other:?}; use one of {}", NAMES.join(", ")),
        }
    })?;
    let success = matches!(answer.get("status_code"), Some(JsonValue::Int(200)));
    println!(
        "{}",
        serde_json::to_string_pretty(&JsonValue::Object(answer))?
    );
    Ok(if success {
        Outcome::Success
    } else {
        Outcome::Rejected
    })
}

fn load_hotkey(args: &WalletArgs) -> anyhow::Result<Keypair> {
    let wallet = args.wallet()?;
    match wallet.hotkey() {
        Ok(pair) => Ok(pair),
        Err(WalletError::PasswordRequired { path }) => {
            let password = super::wallet::coldkey_password(&path, false)?;
            Ok(wallet.hotkey_with_password(Some(&password))?)
        }
        Err(e) => Err(e).context("loading the hotkey"),
    }
}

/// Sends the query; returns `{status_code, status_message, process_time, response}`, the
/// response in the order it was received.
async fn send<S: Synapse>(
    args: &QueryArgs,
    hotkey: Keypair,
    body: JsonValue,
) -> anyhow::Result<JsonObject> {
    let fields = match body {
        JsonValue::Object(o) => o,
        _ => bail!("--body must be a JSON object of {} fields", S::NAME),
    };
    let synapse = Envelope::<S>::from_value(JsonValue::Object(fields))
        .with_context(|| format!("--body does not fit {}", S::NAME))?
        .synapse;
    let config = DendriteConfig {
        scheme: if args.btauth {
            AuthScheme::BtAuth1
        } else {
            AuthScheme::Sdk
        },
        ..DendriteConfig::default()
    };
    let dendrite = Dendrite::with_config(hotkey, config)?;
    let target = AxonTarget {
        ip: args.axon.ip().to_string(),
        port: args.axon.port(),
        hotkey: args.axon_hotkey,
    };
    let got = dendrite
        .query(&target, synapse, Duration::from_secs_f64(args.timeout))
        .await;
    let response = match got.to_object() {
        Ok(o) => JsonValue::Object(o),
        Err(e) => {
            let mut o = JsonObject::new();
            o.insert("error", JsonValue::String(e.to_string()));
            JsonValue::Object(o)
        }
    };
    let d = &got.base.dendrite;
    let mut out = JsonObject::new();
    out.insert(
        "status_code",
        d.status_code
            .map_or(JsonValue::Null, |c| JsonValue::Int(c.into())),
    );
    out.insert(
        "status_message",
        d.status_message
            .clone()
            .map_or(JsonValue::Null, JsonValue::String),
    );
    out.insert(
        "process_time",
        d.process_time.map_or(JsonValue::Null, JsonValue::Float),
    );
    out.insert("response", response);
    Ok(out)
}
