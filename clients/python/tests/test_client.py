"""`Client` against the fake validator of `fake_validator.py`: answers re-verified before they
are returned, a misbehaving validator caught, JSON-RPC errors with their codes, refused keys,
reconnection, timeouts, and certificate pinning over TLS."""

import concurrent.futures
import hashlib
import shutil
import socket
import ssl
import subprocess
import time

import pytest

import omron_client as oc
from conftest import CIRCUITS, MNIST, NONCE, SN2
from fake_validator import VALIDATOR_KEY, FakeValidator

APP_KEY = "//Dave"


@pytest.fixture
def fake():
    server = FakeValidator([MNIST, SN2])
    yield server
    server.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate and key (openssl), and the certificate's SHA-256 pin."""
    if shutil.which("openssl") is None:
        pytest.skip("the TLS tests make their certificate with the openssl command, not found")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=validator",
        ],
        check=True,
        capture_output=True,
    )
    der = ssl.PEM_cert_to_DER_cert(cert.read_text())
    return cert, key, hashlib.sha256(der).hexdigest()


def client(server, **kw):
    kw.setdefault("key_uri", APP_KEY)
    return oc.Client(server.url, None, **kw)


def failure(fn, *args, kinds=None, **kw):
    with pytest.raises(oc.OmronError) as info:
        fn(*args, **kw)
    if kinds is not None:
        assert info.value.kind in kinds, f"{info.value.kind}: {info.value}"
    return info.value


def test_prove_returns_an_answer_it_verified(fake, mnist_input):
    with client(fake) as c:
        assert c.hotkey == oc.ss58_address(APP_KEY) and c.url == fake.url
        answer = c.prove("mnist-mlp", mnist_input, MNIST)
    assert len(answer["output"]) == 10
    assert answer["validator"] == oc.ss58_address(VALIDATOR_KEY)
    assert answer["receipt"]["validator_hotkey"] == answer["validator"]
    assert answer["miner_uid"] == 1 and answer["receipt"]["miner_uid"] == 1
    assert answer["circuit_id"] == oc.circuit_info(MNIST)["id"]
    assert answer["input"]["input_data"] == mnist_input["input_data"]
    assert len(answer["nonce"]) == 32 and answer["input"]["nonce"] == answer["nonce"]
    assert answer["hash"] == answer["receipt"]["request_hash"]
    # What was kept can be checked again later, by anyone with the circuit's files.
    again = oc.verify_receipt(MNIST, answer["receipt"], answer["input"], answer["proof"])
    assert again["output"] == answer["output"]
    # The connection was signed with the app's key; the request is the app's.
    assert fake.upgrades[0]["x-origin-ss58"] == oc.ss58_address(APP_KEY)
    assert fake.requests[0]["method"] == oc.PROOF_OF_COMPUTATION
    # Named by id, whatever the app called it: the circuit whose files check the answer.
    assert fake.requests[0]["params"] == {"circuit": answer["circuit_id"], "input": mnist_input}


def test_prove_binds_the_apps_own_nonce_and_takes_names_or_ids(fake, mnist_input):
    with client(fake) as c:
        answer = c.prove(oc.circuit_info(MNIST)["id"], {**mnist_input, "nonce": NONCE}, MNIST)
        assert answer["nonce"] == NONCE
        assert c.prove("MNIST MLP", mnist_input, MNIST)["output"] == answer["output"]


def test_a_client_from_a_mnemonic_signs_with_that_key(fake, mnist_input):
    phrase = "bottom drive obey lake curtain smoke basket hold race lonely fit walk"
    with oc.Client(fake.url, None, mnemonic=phrase) as c:
        assert c.hotkey == oc.ss58_address(mnemonic=phrase) == oc.ss58_address(phrase)
        c.prove("mnist-mlp", mnist_input, MNIST)
    assert fake.upgrades[0]["x-origin-ss58"] == c.hotkey


def _set(path, value):
    def tamper(answer):
        node = answer
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return tamper


def _other_input(answer):
    """The validator had another input proven (and says so, consistently, in the receipt)."""
    proven = oc.prove_locally(MNIST, {"input_data": [[0.0] * 784]}, answer["context"]["nonce"])
    answer.clear()
    answer.update(oc.make_answer(proven, VALIDATOR_KEY, miner_uid=1))


@pytest.mark.parametrize(
    "tamper, kinds",
    [
        (_set(["output"], [1.0] * 10), {"mismatch"}),
        (_set(["receipt", "output"], [1.0] * 10), {"mismatch"}),
        (_set(["proof"], "00" * 100), {"receipt", "proof"}),
        (_set(["miner_hotkey"], oc.ss58_address("//Charlie")), {"mismatch"}),
        (_set(["receipt", "signature"], "0x" + "33" * 64), {"receipt"}),
        (_set(["circuit_id"], "ab" * 32), {"mismatch"}),
        (_other_input, {"mismatch"}),
    ],
    ids=["output", "receipt-output", "proof", "miner", "signature", "circuit", "other-input"],
)
def test_a_misbehaving_validator_is_caught(fake, mnist_input, tamper, kinds):
    fake.tamper = tamper
    with client(fake) as c:
        failure(c.prove, "mnist-mlp", mnist_input, MNIST, kinds=kinds)


def test_a_validator_that_ignores_the_apps_nonce_is_caught(fake, mnist_input):
    def other_nonce(answer):
        proven = oc.prove_locally(
            MNIST, {"input_data": answer["context"]["input"]["input_data"]}, "ab" * 16
        )
        answer.clear()
        answer.update(oc.make_answer(proven, VALIDATOR_KEY, miner_uid=1))

    fake.tamper = other_nonce
    with client(fake) as c:
        err = failure(
            c.prove, "mnist-mlp", {**mnist_input, "nonce": NONCE}, MNIST, kinds={"mismatch"}
        )
    assert "nonce" in str(err)


def test_json_rpc_errors_keep_their_code_and_data(fake, mnist_input):
    fake.error = (9, "Request processing failed", {"attempts": [{"uid": 3, "error": "timeout"}]})
    with client(fake) as c:
        err = failure(c.prove, "mnist-mlp", mnist_input, MNIST, kinds={"rpc"})
        assert err.code == 9 and err.data == {"attempts": [{"uid": 3, "error": "timeout"}]}
        assert "Request processing failed" in str(err)
        fake.error = None  # the connection is still usable after an error answer
        assert len(c.prove("mnist-mlp", mnist_input, MNIST)["output"]) == 10
    assert len(fake.upgrades) == 1


def test_a_key_the_validator_does_not_allow_is_refused(fake):
    fake.allowed = {oc.ss58_address("//Alice")}
    err = failure(client, fake, key_uri="//Eve", kinds={"refused"})
    assert err.status == 403 and "whitelisted" in str(err)
    client(fake, key_uri="//Alice").close()


def test_a_broken_connection_is_reopened_by_the_next_call(fake, mnist_input):
    fake.close_after_answer = True
    with client(fake) as c:
        c.prove("mnist-mlp", mnist_input, MNIST)
        time.sleep(0.1)  # the close frame arrives
        second = failure(c.prove, "mnist-mlp", mnist_input, MNIST, kinds={"transport"})
        assert "closed" in str(second)
        fake.close_after_answer = False
        assert len(c.prove("mnist-mlp", mnist_input, MNIST)["output"]) == 10
    assert len(fake.upgrades) == 2


def test_a_slow_answer_times_out_and_a_late_one_is_ignored(fake, mnist_input):
    fake.delay = 2.0
    with client(fake, timeout=0.5) as c:
        started = time.monotonic()
        failure(c.prove, "mnist-mlp", mnist_input, MNIST, kinds={"timeout"})
        assert time.monotonic() - started < 1.9
        fake.delay = 0.0
        time.sleep(2.0)  # the late answer (id 1) arrives first and is skipped
        c.prove("mnist-mlp", mnist_input, MNIST)


def test_prove_weights_sends_the_batch_to_the_subnets_circuit(fake, batch):
    with client(fake, netuid=2) as c:
        answer = c.prove_weights(batch, SN2)
    assert answer["input"] == batch and answer["nonce"] is None
    assert answer["output"] == oc.verify(SN2, batch, answer["miner_hotkey"], answer["proof"])
    assert fake.upgrades[0]["x-netuid"] == "2"
    assert fake.requests[0]["params"] == {"evaluation_data": batch, "weights_version": None}


def test_circuit_files_can_be_a_folder_of_circuit_folders(fake, mnist_input, batch, tmp_path):
    with client(fake, netuid=2) as c:
        assert c.prove("mnist-mlp", mnist_input, CIRCUITS)["circuit_name"] == "MNIST MLP"
        # The validator picks the scoring circuit; the answer's is found by its id.
        assert c.prove_weights(batch, CIRCUITS)["circuit_name"] == "SN2 PoW 256"
        failure(c.prove, "no-such-circuit", mnist_input, CIRCUITS, kinds={"input"})
        only_1024 = tmp_path / "store"
        shutil.copytree(CIRCUITS / "sn2-pow-1024", only_1024 / "sn2-pow-1024")
        err = failure(c.prove_weights, batch, only_1024, kinds={"mismatch"})
        assert "not in" in str(err)
        failure(c.prove_weights, batch, tmp_path / "empty", kinds={"circuit"})
        failure(c.prove_weights, batch, CIRCUITS, weights_version=12345, kinds={"input"})


def test_circuits_lists_what_the_validator_serves(fake):
    with client(fake) as c:
        names = sorted(x["name"] for x in c.circuits())
    assert names == ["MNIST MLP", "SN2 PoW 256"]


def test_mistakes_are_caught_before_anything_is_sent(fake, mnist_input, batch):
    with client(fake) as c:
        failure(c.prove, "cnn-small", mnist_input, MNIST, kinds={"input"})
        failure(c.prove, "sn2-pow-256", batch, SN2, kinds={"input"})
        failure(c.prove_weights, batch, MNIST, kinds={"input"})
        failure(
            c.prove, "mnist-mlp", {"input_data": [[0.0] * 784], "oops": 1}, MNIST, kinds={"input"}
        )
        failure(c.prove, "mnist-mlp", {"input_data": "zeros"}, MNIST, kinds={"input"})
    assert fake.requests == []
    failure(oc.Client, fake.url, None, kinds={"key"})
    failure(oc.Client, fake.url, None, key_uri="//A", mnemonic="x y z", kinds={"key"})
    failure(oc.Client, fake.url, None, key_uri="//A", timeout=0, kinds={"input"})
    failure(oc.Client, "ftp://127.0.0.1:1", None, key_uri="//A", kinds={"url"})
    failure(oc.Client, fake.url, "not a fingerprint", key_uri="//A", kinds={"url"})
    failure(oc.Client, fake.url.replace("ws://", "wss://"), None, key_uri="//A", kinds={"url"})


def test_nothing_listening_is_a_connect_error():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    failure(oc.Client, f"ws://127.0.0.1:{port}", None, key_uri=APP_KEY, kinds={"connect"})


def test_one_client_serves_several_threads(fake, mnist_input):
    fake.delay = 0.2
    with client(fake) as c, concurrent.futures.ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: c.prove("mnist-mlp", mnist_input, MNIST), range(3)))
    assert len({a["nonce"] for a in answers}) == 3
    assert len(fake.upgrades) == 1


def test_tls_trusts_exactly_the_pinned_certificate(certificate, mnist_input):
    cert, key, pin = certificate
    server = FakeValidator([MNIST], tls=(str(cert), str(key)))
    try:
        for spelling in (
            pin,
            pin.upper(),
            "sha256:" + ":".join(pin[i : i + 2] for i in range(0, 64, 2)),
        ):
            with oc.Client(server.url, spelling, key_uri=APP_KEY) as c:
                assert len(c.prove("mnist-mlp", mnist_input, MNIST)["output"]) == 10
                assert [x["name"] for x in c.circuits()] == ["MNIST MLP"]
        wrong = hashlib.sha256(b"another certificate").hexdigest()
        err = failure(oc.Client, server.url, wrong, key_uri=APP_KEY, kinds={"connect"})
        assert "pin" in str(err)
        assert len(server.upgrades) == 3
    finally:
        server.close()
