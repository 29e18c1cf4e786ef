"""The verifier, offline: proofs made in this process with `prove_locally`, answers and
receipts signed with `make_answer`, and every kind of substitution refused."""

import copy
import random

import pytest

import omron_client as oc
from conftest import MINER, MNIST, NONCE, OTHER_MODEL, SN2, VALIDATOR


def rejected(fn, *args, kinds=None):
    """Calls fn(*args), which must raise OmronError (of one of `kinds`, if given)."""
    with pytest.raises(oc.OmronError) as info:
        fn(*args)
    if kinds is not None:
        assert info.value.kind in kinds, f"{info.value.kind}: {info.value}"
    return info.value


# --- circuit folders and local proofs -----------------------------------------------------


def test_circuit_info_reads_the_folder():
    info = oc.circuit_info(MNIST)
    assert len(info["id"]) == 64 and int(info["id"], 16) >= 0
    assert info["name"] == "MNIST MLP"
    assert info["type"] == "proof_of_computation"
    assert info["input_shapes"] == [[1, 784]] and info["output_shapes"] == [[1, 10]]
    pow_info = oc.circuit_info(SN2)
    assert pow_info["type"] == "proof_of_weights" and pow_info["netuid"] == 2
    assert pow_info["id"] != info["id"]


def test_sample_input_is_deterministic_with_a_seed():
    a = oc.sample_input(MNIST, seed=3)
    assert a == oc.sample_input(MNIST, seed=3)
    assert a != oc.sample_input(MNIST, seed=4)
    assert list(a) == ["input_data"] and len(a["input_data"][0]) == 784


def test_a_local_proof_verifies_to_its_output(proven, mnist_input):
    assert proven["input"] == {"input_data": mnist_input["input_data"], "nonce": NONCE}
    assert proven["nonce"] == NONCE
    assert proven["miner_hotkey"] == oc.ss58_address(MINER)
    assert proven["circuit_id"] == oc.circuit_info(MNIST)["id"]
    assert proven["method"] == oc.PROOF_OF_COMPUTATION
    assert len(proven["output"]) == 10
    proof = proven["proof"]
    for form in (proof, "0x" + proof, bytes.fromhex(proof), bytearray.fromhex(proof)):
        assert oc.verify(MNIST, proven["input"], proven["miner_hotkey"], form) == proven["output"]


def test_integers_and_floats_are_the_same_input():
    data = [[float(i % 2) for i in range(784)]]
    p = oc.prove_locally(MNIST, {"input_data": data}, NONCE)
    ints = {"input_data": [[i % 2 for i in range(784)]], "nonce": NONCE}
    assert oc.verify(MNIST, ints, p["miner_hotkey"], p["proof"]) == p["output"]


def test_nonces_come_from_the_argument_the_input_or_at_random(mnist_input):
    with_input_nonce = oc.prove_locally(MNIST, {**mnist_input, "nonce": NONCE})
    assert with_input_nonce["nonce"] == NONCE
    drawn = [oc.prove_locally(MNIST, mnist_input)["nonce"] for _ in range(2)]
    assert all(len(n) == 32 for n in drawn) and drawn[0] != drawn[1]
    rejected(oc.prove_locally, MNIST, {**mnist_input, "nonce": NONCE}, "ff" * 16, kinds={"input"})
    rejected(oc.prove_locally, MNIST, mnist_input, "abcd", kinds={"prove"})  # 2 bytes < 8
    rejected(oc.prove_locally, MNIST, mnist_input, "zz" * 16, kinds={"prove"})


# --- proofs that must not verify ------------------------------------------------------------


def test_tampered_proof_bytes_are_rejected(proven):
    proof = bytes.fromhex(proven["proof"])
    rng = random.Random(5)
    positions = [0, 1, 7, 8, len(proof) // 2, len(proof) - 1] + [
        rng.randrange(len(proof)) for _ in range(20)
    ]
    for i in positions:
        bad = bytearray(proof)
        bad[i] ^= 1 << rng.randrange(8)
        rejected(
            oc.verify, MNIST, proven["input"], proven["miner_hotkey"], bytes(bad), kinds={"proof"}
        )
    for bad in (b"", proof[:8], proof[:-1], proof + b"\0", proof + proof):
        rejected(oc.verify, MNIST, proven["input"], proven["miner_hotkey"], bad, kinds={"proof"})
    rejected(oc.verify, MNIST, proven["input"], proven["miner_hotkey"], "not hex", kinds={"input"})


def test_another_input_nonce_miner_or_circuit_is_rejected(proven):
    args = (proven["input"], proven["miner_hotkey"], proven["proof"])
    other_input = copy.deepcopy(proven["input"])
    other_input["input_data"][0][100] += 0.25
    rejected(oc.verify, MNIST, other_input, *args[1:], kinds={"proof"})
    other_nonce = {**proven["input"], "nonce": "ff" * 16}
    rejected(oc.verify, MNIST, other_nonce, *args[1:], kinds={"proof"})
    rejected(oc.verify, MNIST, args[0], oc.ss58_address("//Charlie"), args[2], kinds={"proof"})
    rejected(oc.verify, OTHER_MODEL, *args, kinds={"proof", "input"})
    no_nonce = {"input_data": proven["input"]["input_data"]}
    err = rejected(oc.verify, MNIST, no_nonce, *args[1:], kinds={"input"})
    assert "nonce" in str(err)


# --- receipts --------------------------------------------------------------------------------


def test_a_receipt_verifies_and_names_validator_and_miner(proven):
    receipt = oc.make_receipt(proven, VALIDATOR, miner_uid=4, block=9)
    assert receipt["validator_hotkey"] == oc.ss58_address(VALIDATOR)
    got = oc.verify_receipt(MNIST, receipt, proven["input"], proven["proof"])
    assert got == {
        "output": proven["output"],
        "validator": oc.ss58_address(VALIDATOR),
        "miner": proven["miner_hotkey"],
    }


@pytest.mark.parametrize(
    "field, value",
    [
        ("output", [0.0] * 10),
        ("miner_uid", 5),
        ("block", 10),
        ("netuid", 3),
        ("issued_at", 1),
        ("input_hash", "00" * 32),
        ("proof_hash", "00" * 32),
        ("request_hash", "00" * 32),
        ("miner_hotkey", "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y"),
        ("validator_hotkey", "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"),
        ("signature", "0x" + "11" * 64),
        ("version", 2),
    ],
)
def test_a_tampered_receipt_is_rejected(proven, field, value):
    receipt = oc.make_receipt(proven, VALIDATOR, miner_uid=4, block=9)
    receipt[field] = value
    rejected(oc.verify_receipt, MNIST, receipt, proven["input"], proven["proof"], kinds={"receipt"})


def test_a_receipt_with_another_input_proof_or_circuit_is_rejected(proven, mnist_input):
    receipt = oc.make_receipt(proven, VALIDATOR)
    other = oc.prove_locally(MNIST, mnist_input, "ff" * 16)
    rejected(oc.verify_receipt, MNIST, receipt, other["input"], proven["proof"], kinds={"receipt"})
    rejected(oc.verify_receipt, MNIST, receipt, proven["input"], other["proof"], kinds={"receipt"})
    rejected(oc.verify_receipt, OTHER_MODEL, receipt, proven["input"], proven["proof"])
    rejected(
        oc.verify_receipt,
        MNIST,
        {"signature": "0x"},
        proven["input"],
        proven["proof"],
        kinds={"input"},
    )


def test_a_receipt_for_a_proof_that_does_not_verify_is_rejected(proven):
    # A validator signing a bad proof: the receipt's hashes match, the proof itself does not.
    forged = dict(proven)
    proof = bytearray.fromhex(proven["proof"])
    proof[len(proof) // 3] ^= 0x40
    forged["proof"] = proof.hex()
    receipt = oc.make_receipt(forged, VALIDATOR)
    rejected(oc.verify_receipt, MNIST, receipt, forged["input"], forged["proof"], kinds={"proof"})


# --- whole answers ---------------------------------------------------------------------------


def test_an_answer_verifies_for_the_apps_own_request(proven, mnist_input):
    answer = oc.make_answer(proven, VALIDATOR, miner_uid=3)
    expected = {
        "output": proven["output"],
        "validator": oc.ss58_address(VALIDATOR),
        "miner": proven["miner_hotkey"],
    }
    for circuit in ("mnist-mlp", "MNIST MLP", proven["circuit_id"], proven["circuit_id"].upper()):
        # The app let the validator draw the nonce ...
        params = {"circuit": circuit, "input": mnist_input}
        assert oc.verify_answer(MNIST, oc.PROOF_OF_COMPUTATION, params, answer) == expected
    # ... or sent its own.
    params = {"circuit": "mnist-mlp", "input": {**mnist_input, "nonce": NONCE}}
    assert oc.verify_answer(MNIST, "proof_of_computation", params, answer) == expected


def _set(path, value):
    def tamper(answer):
        node = answer
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return tamper


@pytest.mark.parametrize(
    "name, tamper, kinds",
    [
        ("output", _set(["output"], [0.5] * 10), {"mismatch"}),
        (
            "output and receipt output",
            lambda a: (_set(["output"], [0.5] * 10)(a), _set(["receipt", "output"], [0.5] * 10)(a)),
            {"receipt"},
        ),
        (
            "miner_hotkey",
            _set(["miner_hotkey"], "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y"),
            {"mismatch"},
        ),
        ("miner_uid", _set(["miner_uid"], 9), {"mismatch"}),
        ("hash", _set(["hash"], "00" * 32), {"mismatch"}),
        ("circuit_id", _set(["circuit_id"], "00" * 32), {"mismatch"}),
        ("success", _set(["success"], False), {"mismatch"}),
        ("context nonce", _set(["context", "nonce"], "ff" * 16), {"mismatch"}),
        ("context input", _set(["context", "input", "nonce"], "ff" * 16), {"mismatch"}),
        ("proof", _set(["proof"], "00" * 64), {"receipt", "proof"}),
        ("proof not hex", _set(["proof"], "xyz"), {"malformed"}),
        ("receipt signature", _set(["receipt", "signature"], "0x" + "22" * 64), {"receipt"}),
    ],
)
def test_a_tampered_answer_is_rejected(proven, mnist_input, name, tamper, kinds):
    answer = oc.make_answer(proven, VALIDATOR)
    tamper(answer)
    params = {"circuit": "mnist-mlp", "input": mnist_input}
    rejected(oc.verify_answer, MNIST, oc.PROOF_OF_COMPUTATION, params, answer, kinds=kinds)


def test_an_answer_to_another_request_is_rejected(proven, mnist_input):
    answer = oc.make_answer(proven, VALIDATOR)
    other = copy.deepcopy(mnist_input)
    other["input_data"][0][0] += 0.5
    call = (MNIST, oc.PROOF_OF_COMPUTATION)
    rejected(
        oc.verify_answer,
        *call,
        {"circuit": "mnist-mlp", "input": other},
        answer,
        kinds={"mismatch"},
    )
    own_nonce = {**mnist_input, "nonce": "ee" * 16}
    rejected(
        oc.verify_answer,
        *call,
        {"circuit": "mnist-mlp", "input": own_nonce},
        answer,
        kinds={"mismatch"},
    )
    rejected(
        oc.verify_answer,
        *call,
        {"circuit": "cnn-small", "input": mnist_input},
        answer,
        kinds={"input"},
    )
    rejected(
        oc.verify_answer,
        OTHER_MODEL,
        oc.PROOF_OF_COMPUTATION,
        {"circuit": "cnn-small", "input": mnist_input},
        answer,
        kinds={"mismatch"},
    )
    rejected(
        oc.verify_answer,
        MNIST,
        "omron.nothing",
        {"circuit": "mnist-mlp", "input": mnist_input},
        answer,
        kinds={"input"},
    )
    rejected(oc.verify_answer, *call, {"input": mnist_input}, answer, kinds={"input"})
    rejected(
        oc.verify_answer,
        *call,
        {"circuit": "mnist-mlp", "input": mnist_input},
        {"hash": "x"},
        kinds={"input"},
    )


# --- proof of weights ------------------------------------------------------------------------


def test_a_scoring_batch_proves_verifies_and_answers(batch):
    p = oc.prove_locally(SN2, batch)
    assert p["method"] == oc.PROOF_OF_WEIGHTS and p["nonce"] is None and p["input"] == batch
    assert oc.verify(SN2, batch, p["miner_hotkey"], p["proof"]) == p["output"]
    assert all(isinstance(v, int) for column in p["output"] for v in column)
    answer = oc.make_answer(p, VALIDATOR)
    got = oc.verify_answer(SN2, oc.PROOF_OF_WEIGHTS, {"evaluation_data": batch}, answer)
    assert got["output"] == p["output"]
    other = oc.sample_input(SN2, seed=12)
    rejected(oc.verify, SN2, other, p["miner_hotkey"], p["proof"], kinds={"proof"})
    rejected(
        oc.verify_answer,
        SN2,
        oc.PROOF_OF_WEIGHTS,
        {"evaluation_data": other},
        answer,
        kinds={"mismatch"},
    )
    rejected(
        oc.verify_answer,
        MNIST,
        oc.PROOF_OF_WEIGHTS,
        {"evaluation_data": batch},
        answer,
        kinds={"input"},
    )
    rejected(
        oc.verify_answer,
        SN2,
        oc.PROOF_OF_WEIGHTS,
        {"evaluation_data": batch, "weights_version": 7},
        answer,
        kinds={"input"},
    )
    rejected(oc.prove_locally, SN2, batch, NONCE, kinds={"input"})


# --- errors ------------------------------------------------------------------------------------


def test_every_failure_is_an_omron_error_with_its_attributes(proven, tmp_path):
    assert issubclass(oc.OmronError, Exception)
    err = rejected(
        oc.verify, tmp_path / "nowhere", proven["input"], proven["miner_hotkey"], proven["proof"]
    )
    assert err.kind == "circuit" and "nowhere" in str(err)
    assert err.code is None and err.status is None and err.data is None
    rejected(oc.verify, MNIST, proven["input"], "not an address", proven["proof"], kinds={"input"})
    rejected(oc.verify, MNIST, proven["input"], proven["miner_hotkey"], 12345, kinds={"input"})
    for bad in (
        {"input_data": {1, 2}},
        {"input_data": [[float("nan")]]},
        {"input_data": [[2**70]]},
        {1: 2},
    ):
        rejected(oc.verify, MNIST, bad, proven["miner_hotkey"], proven["proof"], kinds={"input"})
    rejected(oc.prove_locally, MNIST, {"input_data": [[0.0] * 784], "extra": 1}, kinds={"input"})
    rejected(oc.prove_locally, MNIST, {"input_data": [[0.0] * 3]}, kinds={"prove"})
    rejected(
        oc.prove_locally, MNIST, {"input_data": [[0.0] * 784]}, None, "not a key", kinds={"key"}
    )
    rejected(oc.ss58_address, kinds={"key"})
    rejected(
        oc.ss58_address,
        "//Alice",
        "bottom drive obey lake curtain smoke basket hold race lonely fit walk",
        kinds={"key"},
    )
