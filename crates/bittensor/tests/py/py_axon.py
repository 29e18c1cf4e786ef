"""A real bittensor 10.5.0 Axon on 127.0.0.1, set up like the Rust test axon.

Usage: py_axon.py <wallet_path> <port>
Prints "READY" when listening; stops when stdin closes.
"""
import asyncio
import hashlib
import json
import os
import socket
import sys
import time
import typing

sys.path.insert(0, os.path.dirname(__file__))
from protocol import LOOPBACK, FailingQuery, QueryZkProof, RequiredFieldQuery, WhoAmI, bt  # noqa: E402

wallet_path, port = sys.argv[1], int(sys.argv[2])
miner = bt.Wallet(name="miner", hotkey="default", path=wallet_path)
validator = bt.Wallet(name="validator", hotkey="default", path=wallet_path)
ALLOWED = {validator.hotkey.ss58_address}


async def forward(synapse: QueryZkProof) -> QueryZkProof:
    inp = synapse.query_input or {}
    if "sleep" in inp:
        await asyncio.sleep(float(inp["sleep"]))
    synapse.query_output = "proof:" + hashlib.sha256(json.dumps(inp, sort_keys=True).encode()).hexdigest()
    return synapse


def blacklist(synapse: QueryZkProof) -> typing.Tuple[bool, str]:
    hk = synapse.dendrite.hotkey
    if hk not in ALLOWED:
        return True, f"Unrecognized hotkey {hk}"
    return False, "Hotkey recognized!"


def priority(synapse: QueryZkProof) -> float:
    return 1.0


async def failing(synapse: FailingQuery) -> FailingQuery:
    raise RuntimeError("handler exploded on purpose")


async def required(synapse: RequiredFieldQuery) -> RequiredFieldQuery:
    synapse.answer = synapse.prompt[::-1]
    return synapse


async def whoami(synapse: WhoAmI) -> WhoAmI:
    synapse.caller = synapse.dendrite.hotkey
    return synapse


axon = bt.Axon(wallet=miner, ip=LOOPBACK, port=port, external_ip=LOOPBACK, external_port=port)
axon.fast_config.host = LOOPBACK  # the SDK binds 0.0.0.0 otherwise
axon.attach(forward_fn=forward, blacklist_fn=blacklist, priority_fn=priority)
axon.attach(forward_fn=failing)
axon.attach(forward_fn=required)
axon.attach(forward_fn=whoami)
axon.start()
for _ in range(400):
    try:
        socket.create_connection((LOOPBACK, port), timeout=0.2).close()
        break
    except OSError:
        time.sleep(0.05)
else:
    print("FAILED to listen", flush=True)
    sys.exit(1)
print("READY", flush=True)
sys.stdin.read()  # until the test closes our stdin (or dies)
axon.stop()
