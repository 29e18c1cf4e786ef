"""bittensor 10.5.0 checks on things our Rust code writes.

Usage:
  sdk_checks.py wallet <wallet_path> <name> <hotkey> <password>
      Loads a wallet with bittensor-wallet and prints its addresses, decrypting the coldkey.
  sdk_checks.py hash
      Reads JSON lines {"query_input": ...} on stdin; prints the SDK's body hash of each.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from protocol import QueryZkProof, bt  # noqa: E402

mode = sys.argv[1]
if mode == "wallet":
    path, name, hotkey, password = sys.argv[2:6]
    w = bt.Wallet(name=name, hotkey=hotkey, path=path)
    cold = w.coldkey_file.get_keypair(password=password)
    print(json.dumps({
        "coldkeypub": w.coldkeypub.ss58_address,
        "coldkey": cold.ss58_address,
        "coldkey_encrypted": w.coldkey_file.is_encrypted(),
        "hotkey": w.hotkey.ss58_address,
        "hotkey_mode": oct(os.stat(os.path.join(path, name, "hotkeys", hotkey)).st_mode & 0o777),
        "hotkey_signature_ok": bool(w.hotkey.verify(b"msg", w.hotkey.sign(b"msg"))),
    }), flush=True)
elif mode == "hash":
    for line in sys.stdin:
        value = json.loads(line)
        s = QueryZkProof(**value)
        print(json.dumps({"hash": s.body_hash, "str": str(s.model_dump()["query_input"])}), flush=True)
else:
    sys.exit(f"unknown mode {mode}")
