//! Signing extrinsics with an `omron-keys` sr25519 key, and the transaction parameters the
//! subtensor runtime needs (its custom `ChargeTransactionPaymentWrapper` extension).

use omron_keys::Keypair;
use subxt::Metadata;
use subxt::config::{DefaultExtrinsicParams, DefaultExtrinsicParamsBuilder, SubstrateConfig};
use subxt::dynamic::Value;
use subxt::ext::scale_encode::EncodeAsType;
use subxt::utils::{AccountId32, MultiSignature};

/// The runtime's fee extension, whose explicit data is the tip (spec section 3.6). Runtimes that
/// declare it under this identifier need a custom value; the finney metadata we ship declares
/// the wrapper type under the stock identifier `ChargeTransactionPayment`, which subxt fills in.
pub const PAYMENT_WRAPPER: &str = "ChargeTransactionPaymentWrapper";

/// Blocks a signed transaction stays valid.
const MORTALITY_BLOCKS: u64 = 64;

/// An `omron-keys` keypair as a subxt signer (sr25519, `substrate` context).
pub struct KeySigner<'a>(pub &'a Keypair);

impl subxt::tx::Signer<SubstrateConfig> for KeySigner<'_> {
    fn account_id(&self) -> AccountId32 {
        AccountId32(self.0.public().0)
    }

    fn sign(&self, payload: &[u8]) -> MultiSignature {
        MultiSignature::Sr25519(self.0.sign(payload).0)
    }
}

/// The value for the wrapper extension: a zero tip, in whichever shape the metadata's type
/// takes (a compact directly, or wrapped in one or two newtypes).
pub fn payment_wrapper_value(metadata: &Metadata) -> Option<Value> {
    let version = metadata
        .extrinsic()
        .transaction_extension_version_to_use_for_encoding();
    let ext = metadata
        .extrinsic()
        .transaction_extensions_by_version(version)?
        .find(|e| e.identifier() == PAYMENT_WRAPPER)?;
    let candidates = [
        Value::u128(0),
        Value::unnamed_composite([Value::u128(0)]),
        Value::unnamed_composite([Value::unnamed_composite([Value::u128(0)])]),
    ];
    candidates
        .into_iter()
        .find(|v| v.encode_as_type(ext.extra_ty(), metadata.types()).is_ok())
}

/// Transaction parameters for this runtime: a zero tip, plus the wrapper extension's value when
/// the runtime declares it under its own identifier.
pub fn tx_params_builder(metadata: &Metadata) -> DefaultExtrinsicParamsBuilder<SubstrateConfig> {
    let builder = DefaultExtrinsicParamsBuilder::<SubstrateConfig>::new().tip(0);
    match payment_wrapper_value(metadata) {
        Some(value) => builder.custom_extension(PAYMENT_WRAPPER, value),
        None => builder,
    }
}

/// [`tx_params_builder`], mortal for 64 blocks.
pub fn tx_params(metadata: &Metadata) -> DefaultExtrinsicParams<SubstrateConfig> {
    tx_params_builder(metadata).mortal(MORTALITY_BLOCKS).build()
}
