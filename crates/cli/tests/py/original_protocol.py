"""The original subnet's synapses, declared as its `neurons/protocol.py` declares them.

Written from the field facts of the reference specification (§2.1, checked against the
original's file): the names, the annotations, the defaults, and no `required_hash_fields` on
any class, so every body hash is sha3_256("") and the fields without a default
(ProofOfWeightsSynapse's four, Competition's three) travel as `bt_header_input_obj_*`
headers. Nothing here is tuned to the Rust side.

Importing this module also makes the SDK loopback-only: the dendrite's "what is my external
IP" lookup (an HTTP call to public services) is replaced by a fixed address.
"""
import os
from enum import Enum
from typing import Dict, Optional

os.environ.setdefault("BT_NO_PARSE_CLI_ARGS", "true")

import bittensor as bt  # noqa: E402
from bittensor.utils import networking  # noqa: E402

# Must differ from any axon IP: the SDK dendrite swaps in 0.0.0.0 for its "own" IP.
FAKE_EXTERNAL_IP = "127.0.0.9"
networking.get_external_ip = lambda: FAKE_EXTERNAL_IP


class ProofSystem(str, Enum):
    """The original's proof systems: string values, any case accepted on input."""

    ZKML = "ZKML"
    CIRCOM = "CIRCOM"
    JOLT = "JOLT"
    EZKL = "EZKL"

    def __str__(self):
        return self.value

    @classmethod
    def _missing_(cls, value):
        if isinstance(value, str) and value.upper() != value:
            return cls(value.upper())
        raise ValueError(f"{value!r} is not a ProofSystem")


class QueryZkProof(bt.Synapse):
    """A proof request: `query_input = {"public_inputs", "model_id"}`, answered in `query_output`."""

    query_input: Optional[Dict] = None
    query_output: Optional[str] = None

    def deserialize(self) -> Optional[str]:
        return self.query_output


class ProofOfWeightsSynapse(bt.Synapse):
    """A proof-of-weights request: four fields without a default."""

    subnet_uid: int = 2
    verification_key_hash: str
    proof_system: ProofSystem = ProofSystem.CIRCOM
    inputs: dict
    proof: str
    public_signals: str

    def deserialize(self) -> Optional[dict]:
        return {"inputs": self.inputs, "proof": self.proof, "public_signals": self.public_signals}


class Competition(bt.Synapse):
    """The competition handshake: three fields without a default, three optional answers."""

    id: int
    hash: str
    file_name: str
    file_content: Optional[str] = None
    commitment: Optional[str] = None
    error: Optional[str] = None

    def deserialize(self) -> dict:
        return {
            "id": self.id,
            "hash": self.hash,
            "file_name": self.file_name,
            "file_content": self.file_content,
            "commitment": self.commitment,
            "error": self.error,
        }


class QueryForCapacities(bt.Synapse):
    """Compute units per circuit."""

    capacities: Optional[dict[str, int]] = None

    def deserialize(self) -> Optional[dict[str, int]]:
        return self.capacities


SYNAPSES = (QueryZkProof, ProofOfWeightsSynapse, Competition, QueryForCapacities)

# What the SDK derives from these classes, checked by the scripts before any call.
EMPTY_BODY_HASH = "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"


def declarations() -> dict:
    """Per class: its hash fields and its pydantic-required fields, as the SDK reads them."""
    return {
        cls.__name__: {
            "required_hash_fields": list(cls.required_hash_fields),
            "required": cls.model_json_schema().get("required", []),
        }
        for cls in SYNAPSES
    }
