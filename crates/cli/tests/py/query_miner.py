"""The real bittensor 10.5.0 Dendrite asks an `omron miner` for a proof (QueryZkProof).

Usage: query_miner.py <wallet_path> <wallet_name> <axon_ip> <axon_port> <miner_hotkey_ss58>
                      <request_input.json> <model_id>
Prints one JSON line: the dendrite's status and the miner's query_output.
"""
import json
import os
import sys
from typing import ClassVar, Optional

os.environ.setdefault("BT_NO_PARSE_CLI_ARGS", "true")

import bittensor as bt  # noqa: E402
from bittensor.utils import networking  # noqa: E402

# Loopback only: the dendrite's "what is my external IP" lookup would call public services.
# The value must differ from the axon's IP (the SDK swaps in 0.0.0.0 for its own address).
networking.get_external_ip = lambda: "127.0.0.9"


class QueryZkProof(bt.Synapse):
    """The subnet's proof request, as the Rust miner declares it (query_input is hashed)."""

    query_input: Optional[dict] = None
    query_output: Optional[str] = None
    required_hash_fields: ClassVar[tuple[str, ...]] = ("query_input",)

    def deserialize(self) -> Optional[str]:
        return self.query_output


wallet_path, wallet_name, ip, port, miner_hotkey, input_path, model_id = sys.argv[1:8]
wallet = bt.Wallet(name=wallet_name, hotkey="default", path=wallet_path)
axon = bt.AxonInfo(version=10005000, ip=ip, port=int(port), ip_type=4,
                   hotkey=miner_hotkey, coldkey=miner_hotkey)
with open(input_path) as f:
    public_inputs = json.load(f)


async def main():
    d = bt.Dendrite(wallet=wallet)
    synapse = QueryZkProof(query_input={"public_inputs": public_inputs, "model_id": model_id})
    got = await d.call(axon, synapse, timeout=60.0, deserialize=False)
    print(json.dumps({
        "status_code": got.dendrite.status_code,
        "status_message": got.dendrite.status_message,
        "process_time": got.dendrite.process_time,
        "query_output": got.query_output,
    }), flush=True)
    await d.aclose_session()


import asyncio  # noqa: E402

asyncio.run(main())
