"""bittensor 11.3.0 btauth/1 client: signs requests with the SDK and sends them to our axon.

Usage: btauth_client.py <wallet_path> <axon_port>
Prints one JSON object per scenario.
"""
import json
import sys
import time
import urllib.error
import urllib.request

import bittensor as bt
from bittensor import http_auth as ha

wallet_path, port = sys.argv[1], int(sys.argv[2])
validator = bt.Wallet(name="validator", hotkey="default", path=wallet_path)
miner = bt.Wallet(name="miner", hotkey="default", path=wallet_path)
receiver = miner.hotkey.ss58_address


def send(name, path, body, headers):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST")
    req.add_header("Content-Type", "application/json")
    for k, v in headers.items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status, payload = resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        status, payload = e.code, json.loads(e.read())
    print(json.dumps({"name": name, "status": status, "message": payload.get("message"),
                      "query_output": payload.get("query_output"),
                      "axon_status": (payload.get("axon") or {}).get("status_code")}), flush=True)


body = json.dumps({"query_input": {"model_id": "m", "x": [1.5, 2]}}).encode()


def signed(path="/QueryZkProof", b=body, receiver_ss58=receiver, nonce_ns=None):
    return ha.sign(validator, method="POST", path=path, body=b, receiver_ss58=receiver_ss58, nonce_ns=nonce_ns)


h = signed()
send("ok", "/QueryZkProof", body, h)
send("replay_same_store", "/QueryZkProof", body, h)
send("with_query", "/QueryZkProof?x=1", body, signed(path="/QueryZkProof?x=1"))
send("too_old_11s", "/QueryZkProof", body, signed(nonce_ns=time.time_ns() - 11 * 10**9))
send("future_3s", "/QueryZkProof", body, signed(nonce_ns=time.time_ns() + 3 * 10**9))
send("wrong_receiver", "/QueryZkProof", body, signed(receiver_ss58=validator.hotkey.ss58_address))
send("no_receiver_header", "/QueryZkProof", body, signed(receiver_ss58=None))
h = signed()
h[ha.HEADER_SIGNATURE] = h[ha.HEADER_SIGNATURE][:-1] + ("0" if h[ha.HEADER_SIGNATURE][-1] != "0" else "1")
send("bad_signature", "/QueryZkProof", body, h)
send("body_changed", "/QueryZkProof", body + b" ", signed())
send("path_changed", "/Synapse", body, signed())
