"""Shared fixtures: the repository's circuit folders and proofs made in-process."""

from pathlib import Path

import pytest

import omron_client as oc

ROOT = Path(__file__).resolve().parents[3]
CIRCUITS = ROOT / "circuits"
MNIST = CIRCUITS / "mnist-mlp"
SN2 = CIRCUITS / "sn2-pow-256"
OTHER_MODEL = CIRCUITS / "cnn-small"

NONCE = "0123456789abcdef" * 2
MINER = "//Bob"
VALIDATOR = "//Alice"


@pytest.fixture(scope="session")
def mnist_input():
    """A benchmark input of the MNIST MLP: {"input_data": [[784 floats]]}."""
    return oc.sample_input(MNIST, seed=7)


@pytest.fixture(scope="session")
def proven(mnist_input):
    """A proof of the MNIST MLP on `mnist_input`, bound to NONCE and the miner //Bob."""
    return oc.prove_locally(MNIST, mnist_input, NONCE, MINER)


@pytest.fixture(scope="session")
def batch():
    """An SN2 scoring batch for the proof-of-weights circuit."""
    return oc.sample_input(SN2, seed=11)
