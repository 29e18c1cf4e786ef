//! Fuzz targets for every decoder of omron-rs that reads outside data (`docs/fuzzing.md`).
//!
//! Each module is one target: `run(data)` feeds the bytes a fuzzer chose to the real decoder
//! (and, where there is one, to the code behind it) and panics only when an invariant breaks.
//! The libFuzzer binaries in `fuzz_targets/` call these functions, and `tests/corpus.rs` replays
//! the checked-in corpus through the same functions on stable Rust.
//!
//! | target | what it feeds |
//! |---|---|
//! | [`proof`] | structured mutations of valid proofs of three circuits into `Circuit::verify` |
//! | [`circuit_files`] | `Circuit::from_vk_bytes`, `metadata.json`, `circuit.json` |
//! | [`request_inputs`] | a request's inputs as a miner reads them (model inputs, PoW batches) |
//! | [`onnx`] | the ONNX reader, quantisation and circuit compile |
//! | [`axon`] | HTTP requests into a running axon on loopback (signed and unsigned) |
//! | [`dendrite`] | HTTP answers into the dendrite from a loopback server, then `query_output` |
//! | [`btauth`] | btauth/1 `verify_request` and the SDK scheme's header codecs |
//! | [`wallet`] | keyfiles (plain, `$NACL`), password environment values |
//! | [`chain_rpc`] | the dev chain RPC's request bodies against an embedded chain, SCALE neuron lists |
//! | [`api_rpc`] | the external API's JSON-RPC, auth headers, receipts, canonical JSON |

pub mod api_rpc;
pub mod axon;
pub mod btauth;
pub mod chain_rpc;
pub mod circuit_files;
pub mod dendrite;
pub mod fixtures;
pub mod onnx;
pub mod proof;
pub mod request_inputs;
pub mod wallet;

/// Every target by name, for the corpus replay and the seed generator.
pub const TARGETS: &[(&str, fn(&[u8]))] = &[
    ("api_rpc", api_rpc::run),
    ("axon", axon::run),
    ("btauth", btauth::run),
    ("chain_rpc", chain_rpc::run),
    ("circuit_files", circuit_files::run),
    ("dendrite", dendrite::run),
    ("onnx", onnx::run),
    ("proof", proof::run),
    ("request_inputs", request_inputs::run),
    ("wallet", wallet::run),
];

/// Reads fuzz bytes front to back; every read succeeds (short input reads as zeros), so a
/// target never needs an early return for running out.
#[derive(Debug)]
pub struct Bytes<'a> {
    data: &'a [u8],
}

impl<'a> Bytes<'a> {
    /// Wraps `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// One byte (0 when exhausted).
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// A little-endian u32.
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// Up to `n` bytes.
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }

    /// A length-prefixed (one byte) chunk.
    pub fn chunk(&mut self) -> &'a [u8] {
        let n = self.u8() as usize;
        self.take(n)
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.data)
    }

    /// Whether nothing is left.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}
