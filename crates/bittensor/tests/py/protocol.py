"""Synapses shared by the interop scripts (bittensor 10.5.0), mirroring the Rust test types.

Importing this module makes the SDK loopback-only: the dendrite's "what is my external IP"
lookup (an HTTP call to public services) is replaced by a fixed address.
"""
import os
from typing import ClassVar, Optional

os.environ.setdefault("BT_NO_PARSE_CLI_ARGS", "true")

import bittensor as bt  # noqa: E402
from bittensor.utils import networking  # noqa: E402

LOOPBACK = "127.0.0.1"
# Must differ from the axon IP: the SDK dendrite swaps in 0.0.0.0 for its "own" IP.
FAKE_EXTERNAL_IP = "127.0.0.9"
networking.get_external_ip = lambda: FAKE_EXTERNAL_IP


class QueryZkProof(bt.Synapse):
    query_input: Optional[dict] = None
    query_output: Optional[str] = None
    required_hash_fields: ClassVar[tuple[str, ...]] = ("query_input",)

    def deserialize(self) -> Optional[str]:
        return self.query_output


class FailingQuery(bt.Synapse):
    payload: Optional[str] = None


class UnknownQuery(bt.Synapse):
    payload: Optional[str] = None


class RequiredFieldQuery(bt.Synapse):
    prompt: str
    answer: Optional[str] = None
    required_hash_fields: ClassVar[tuple[str, ...]] = ("prompt",)


class WhoAmI(bt.Synapse):
    """The handler reports the caller it believes in."""

    caller: Optional[str] = None
