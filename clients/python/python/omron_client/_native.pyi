"""Type hints of the native module (its docstrings are on the functions themselves)."""

from os import PathLike
from typing import Any, Optional, Union

_Path = Union[str, PathLike[str]]
_Proof = Union[str, bytes, bytearray]

__version__: str
PROOF_OF_COMPUTATION: str
PROOF_OF_WEIGHTS: str

class OmronError(Exception):
    kind: str
    code: Optional[int]
    status: Optional[int]
    data: Any

def circuit_info(circuit_dir: _Path) -> dict[str, Any]: ...
def verify(
    circuit_dir: _Path, input: dict[str, Any], miner_hotkey: str, proof: _Proof
) -> list[Any]: ...
def verify_answer(
    circuit_dir: _Path, method: str, params: dict[str, Any], result: dict[str, Any]
) -> dict[str, Any]: ...
def verify_receipt(
    circuit_dir: _Path, receipt: dict[str, Any], input: dict[str, Any], proof: _Proof
) -> dict[str, Any]: ...
def ss58_address(key_uri: Optional[str] = None, mnemonic: Optional[str] = None) -> str: ...
def sample_input(circuit_dir: _Path, seed: Optional[int] = None) -> dict[str, Any]: ...
def prove_locally(
    circuit_dir: _Path,
    input: dict[str, Any],
    nonce_hex: Optional[str] = None,
    miner_key_uri: str = "//Bob",
) -> dict[str, Any]: ...
def make_answer(
    proven: dict[str, Any],
    validator_key_uri: str,
    miner_uid: int = 0,
    netuid: int = 2,
    block: int = 0,
) -> dict[str, Any]: ...

class Client:
    def __init__(
        self,
        url: str,
        cert_sha256: Optional[str],
        key_uri: Optional[str] = None,
        mnemonic: Optional[str] = None,
        netuid: Optional[int] = None,
        timeout: float = 120.0,
    ) -> None: ...
    @property
    def hotkey(self) -> str: ...
    @property
    def url(self) -> str: ...
    def prove(self, circuit: str, input: dict[str, Any], circuit_dir: _Path) -> dict[str, Any]: ...
    def prove_weights(
        self,
        evaluation_data: dict[str, Any],
        circuit_dir: _Path,
        weights_version: Optional[int] = None,
    ) -> dict[str, Any]: ...
    def circuits(self) -> list[dict[str, Any]]: ...
    def close(self) -> None: ...
    def __enter__(self) -> Client: ...
    def __exit__(self, *args: object) -> None: ...
