"""The real bittensor 10.5.0 Dendrite, with the original subnet's synapses, asks an `omron miner`.

Usage: original_dendrite.py <wallet_path> <wallet_name> <axon_ip> <axon_port> <miner_hotkey_ss58>
                            <request_input.json> <model_id> <pow_inputs.json> <pow_circuit_id>

Prints JSON lines: first {"declarations": ...} (what the SDK reads off the classes), then one
line per call with the dendrite's status, the body hash the SDK signed and the answer's fields.
"""
import asyncio
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from original_protocol import (  # noqa: E402
    Competition,
    ProofOfWeightsSynapse,
    QueryForCapacities,
    QueryZkProof,
    bt,
    declarations,
)

(wallet_path, wallet_name, ip, port, miner_hotkey, input_path, model_id, pow_path,
 pow_id) = sys.argv[1:10]
wallet = bt.Wallet(name=wallet_name, hotkey="default", path=wallet_path)
axon = bt.AxonInfo(version=10005000, ip=ip, port=int(port), ip_type=4,
                   hotkey=miner_hotkey, coldkey=miner_hotkey)
with open(input_path) as f:
    public_inputs = json.load(f)
with open(pow_path) as f:
    pow_inputs = json.load(f)


def emit(name, sent_hash, got, fields):
    line = {
        "name": name,
        "sent_body_hash": sent_hash,
        "status_code": got.dendrite.status_code,
        "status_message": got.dendrite.status_message,
        "is_success": got.is_success,
    }
    line.update({k: getattr(got, k) for k in fields})
    print(json.dumps(line, default=str), flush=True)


async def ask(d, name, synapse, fields, timeout=60.0):
    sent_hash = synapse.body_hash
    got = await d.call(axon, synapse, timeout=timeout, deserialize=False)
    emit(name, sent_hash, got, fields)


async def main():
    print(json.dumps({"declarations": declarations()}), flush=True)
    d = bt.Dendrite(wallet=wallet)
    # The validator's request, as the original builds it.
    await ask(d, "query_zk_proof", QueryZkProof(
        query_input={"public_inputs": public_inputs, "model_id": model_id}, query_output=""),
        ["query_input", "query_output"])
    # No public_inputs: the original miner's "Empty query input".
    await ask(d, "query_zk_proof_empty", QueryZkProof(query_input={"model_id": model_id}),
              ["query_output"])
    await ask(d, "proof_of_weights", ProofOfWeightsSynapse(
        subnet_uid=2, verification_key_hash=pow_id, inputs=pow_inputs, proof="",
        public_signals=""), ["verification_key_hash", "proof_system", "proof", "public_signals"],
        timeout=120.0)
    await ask(d, "capacities", QueryForCapacities(), ["capacities"])
    await ask(d, "competition", Competition(id=1, hash="0" * 64, file_name="commitment"),
              ["id", "hash", "file_name", "file_content", "commitment", "error"])
    await d.aclose_session()


asyncio.run(main())
