"""A small stand-in for a validator's external API, for the client tests: HTTP `GET /circuits`
and JSON-RPC over a WebSocket at `/rpc` (RFC 6455 framing by hand, stdlib only), plain or TLS.

It answers `omron.proof_of_computation` and `omron.proof_of_weights` honestly by proving in
this process (`prove_locally`, as the miner //Bob) and signing with `make_answer` (as the
validator //Alice), unless a test tells it to misbehave: `tamper` edits the answer, `error`
answers with a JSON-RPC error, `delay` waits before answering, `close_after_answer` drops the
connection after each answer, `allowed` refuses other keys at the upgrade. It checks that the
signature headers are present, not the signature itself (the real validator does).

It runs in threads of the test process, so a client that held the GIL while waiting for it
would wait forever: every client test that passes also shows the GIL is released.
"""

import base64
import hashlib
import json
import socket
import ssl
import struct
import threading
import time
from pathlib import Path

import omron_client as oc

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
VALIDATOR_KEY = "//Alice"
MINER_KEY = "//Bob"


class FakeValidator:
    """Serves the circuits in `circuit_dirs` on 127.0.0.1 (TLS when `tls` is (cert, key))."""

    def __init__(self, circuit_dirs, tls=None):
        self.circuits = {}
        for d in circuit_dirs:
            info = oc.circuit_info(d)
            for name in (info["id"], info["name"], Path(d).name):
                self.circuits[name] = (Path(d), info)
        self.tls = None
        if tls is not None:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(*tls)
        self.allowed = None
        self.tamper = None
        self.error = None
        self.delay = 0.0
        self.close_after_answer = False
        self.upgrades = []  # the headers of each accepted WebSocket upgrade
        self.requests = []  # each JSON-RPC request received
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self):
        scheme = "wss" if self.tls else "ws"
        return f"{scheme}://127.0.0.1:{self._sock.getsockname()[1]}"

    def close(self):
        self._stop = True
        self._sock.close()

    # --- connections ---------------------------------------------------------------------------

    def _accept(self):
        while not self._stop:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            if self.tls:
                conn = self.tls.wrap_socket(conn, server_side=True)
            with conn:
                self._http(conn)
        except (OSError, ssl.SSLError, ConnectionError, ValueError):
            pass  # a client that gave up (a pin mismatch, a timeout): nothing to serve

    def _http(self, conn):
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(4096)
            if not chunk or len(head) > 65536:
                return
            head += chunk
        lines = head.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")
        _, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if path == "/circuits":
            body = [self._circuit_info(info) for _, info in self._unique()]
            return self._respond(conn, 200, json.dumps(body))
        if headers.get("upgrade", "").lower() != "websocket" or path != "/rpc":
            return self._respond(conn, 404, "not found")
        missing = [h for h in ("x-timestamp", "x-origin-ss58", "x-signature") if h not in headers]
        if missing:
            return self._respond(conn, 401, f"missing header {missing[0]}")
        if self.allowed is not None and headers["x-origin-ss58"] not in self.allowed:
            return self._respond(conn, 403, f"key {headers['x-origin-ss58']} is not whitelisted")
        accept = base64.b64encode(
            hashlib.sha1(headers["sec-websocket-key"].encode() + WS_GUID).digest()
        )
        conn.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        self.upgrades.append(headers)
        self._websocket(conn, headers)

    @staticmethod
    def _respond(conn, status, body):
        data = body.encode()
        conn.sendall(
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
            + data
        )

    # --- WebSocket framing -------------------------------------------------------------------

    def _websocket(self, conn, headers):
        reader = conn.makefile("rb")
        while True:
            opcode, payload = _read_frame(reader)
            if opcode is None or opcode == 0x8:
                _send_frame(conn, 0x8, b"")
                return
            if opcode == 0x9:
                _send_frame(conn, 0xA, payload)
            elif opcode == 0x1:
                request = json.loads(payload)
                self.requests.append(request)
                try:
                    response = self._answer(request, headers)
                except oc.OmronError as e:
                    response = {
                        "jsonrpc": "2.0",
                        "id": request.get("id"),
                        "error": {"code": -32602, "message": str(e)},
                    }
                _send_frame(conn, 0x1, json.dumps(response).encode())
                if self.close_after_answer:
                    _send_frame(conn, 0x8, b"")
                    return

    # --- JSON-RPC ------------------------------------------------------------------------------

    def _answer(self, request, headers):
        rid = request.get("id")
        if self.delay:
            time.sleep(self.delay)
        if self.error is not None:
            code, message, data = self.error
            return {
                "jsonrpc": "2.0",
                "id": rid,
                "error": {"code": code, "message": message, "data": data},
            }
        params = request.get("params") or {}
        if request.get("method") == oc.PROOF_OF_COMPUTATION:
            found = self.circuits.get(params.get("circuit"))
            if found is None:
                return {
                    "jsonrpc": "2.0",
                    "id": rid,
                    "error": {"code": -32602, "message": "unknown circuit"},
                }
            app = dict(params["input"])
            nonce = app.pop("nonce", None)
            proven = oc.prove_locally(found[0], app, nonce, MINER_KEY)
        elif request.get("method") == oc.PROOF_OF_WEIGHTS:
            netuid = int(headers.get("x-netuid", "0"))
            dirs = [
                d
                for d, info in self._unique()
                if info["type"] == "proof_of_weights" and info["netuid"] == netuid
            ]
            if not dirs:
                return {
                    "jsonrpc": "2.0",
                    "id": rid,
                    "error": {"code": -32602, "message": "no circuit"},
                }
            proven = oc.prove_locally(dirs[0], params["evaluation_data"], None, MINER_KEY)
        else:
            return {
                "jsonrpc": "2.0",
                "id": rid,
                "error": {"code": -32601, "message": "no such method"},
            }
        answer = oc.make_answer(proven, VALIDATOR_KEY, miner_uid=1, netuid=2, block=42)
        if self.tamper is not None:
            self.tamper(answer)
        return {"jsonrpc": "2.0", "id": rid, "result": answer}

    def _unique(self):
        seen = {}
        for d, info in self.circuits.values():
            seen[info["id"]] = (d, info)
        return list(seen.values())

    @staticmethod
    def _circuit_info(info):
        return {
            "id": info["id"],
            "name": info["name"],
            "type": info["type"],
            "timeout": info["timeout"],
            "output_shapes": info["output_shapes"],
        }


def _read_exact(reader, n):
    data = reader.read(n)
    if len(data) != n:
        raise ConnectionError("closed")
    return data


def _read_frame(reader):
    """One whole message (continuation frames joined): (opcode, payload), (None, b"") at EOF."""
    opcode, payload = None, b""
    while True:
        first = reader.read(2)
        if len(first) < 2:
            return None, b""
        b0, b1 = first
        length = b1 & 0x7F
        if length == 126:
            length = struct.unpack(">H", _read_exact(reader, 2))[0]
        elif length == 127:
            length = struct.unpack(">Q", _read_exact(reader, 8))[0]
        mask = _read_exact(reader, 4) if b1 & 0x80 else b"\0\0\0\0"
        data = _read_exact(reader, length)
        data = bytes(c ^ mask[i % 4] for i, c in enumerate(data))
        if b0 & 0x0F:
            opcode = b0 & 0x0F
        payload += data
        if b0 & 0x80:
            return opcode, payload


def _send_frame(conn, opcode, payload):
    n = len(payload)
    if n < 126:
        header = struct.pack(">BB", 0x80 | opcode, n)
    elif n < 1 << 16:
        header = struct.pack(">BBH", 0x80 | opcode, 126, n)
    else:
        header = struct.pack(">BBQ", 0x80 | opcode, 127, n)
    conn.sendall(header + payload)
