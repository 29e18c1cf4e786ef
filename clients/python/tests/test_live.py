"""End to end against a running validator's external API (e.g. `omron localnet
--external-api-port`). Skipped unless OMRON_API_URL is set; then these must be set too:

* OMRON_API_CERT_SHA256 -- the SHA-256 pin of the validator's certificate;
* OMRON_API_KEY_URI -- a key the validator allows (whitelisted), e.g. `//Alice`;
* OMRON_CIRCUITS_DIR -- the folder of circuit folders the validator serves (default: the
  repository's `circuits/`, which `omron localnet` serves).
"""

import hashlib
import os
from pathlib import Path

import pytest

import omron_client as oc
from conftest import CIRCUITS

URL = os.environ.get("OMRON_API_URL")
pytestmark = pytest.mark.skipif(
    not URL, reason="OMRON_API_URL is not set (no validator to talk to)"
)


def env(name):
    value = os.environ.get(name)
    assert value, f"OMRON_API_URL is set, so {name} must be too"
    return value


@pytest.fixture(scope="module")
def live():
    """(url, pin, key URI, mnist folder) of the validator under test."""
    circuits = Path(os.environ.get("OMRON_CIRCUITS_DIR") or CIRCUITS)
    mnist = circuits / "mnist-mlp"
    assert (mnist / "vk.bin").is_file(), f"no mnist-mlp circuit in {circuits}"
    return URL, env("OMRON_API_CERT_SHA256"), env("OMRON_API_KEY_URI"), mnist


def test_a_proof_of_computation_comes_back_verified(live):
    url, pin, key, mnist = live
    info = oc.circuit_info(mnist)
    x = oc.sample_input(mnist)
    with oc.Client(url, pin, key_uri=key) as c:
        listed = {entry["id"]: entry for entry in c.circuits()}
        assert info["id"] in listed, "the validator does not serve mnist-mlp"
        answer = c.prove("mnist-mlp", x, mnist)
    (shape,) = info["output_shapes"]
    assert len(answer["output"]) == shape[0] * shape[1]
    assert answer["circuit_id"] == info["id"]
    receipt = answer["receipt"]
    assert receipt["validator_hotkey"] == answer["validator"]
    assert receipt["miner_hotkey"] == answer["miner_hotkey"]
    assert receipt["miner_uid"] == answer["miner_uid"]
    assert receipt["method"] == oc.PROOF_OF_COMPUTATION
    assert receipt["output"] == answer["output"]
    assert answer["input"]["input_data"] == x["input_data"]
    again = oc.verify_receipt(mnist, receipt, answer["input"], answer["proof"])
    assert again["output"] == answer["output"]


def test_the_apps_own_nonce_is_the_one_proven(live):
    url, pin, key, mnist = live
    nonce = os.urandom(16).hex()  # fresh: the validator refuses an input it already proved
    with oc.Client(url, pin, key_uri=key) as c:
        answer = c.prove(
            "MNIST MLP", {**oc.sample_input(mnist), "nonce": nonce}, circuits_of(mnist)
        )
    assert answer["nonce"] == nonce and answer["input"]["nonce"] == nonce


def circuits_of(mnist):
    """The folder of circuit folders (prove finds the named circuit in it)."""
    return mnist.parent


def test_a_wrong_certificate_pin_does_not_connect(live):
    url, _, key, _ = live
    wrong = hashlib.sha256(b"not the validator's certificate").hexdigest()
    with pytest.raises(oc.OmronError) as info:
        oc.Client(url, wrong, key_uri=key)
    assert info.value.kind == "connect" and "pin" in str(info.value)


def test_a_key_that_is_not_whitelisted_is_refused(live):
    url, pin, _, _ = live
    with pytest.raises(oc.OmronError) as info:
        oc.Client(url, pin, key_uri="//omron-python-client-test//not-whitelisted")
    assert info.value.kind == "refused" and info.value.status in (401, 403), str(info.value)
