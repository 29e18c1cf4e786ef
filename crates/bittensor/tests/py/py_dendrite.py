"""A real bittensor 10.5.0 Dendrite running every scenario against one axon.

Usage: py_dendrite.py <wallet_path> <axon_port> <axon_hotkey_ss58>
Prints one JSON object per scenario, one per line.
"""
import asyncio
import json
import os
import sys
import time

import aiohttp

sys.path.insert(0, os.path.dirname(__file__))
from protocol import LOOPBACK, FailingQuery, QueryZkProof, RequiredFieldQuery, UnknownQuery, WhoAmI, bt  # noqa: E402

wallet_path, port, axon_hotkey = sys.argv[1], int(sys.argv[2]), sys.argv[3]
validator = bt.Wallet(name="validator", hotkey="default", path=wallet_path)
stranger = bt.Wallet(name="validator", hotkey="stranger", path=wallet_path)
AXON = bt.AxonInfo(version=10005000, ip=LOOPBACK, port=port, ip_type=4, hotkey=axon_hotkey, coldkey=axon_hotkey)


def report(name, s):
    print(json.dumps({
        "name": name,
        "status_code": s.dendrite.status_code,
        "status_message": s.dendrite.status_message,
        "is_success": s.is_success,
        "axon_status_code": s.axon.status_code,
        "process_time": s.dendrite.process_time,
        "query_output": getattr(s, "query_output", None),
        "query_input": getattr(s, "query_input", None),
        "answer": getattr(s, "answer", None),
        "caller": getattr(s, "caller", None),
    }), flush=True)


def with_nonce(d, nonce_fn):
    """Makes dendrite `d` sign with nonce_fn() instead of time.time_ns()."""
    original = d.preprocess_synapse_for_request

    def pre(target, synapse, timeout=12.0):
        s = original(target, synapse, timeout)
        s.dendrite.nonce = nonce_fn()
        msg = f"{s.dendrite.nonce}.{s.dendrite.hotkey}.{s.axon.hotkey}.{s.dendrite.uuid}.{s.body_hash}"
        s.dendrite.signature = f"0x{d.keypair.sign(msg).hex()}"
        return s

    d.preprocess_synapse_for_request = pre
    return d


class TamperPost:
    """Changes the JSON body aiohttp sends, after the headers (and signature) were made."""

    def __init__(self, edit):
        self.edit = edit

    def __enter__(self):
        self.original = aiohttp.ClientSession.post
        edit = self.edit
        original = self.original

        def post(session, *args, **kwargs):
            if kwargs.get("json") is not None:
                body = json.loads(json.dumps(kwargs["json"]))
                edit(body)
                kwargs["json"] = body
            return original(session, *args, **kwargs)

        aiohttp.ClientSession.post = post

    def __exit__(self, *exc):
        aiohttp.ClientSession.post = self.original


async def main():
    d = bt.Dendrite(wallet=validator)
    report("ping", await d.call(AXON, bt.Synapse(), timeout=12.0, deserialize=False))
    inp = {"model_id": "mnist-v1", "public_inputs": [1, 2, 3], "nested": {"b": 2.5, "a": "x", "u": "\u00e9\u65e5"}}
    report("success", await d.call(AXON, QueryZkProof(query_input=inp), timeout=12.0, deserialize=False))
    report("required_field", await d.call(AXON, RequiredFieldQuery(prompt="hello"), timeout=12.0, deserialize=False))
    report("whoami", await d.call(AXON, WhoAmI(), timeout=12.0, deserialize=False))
    report("failing", await d.call(AXON, FailingQuery(), timeout=12.0, deserialize=False))
    report("unknown", await d.call(AXON, UnknownQuery(), timeout=12.0, deserialize=False))
    report("timeout", await d.call(AXON, QueryZkProof(query_input={"sleep": 3}), timeout=1.0, deserialize=False))

    bad = bt.Dendrite(wallet=stranger)
    report("blacklisted", await bad.call(AXON, QueryZkProof(query_input={}), timeout=12.0, deserialize=False))

    wrong = bt.AxonInfo(version=10005000, ip=LOOPBACK, port=port, ip_type=4,
                        hotkey=stranger.hotkey.ss58_address, coldkey=axon_hotkey)
    report("wrong_axon_hotkey", await d.call(wrong, QueryZkProof(query_input={}), timeout=12.0, deserialize=False))

    flip = bt.Dendrite(wallet=validator)
    original = flip.preprocess_synapse_for_request

    def flipped(target, synapse, timeout=12.0):
        s = original(target, synapse, timeout)
        sig = s.dendrite.signature
        s.dendrite.signature = sig[:-1] + ("0" if sig[-1] != "0" else "1")
        return s

    flip.preprocess_synapse_for_request = flipped
    report("bad_signature", await flip.call(AXON, QueryZkProof(query_input={}), timeout=12.0, deserialize=False))

    fixed = time.time_ns()
    replayer = with_nonce(bt.Dendrite(wallet=validator), lambda: fixed)
    report("replay_first", await replayer.call(AXON, QueryZkProof(query_input={"r": 1}), timeout=12.0, deserialize=False))
    report("replay_second", await replayer.call(AXON, QueryZkProof(query_input={"r": 1}), timeout=12.0, deserialize=False))

    stale = with_nonce(bt.Dendrite(wallet=validator), lambda: time.time_ns() - 60 * 10**9)
    report("stale_nonce", await stale.call(AXON, QueryZkProof(query_input={}), timeout=12.0, deserialize=False))

    def tamper_hashed(body):
        body["query_input"] = {"model_id": "tampered"}

    with TamperPost(tamper_hashed):
        report("tampered_hashed_field", await d.call(AXON, QueryZkProof(query_input={"model_id": "m"}), timeout=12.0, deserialize=False))

    def forge_hotkey(body):
        body["dendrite"]["hotkey"] = stranger.hotkey.ss58_address

    with TamperPost(forge_hotkey):
        report("forged_body_hotkey", await d.call(AXON, WhoAmI(), timeout=12.0, deserialize=False))

    await d.aclose_session()


asyncio.run(main())
