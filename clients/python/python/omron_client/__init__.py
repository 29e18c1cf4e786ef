"""Client and proof verifier of the omron-rs validator API, in-process (Rust through PyO3).

An app sends inputs to a validator's external API (JSON-RPC 2.0 over a certificate-pinned
``wss://`` connection, requests signed with an sr25519 key); the validator has a miner prove
the inference and answers with the output, the proof and a receipt signed by its hotkey.
This package never takes that answer on faith: every proof is verified here, with the
circuit's own files, against the input the app itself sent.

Quick start::

    import omron_client as oc

    with oc.Client("wss://validator:8443", cert_sha256="ab12...", key_uri="//Alice") as c:
        answer = c.prove("mnist-mlp", {"input_data": [[0.1] * 784]}, "circuits/mnist-mlp")
        print(answer["output"])

    # Later, from an archive: the receipt, the exact proven input and the proof.
    oc.verify_receipt("circuits/mnist-mlp", answer["receipt"], answer["input"], answer["proof"])

Functions:

* :func:`circuit_info` -- what a circuit folder holds (id, name, type, shapes);
* :func:`verify` -- verify a proof for an input and a miner, return the proven output;
* :func:`verify_answer` -- check a validator's whole answer to a request;
* :func:`verify_receipt` -- check a receipt with its input and proof;
* :func:`sample_input` -- a benchmark input of a circuit, drawn as validators draw them;
* :func:`prove_locally` -- prove with the engine in this process (offline trials, tests);
* :func:`ss58_address` -- the address of a key (what a validator whitelists);
* :func:`make_answer`, :func:`make_receipt` -- sign an answer with a local key
  (tests and offline trials only);
* :class:`Client` -- the API client; :exc:`OmronError` -- the one exception (attributes
  ``kind``, ``code``, ``status``, ``data``).
"""

from ._native import (
    PROOF_OF_COMPUTATION,
    PROOF_OF_WEIGHTS,
    Client,
    OmronError,
    __version__,
    circuit_info,
    make_answer,
    prove_locally,
    sample_input,
    ss58_address,
    verify,
    verify_answer,
    verify_receipt,
)


def make_receipt(proven, validator_key_uri, miner_uid=0, netuid=2, block=0):
    """FOR TESTS AND OFFLINE TRIALS ONLY: the receipt a validator with the key
    ``validator_key_uri`` would sign for a :func:`prove_locally` result ``proven``.

    Nothing is verified: check it with :func:`verify_receipt`, as with a real receipt.
    """
    return make_answer(proven, validator_key_uri, miner_uid, netuid, block)["receipt"]


__all__ = [
    "PROOF_OF_COMPUTATION",
    "PROOF_OF_WEIGHTS",
    "Client",
    "OmronError",
    "__version__",
    "circuit_info",
    "make_answer",
    "make_receipt",
    "prove_locally",
    "sample_input",
    "ss58_address",
    "verify",
    "verify_answer",
    "verify_receipt",
]
