"""bittensor-drand as an oracle for omron-timelock's interop tests.

Reads one JSON request per line on stdin and answers one JSON line each on stdout. Byte
strings travel as hex. Nothing here reaches the network: only the functions that take the
round or the signature explicitly are used.

  {"op": "decrypt", "ciphertext": hex, "signature": hex}
      -> {"plaintext": hex} | {"error": str}
      decrypt_with_signature() after wrapping the raw ciphertext in the SCALE `UserData`
      {encrypted_data: Vec<u8>, reveal_round: u64} the Python API takes (the round is unused).
  {"op": "encrypt", "round": int, "plaintext": hex}
      -> {"ciphertext": hex, "round": int}
      encrypt_at_round(), unwrapped from `UserData` to the raw ciphertext the chain stores.
  {"op": "commit_v2", "uids": [...], "weights": [...], "version_key": int, "state": {...},
   "reveal_period": int, "block_time": float, "hotkey": hex}
      -> {"commit": hex, "reveal_round": int, "before": float, "after": float}
      get_encrypted_commit_v2() (bittensor-drand 2.x) as the SDK calls it, with the clock read
      around the call.
  {"op": "commit_v1", "uids": [...], "weights": [...], "version_key": int, "tempo": int,
   "current_block": int, "netuid": int, "reveal_period": int, "block_time": float, "hotkey": hex}
      -> the same answer, from get_encrypted_commit() (bittensor-drand 1.x, modulo schedule).
"""

import json
import sys
import time

import bittensor_drand as bd


def compact(n: int) -> bytes:
    if n < 1 << 6:
        return bytes([n << 2])
    if n < 1 << 14:
        return ((n << 2) | 1).to_bytes(2, "little")
    if n < 1 << 30:
        return ((n << 2) | 2).to_bytes(4, "little")
    raise ValueError("too long for this helper")


def read_compact(b: bytes) -> tuple[int, int]:
    mode = b[0] & 3
    if mode == 0:
        return b[0] >> 2, 1
    if mode == 1:
        return int.from_bytes(b[:2], "little") >> 2, 2
    if mode == 2:
        return int.from_bytes(b[:4], "little") >> 2, 4
    raise ValueError("big compact lengths are not expected here")


def user_data(ciphertext: bytes, round_: int) -> bytes:
    return compact(len(ciphertext)) + ciphertext + round_.to_bytes(8, "little")


def from_user_data(blob: bytes) -> tuple[bytes, int]:
    n, k = read_compact(blob)
    ct = blob[k : k + n]
    rest = blob[k + n :]
    if len(ct) != n or len(rest) != 8:
        raise ValueError("not a UserData blob")
    return ct, int.from_bytes(rest, "little")


def handle(req: dict) -> dict:
    op = req["op"]
    if op == "decrypt":
        blob = user_data(bytes.fromhex(req["ciphertext"]), 0)
        try:
            pt = bd.decrypt_with_signature(blob, req["signature"])
        except Exception as e:  # the library raises ValueError; report any refusal
            return {"error": str(e)}
        return {"plaintext": bytes(pt).hex()}
    if op == "encrypt":
        blob, round_ = bd.encrypt_at_round(bytes.fromhex(req["plaintext"]), req["round"])
        ct, inner_round = from_user_data(bytes(blob))
        if inner_round != round_:
            raise ValueError("UserData round differs from the returned round")
        return {"ciphertext": ct.hex(), "round": round_}
    if op == "commit_v2":
        s = req["state"]
        before = time.time()
        commit, reveal_round = bd.get_encrypted_commit_v2(
            uids=req["uids"],
            weights=req["weights"],
            version_key=req["version_key"],
            last_epoch_block=s["last_epoch_block"],
            pending_epoch_at=s["pending_epoch_at"],
            subnet_epoch_index=s["subnet_epoch_index"],
            tempo=s["tempo"],
            blocks_since_last_step=s["blocks_since_last_step"],
            current_block=s["current_block"],
            subnet_reveal_period_epochs=req["reveal_period"],
            block_time=req["block_time"],
            hotkey=bytes.fromhex(req["hotkey"]),
        )
        after = time.time()
        return {
            "commit": bytes(commit).hex(),
            "reveal_round": reveal_round,
            "before": before,
            "after": after,
        }
    if op == "commit_v1":
        before = time.time()
        commit, reveal_round = bd.get_encrypted_commit(
            uids=req["uids"],
            weights=req["weights"],
            version_key=req["version_key"],
            tempo=req["tempo"],
            current_block=req["current_block"],
            netuid=req["netuid"],
            subnet_reveal_period_epochs=req["reveal_period"],
            block_time=req["block_time"],
            hotkey=bytes.fromhex(req["hotkey"]),
        )
        after = time.time()
        return {
            "commit": bytes(commit).hex(),
            "reveal_round": reveal_round,
            "before": before,
            "after": after,
        }
    raise ValueError(f"unknown op {op!r}")


def main() -> None:
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(handle(json.loads(line))), flush=True)


if __name__ == "__main__":
    main()
