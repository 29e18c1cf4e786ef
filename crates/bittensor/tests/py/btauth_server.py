"""bittensor 11.3.0 btauth/1 server: verifies requests with the SDK, answers like an axon.

Usage: btauth_server.py <wallet_path> <port>
Prints "READY"; stops when stdin closes.
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import bittensor as bt
from bittensor import http_auth as ha

wallet_path, port = sys.argv[1], int(sys.argv[2])
miner = bt.Wallet(name="miner", hotkey="default", path=wallet_path)
SELF = miner.hotkey.ss58_address
STORE = ha.InMemoryNonceStore()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            caller = ha.verify(dict(self.headers.items()), body, method="POST", path=self.path,
                               self_hotkey_ss58=SELF, nonce_store=STORE)
        except ha.AuthError as e:
            return self.answer(401, {"message": f"{type(e).__name__}: {e}"})
        synapse = json.loads(body)
        synapse["query_output"] = "btauth-ok:" + caller.hotkey_ss58
        synapse["axon"] = {"status_code": 200, "status_message": "Success", "hotkey": SELF}
        self.answer(200, synapse)

    def answer(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
print("READY", flush=True)
sys.stdin.read()
server.shutdown()
