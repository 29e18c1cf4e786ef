//! `omron request`: ask a validator's external API for a proven inference, and check the
//! answer here, with the circuit's own files, before showing any of it.
//!
//! The validator's certificate is pinned (`--cert-sha256`, or the SHA-256 its hotkey commits
//! on chain), the connection is signed with the caller's hotkey, and the answer's proof is
//! verified against the input read from `--input`: the validator's `success: true` is never
//! taken on faith. Exit 0 with the output, the miner and the receipt; 1 when an answer came
//! but does not verify; 2 when none came (connection, pin, refusal, JSON-RPC error, timeout)
//! or the command line is unusable.
//!
//! [`request_and_verify`] is the whole exchange for callers other than the command (tests,
//! other commands): give it a resolved [`Request`] and a key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use omron_api::rpc::{PROOF_OF_COMPUTATION, PROOF_OF_WEIGHTS};
use omron_api::tls::parse_fingerprint;
use omron_api::{
    ApiClient, AppRequest, ClientError, InferenceResult, Pin, ProofOfComputationParams,
    ProofOfWeightsParams, VerifiedAnswer, check_answer,
};
use omron_bittensor::wallet::WalletError;
use omron_circuit::{CircuitStore, METADATA_FILE, StoredCircuit};
use omron_keys::{AccountId, Keypair};
use serde_json::Value;

use super::receipt::Record;
use crate::Outcome;
use crate::args::subtensor::SubtensorArgs;
use crate::args::wallet::WalletArgs;

/// `omron request`.
#[derive(Debug, Args)]
pub(crate) struct RequestArgs {
    /// The validator's API: wss://HOST:PORT (the path defaults to /rpc).
    #[arg(long = "validator", value_name = "URL")]
    validator: String,
    /// The circuit: its id (hex), its folder name under --circuits, its metadata name, or a
    /// circuit folder.
    #[arg(long, value_name = "NAME_OR_ID")]
    circuit: String,
    /// The input: `{"input_data": [[...]]}` (an optional "nonce", 8 to 64 bytes of hex, binds
    /// the proof to your own nonce); for a proof-of-weights circuit, the evaluation batch.
    #[arg(long, value_name = "INPUT.json")]
    input: PathBuf,
    /// Folder of circuits the answer is verified with (default: `circuits/` of the working
    /// directory or of the repository).
    #[arg(long, value_name = "DIR")]
    circuits: Option<PathBuf>,
    /// SHA-256 of the validator's certificate (64 hex digits; `:` separators allowed).
    #[arg(long = "cert-sha256", value_name = "HEX")]
    cert_sha256: Option<String>,
    /// The validator's hotkey: the receipt must be signed by it, and unless --cert-sha256 is
    /// given the certificate's SHA-256 is read from its commitment on --netuid.
    #[arg(long = "validator-hotkey", value_name = "SS58")]
    validator_hotkey: Option<AccountId>,
    /// The subnet: where the validator's certificate is committed, and the `x-netuid` header
    /// that lets a validator-permit holder of that subnet in (a proof-of-weights request sends
    /// its circuit's subnet instead).
    #[arg(long, value_name = "NETUID")]
    netuid: Option<u16>,
    /// Seconds to wait for the answer (default: twice the circuit's timeout, at least 120).
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<f64>,
    /// Write the verified answer to this file: `{"output", "proof", "receipt", "context"}`,
    /// which `omron receipt verify --receipt FILE` checks again.
    #[arg(long = "output-json", value_name = "FILE")]
    output_json: Option<PathBuf>,
    /// For development: sign with this key URI (e.g. //Alice) instead of the wallet's hotkey.
    #[arg(long = "key-uri", value_name = "URI")]
    key_uri: Option<String>,
    #[command(flatten)]
    wallet: WalletArgs,
    #[command(flatten)]
    subtensor: SubtensorArgs,
}

/// One request, resolved from the flags: where, what, and what the answer must satisfy.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    /// The validator's URL.
    pub(crate) url: String,
    /// How its certificate is trusted.
    pub(crate) pin: Pin,
    /// The circuit, whose files verify the answer.
    pub(crate) circuit: StoredCircuit,
    /// The app's input (`input`), or the evaluation batch of a proof-of-weights circuit.
    pub(crate) input: Value,
    /// The `x-netuid` header.
    pub(crate) netuid: Option<u16>,
    /// When set, the receipt must be signed by this validator.
    pub(crate) validator_hotkey: Option<AccountId>,
    /// How long connecting and answering may take, together.
    pub(crate) timeout: Duration,
}

impl Request {
    /// The JSON-RPC method and its parameters.
    pub(crate) fn method_and_params(&self) -> anyhow::Result<(&'static str, Value)> {
        if self.circuit.is_proof_of_weights() {
            let params = ProofOfWeightsParams {
                evaluation_data: self.input.clone(),
                weights_version: self.circuit.metadata.weights_version,
            };
            Ok((PROOF_OF_WEIGHTS, serde_json::to_value(params)?))
        } else {
            let params = ProofOfComputationParams {
                circuit: self.circuit.id(),
                input: self.input.clone(),
            };
            Ok((PROOF_OF_COMPUTATION, serde_json::to_value(params)?))
        }
    }

    fn app_request(&self) -> AppRequest<'_> {
        if self.circuit.is_proof_of_weights() {
            AppRequest::Weights {
                evaluation_data: &self.input,
            }
        } else {
            AppRequest::Computation { input: &self.input }
        }
    }
}

/// Why [`request_and_verify`] has no verified answer.
#[derive(Debug)]
pub(crate) enum RequestError {
    /// No answer came: connection, pin, refusal, JSON-RPC error or timeout.
    NoAnswer(ClientError),
    /// The request could not be built.
    Request(String),
    /// An answer came but is not an inference result.
    Unreadable(String),
    /// An answer came but does not verify; the reason.
    Rejected(String),
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoAnswer(e) => write!(f, "{e}"),
            Self::Request(e) => write!(f, "cannot build the request: {e}"),
            Self::Unreadable(e) => write!(f, "the validator's answer is unreadable: {e}"),
            Self::Rejected(e) => write!(f, "the validator's answer does not verify: {e}"),
        }
    }
}

impl std::error::Error for RequestError {}

/// An answer that passed every check.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    /// What the validator sent.
    pub(crate) result: InferenceResult,
    /// What was verified: the output, the miner and the receipt's signer.
    pub(crate) verified: VerifiedAnswer,
}

/// Connects to the validator, sends the request signed with `key`, and checks the answer with
/// the circuit's files: the proof against the app's own input, every field of the answer and
/// of the receipt, the receipt's signature, and (when known) its signer.
pub(crate) async fn request_and_verify(
    req: &Request,
    key: &Keypair,
) -> Result<Answer, RequestError> {
    let (method, params) = req
        .method_and_params()
        .map_err(|e| RequestError::Request(e.to_string()))?;
    let exchange = async {
        let mut client = ApiClient::connect(&req.url, &req.pin, key, req.netuid).await?;
        let answer = client.call(method, params, req.timeout).await;
        client.close().await;
        answer
    };
    let value = tokio::time::timeout(req.timeout, exchange)
        .await
        .map_err(|_| RequestError::NoAnswer(ClientError::Timeout(req.timeout)))?
        .map_err(RequestError::NoAnswer)?;
    let result: InferenceResult =
        serde_json::from_value(value).map_err(|e| RequestError::Unreadable(e.to_string()))?;
    let verified = check_answer(&req.circuit, req.app_request(), &result)
        .map_err(|e| RequestError::Rejected(e.to_string()))?;
    if result.receipt.body.method != method {
        return Err(RequestError::Rejected(format!(
            "the receipt is for {}, the request was {method}",
            result.receipt.body.method
        )));
    }
    if let Some(expected) = &req.validator_hotkey
        && verified.validator != *expected
    {
        return Err(RequestError::Rejected(format!(
            "the receipt is signed by {}, not by the validator asked ({expected})",
            verified.validator
        )));
    }
    Ok(Answer { result, verified })
}

/// The circuit `wanted` names: a circuit folder, or a circuit of the store found by id, folder
/// name or metadata name (case-insensitive).
pub(crate) fn find_circuit(
    store_flag: Option<&Path>,
    wanted: &str,
) -> anyhow::Result<StoredCircuit> {
    let as_dir = Path::new(wanted);
    if as_dir.join(METADATA_FILE).is_file() {
        return StoredCircuit::load(as_dir)
            .with_context(|| format!("cannot load the circuit in {}", as_dir.display()));
    }
    let (dir, store) = load_store(store_flag)?;
    let id = wanted.trim().trim_start_matches("0x").to_ascii_lowercase();
    let found: Vec<&StoredCircuit> = store
        .iter()
        .filter(|c| {
            c.id() == id
                || c.metadata.name.eq_ignore_ascii_case(wanted)
                || c.path
                    .file_name()
                    .is_some_and(|f| f.to_string_lossy().eq_ignore_ascii_case(wanted))
        })
        .collect();
    match found.as_slice() {
        [one] => Ok((*one).clone()),
        [] => {
            let known: Vec<String> = store
                .iter()
                .map(|c| {
                    let folder = c
                        .path
                        .file_name()
                        .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
                    format!("{folder} ({})", c.metadata.name)
                })
                .collect();
            bail!(
                "no circuit '{wanted}' in {}; known: {}",
                dir.display(),
                known.join(", ")
            )
        }
        many => bail!(
            "'{wanted}' names {} circuits in {}; give the circuit id",
            many.len(),
            dir.display()
        ),
    }
}

/// A circuit store: the folder itself when it is one circuit, else its circuit folders.
fn load_store(flag: Option<&Path>) -> anyhow::Result<(PathBuf, CircuitStore)> {
    if let Some(dir) = flag
        && dir.join(METADATA_FILE).is_file()
    {
        let one = StoredCircuit::load(dir)
            .with_context(|| format!("cannot load the circuit in {}", dir.display()))?;
        return Ok((dir.to_path_buf(), CircuitStore::from_circuits(vec![one])));
    }
    super::miner::load_store(flag)
}

/// The key that signs the request: `--key-uri`, else the wallet's hotkey.
fn signing_key(wallet: &WalletArgs, key_uri: Option<&str>) -> anyhow::Result<Keypair> {
    if let Some(uri) = key_uri {
        return Keypair::from_uri(uri)
            .with_context(|| format!("--key-uri `{uri}` is not a key URI (e.g. //Alice)"));
    }
    let wallet = wallet.wallet()?;
    match wallet.hotkey() {
        Ok(pair) => Ok(pair),
        Err(WalletError::PasswordRequired { path }) => {
            let password = super::wallet::coldkey_password(&path, false)?;
            Ok(wallet.hotkey_with_password(Some(&password))?)
        }
        Err(e) => Err(e).context("loading the hotkey (or pass --key-uri for a dev key)"),
    }
}

/// The certificate pin: `--cert-sha256`, else the validator hotkey's commitment on chain, else
/// none for a plain `ws://` URL.
async fn resolve_pin(args: &RequestArgs) -> anyhow::Result<Pin> {
    if let Some(text) = &args.cert_sha256 {
        return cert_pin(text);
    }
    if let Some(hotkey) = &args.validator_hotkey {
        let Some(netuid) = args.netuid else {
            bail!(
                "--validator-hotkey without --cert-sha256 needs --netuid to read the certificate's SHA-256 from chain"
            );
        };
        return pin_from_chain(&args.subtensor, netuid, hotkey).await;
    }
    let plain = args.validator.starts_with("ws://") || args.validator.starts_with("http://");
    if plain {
        tracing::warn!(url = %args.validator, "no TLS: trust rests on the network path to the validator");
        return Ok(Pin::Plain);
    }
    bail!(
        "{} needs the validator's certificate: pass --cert-sha256 HEX, or --validator-hotkey SS58 --netuid N to read it from chain",
        args.validator
    )
}

/// The pin `--cert-sha256` gives.
fn cert_pin(text: &str) -> anyhow::Result<Pin> {
    parse_fingerprint(text)
        .map(Pin::Sha256)
        .map_err(|e| anyhow::anyhow!("--cert-sha256: {e}"))
}

/// Reads the certificate's SHA-256 that `hotkey` committed on `netuid` (ASCII hex, as the
/// original subnet commits it; 32 raw bytes are read too).
async fn pin_from_chain(
    subtensor: &SubtensorArgs,
    netuid: u16,
    hotkey: &AccountId,
) -> anyhow::Result<Pin> {
    let network = subtensor.network()?;
    let chain = network
        .connect()
        .await
        .with_context(|| format!("cannot reach {}", network.url()))?;
    let commitment = chain
        .get_commitment(netuid, hotkey)
        .await
        .with_context(|| format!("reading {hotkey}'s commitment on subnet {netuid}"))?
        .with_context(|| {
            format!("validator {hotkey} has no commitment on subnet {netuid}: it has not published its certificate (pass --cert-sha256)")
        })?;
    let text = if commitment.data.len() == 32 {
        hex::encode(&commitment.data)
    } else {
        String::from_utf8_lossy(&commitment.data).into_owned()
    };
    parse_fingerprint(&text).map(Pin::Sha256).map_err(|e| {
        anyhow::anyhow!(
            "{hotkey}'s commitment on subnet {netuid} is not a certificate SHA-256: {e}"
        )
    })
}

/// Reads and checks the input file for `circuit`.
fn read_input(path: &Path, circuit: &StoredCircuit) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let input: Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
    if circuit.is_proof_of_weights() {
        circuit.pow_columns(&input).with_context(|| {
            format!(
                "{}: not an evaluation batch for {}",
                path.display(),
                circuit.metadata.name
            )
        })?;
    } else {
        omron_api::verify::read_app_input(&input)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    }
    Ok(input)
}

impl RequestArgs {
    /// Everything but the pin and the key, read and checked before anything is sent.
    fn request(&self, pin: Pin) -> anyhow::Result<Request> {
        let circuit = find_circuit(self.circuits.as_deref(), &self.circuit)?;
        let input = read_input(&self.input, &circuit)?;
        let timeout = match self.timeout {
            Some(t) if t.is_finite() && t > 0.0 => Duration::from_secs_f64(t),
            Some(_) => bail!("--timeout must be a positive number of seconds"),
            None => Duration::from_secs((2 * circuit.timeout_secs()).max(120)),
        };
        let netuid = if circuit.is_proof_of_weights() {
            circuit.metadata.netuid.or(self.netuid)
        } else {
            self.netuid
        };
        Ok(Request {
            url: self.validator.clone(),
            pin,
            circuit,
            input,
            netuid,
            validator_hotkey: self.validator_hotkey,
            timeout,
        })
    }
}

fn print_answer(answer: &Answer) -> anyhow::Result<()> {
    let r = &answer.result;
    println!("verified: {} ({})", r.circuit_name, r.circuit_id);
    println!(
        "output: {}",
        omron_api::canonical::to_string(&answer.verified.output)
    );
    println!("miner: uid {} {}", r.miner_uid, answer.verified.miner);
    println!("validator: {}", answer.verified.validator);
    println!(
        "receipt: {}",
        serde_json::to_string_pretty(&r.receipt).context("printing the receipt")?
    );
    Ok(())
}

pub(crate) fn run(args: RequestArgs) -> anyhow::Result<Outcome> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    // Cheap local checks first: a bad pin, circuit, input or key fails before the network.
    if let Some(text) = &args.cert_sha256 {
        cert_pin(text)?;
    }
    let unpinned = args.request(Pin::Plain)?;
    let key = signing_key(&args.wallet, args.key_uri.as_deref())?;
    let pin = runtime.block_on(resolve_pin(&args))?;
    let req = Request { pin, ..unpinned };
    match runtime.block_on(request_and_verify(&req, &key)) {
        Ok(answer) => {
            print_answer(&answer)?;
            if let Some(path) = &args.output_json {
                let record = Record::of(&answer.result);
                let text = serde_json::to_string_pretty(&record)?;
                std::fs::write(path, text + "\n")
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            Ok(Outcome::Success)
        }
        Err(RequestError::Rejected(reason)) => {
            println!("rejected: {reason}");
            Ok(Outcome::Rejected)
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: RequestArgs,
    }

    fn repo_circuits() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../circuits")
    }

    #[test]
    fn circuits_are_found_by_id_folder_name_metadata_name_or_folder() {
        let dir = repo_circuits();
        let by_folder = find_circuit(Some(&dir), "mnist-mlp").unwrap();
        let id = by_folder.id();
        assert_eq!(find_circuit(Some(&dir), &id).unwrap().id(), id);
        assert_eq!(
            find_circuit(Some(&dir), &format!("0x{}", id.to_uppercase()))
                .unwrap()
                .id(),
            id
        );
        assert_eq!(find_circuit(Some(&dir), "mnist mlp").unwrap().id(), id);
        let folder = dir.join("mnist-mlp");
        assert_eq!(
            find_circuit(None, folder.to_str().unwrap()).unwrap().id(),
            id
        );
        assert_eq!(find_circuit(Some(&folder), "MNIST MLP").unwrap().id(), id);
        let err = find_circuit(Some(&dir), "nope").unwrap_err().to_string();
        assert!(
            err.contains("known: ") && err.contains("mnist-mlp"),
            "{err}"
        );
    }

    #[test]
    fn a_proof_of_weights_circuit_sends_its_batch_version_and_subnet() {
        use rand::SeedableRng;
        let dir = tempfile::tempdir().unwrap();
        let circuit = find_circuit(Some(&repo_circuits()), "sn2-pow-256").unwrap();
        let batch = circuit
            .generate_pow_inputs(&mut rand_chacha::ChaCha8Rng::seed_from_u64(1))
            .unwrap();
        let input = dir.path().join("batch.json");
        std::fs::write(&input, batch.to_string()).unwrap();
        let parsed = Wrapper::try_parse_from([
            "x",
            "--validator",
            "wss://127.0.0.1:1",
            "--circuit",
            "sn2-pow-256",
            "--circuits",
            repo_circuits().to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--netuid",
            "7",
        ])
        .unwrap();
        let req = parsed.args.request(Pin::Plain).unwrap();
        let (method, params) = req.method_and_params().unwrap();
        assert_eq!(method, PROOF_OF_WEIGHTS);
        assert_eq!(params["evaluation_data"], batch);
        assert_eq!(
            params["weights_version"],
            serde_json::json!(circuit.metadata.weights_version)
        );
        assert_eq!(req.netuid, Some(2), "the circuit's subnet, not --netuid");
        assert!(req.timeout >= Duration::from_secs(120));
        // A model input for it is refused before anything is sent.
        std::fs::write(&input, r#"{"input_data": [[1.0]]}"#).unwrap();
        assert!(parsed.args.request(Pin::Plain).is_err());
    }
}
