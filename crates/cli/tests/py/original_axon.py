"""A real bittensor 10.5.0 Axon serving the original subnet's synapses, as a Python miner would.

Usage: original_axon.py <wallet_path> <wallet_name> <port> <allowed_hotkey_ss58>
Serves on 127.0.0.1:<port> with the SDK's own checks (signature, nonce, body hash) and a
blacklist that lets only <allowed_hotkey_ss58> through. Prints {"declarations": ...}, then
"READY" when listening, then one JSON line per handled call (what the handler received);
stops when stdin closes.
"""
import json
import os
import socket
import sys
import time
import typing

sys.path.insert(0, os.path.dirname(__file__))
from original_protocol import (  # noqa: E402
    Competition,
    ProofOfWeightsSynapse,
    QueryForCapacities,
    QueryZkProof,
    bt,
    declarations,
)

LOOPBACK = "127.0.0.1"
# Upstream's miner.config.toml gives 400 compute units to each circuit; one of its ids.
CAPACITY_CIRCUIT = "4a87c995300f4e9ad9add9d5b800eb93bb3ecd3f9459b617f9924a211407a88c"

wallet_path, wallet_name, port, allowed = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
wallet = bt.Wallet(name=wallet_name, hotkey="default", path=wallet_path)


def record(synapse, **fields):
    line = {"name": synapse.name, "caller": synapse.dendrite.hotkey, "body_hash": synapse.body_hash}
    line.update(fields)
    print(json.dumps(line, default=str), flush=True)


async def query_zk_proof(synapse: QueryZkProof) -> QueryZkProof:
    inp = synapse.query_input or {}
    record(synapse, query_input=synapse.query_input)
    synapse.query_output = json.dumps({
        "proof": "python-axon",
        "public_signals": json.dumps(inp.get("public_inputs")),
    })
    return synapse


async def proof_of_weights(synapse: ProofOfWeightsSynapse) -> ProofOfWeightsSynapse:
    record(synapse, subnet_uid=synapse.subnet_uid,
           verification_key_hash=synapse.verification_key_hash,
           proof_system=synapse.proof_system, inputs=synapse.inputs)
    synapse.proof = "python-axon"
    synapse.public_signals = json.dumps(sorted(synapse.inputs))
    return synapse


async def capacities(synapse: QueryForCapacities) -> QueryForCapacities:
    record(synapse, capacities=synapse.capacities)
    synapse.capacities = {CAPACITY_CIRCUIT: 400}
    return synapse


async def competition(synapse: Competition) -> Competition:
    record(synapse, id=synapse.id, hash=synapse.hash, file_name=synapse.file_name)
    synapse.commitment = json.dumps({"hash": synapse.hash, "signed_urls": {}})
    return synapse


def blacklist(synapse: bt.Synapse) -> typing.Tuple[bool, str]:
    if synapse.dendrite.hotkey != allowed:
        return True, f"Unrecognized hotkey {synapse.dendrite.hotkey}"
    return False, "Hotkey recognized!"


def blacklist_zk(synapse: QueryZkProof) -> typing.Tuple[bool, str]:
    return blacklist(synapse)


def blacklist_pow(synapse: ProofOfWeightsSynapse) -> typing.Tuple[bool, str]:
    return blacklist(synapse)


def blacklist_caps(synapse: QueryForCapacities) -> typing.Tuple[bool, str]:
    return blacklist(synapse)


def blacklist_comp(synapse: Competition) -> typing.Tuple[bool, str]:
    return blacklist(synapse)


print(json.dumps({"declarations": declarations()}), flush=True)
axon = bt.Axon(wallet=wallet, ip=LOOPBACK, port=port, external_ip=LOOPBACK, external_port=port)
axon.fast_config.host = LOOPBACK  # the SDK binds 0.0.0.0 otherwise
axon.attach(forward_fn=query_zk_proof, blacklist_fn=blacklist_zk)
axon.attach(forward_fn=proof_of_weights, blacklist_fn=blacklist_pow)
axon.attach(forward_fn=competition, blacklist_fn=blacklist_comp)
axon.attach(forward_fn=capacities, blacklist_fn=blacklist_caps)
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
