"""Reference values for omron-scoring's parity tests, computed by CPython itself.

Usage: python3 parity.py MODE SCORE_MODEL_DIR

Every mode prints one JSON document on stdout. Randomness comes from random.Random with
fixed seeds, so the documents are the same on every run. The incentive mode imports the
reference's integer model (shared/data/omron/score_model.py) and only adds the circuit's
failure conditions around it; the other modes use the Python standard library, which is the
reference implementation of the behaviour being checked (random, json, ipaddress, float
formatting and float32 rounding through struct).
"""

import contextlib
import hashlib
import io
import ipaddress
import json
import random
import struct
import sys

S = 10**8
BOUND = 2**40


def load_score_model(directory):
    sys.path.insert(0, directory)
    # score_model.py prints its own table at import time; keep stdout clean for our JSON.
    with contextlib.redirect_stdout(io.StringIO()):
        import score_model  # noqa: E402
    return score_model


def incentive(sm):
    rng = random.Random(20250915)
    defaults = dict(RD=40000000, RR=10000000, RTW=S, MAXD=99000000, CW=0)

    def params():
        if rng.random() < 0.75:
            return dict(defaults)
        p = dict(
            RD=rng.randint(0, S),
            RR=rng.randint(0, S),
            RTW=rng.choice([S, rng.randint(0, S), rng.randint(0, 2 * S)]),
            MAXD=rng.choice([99000000, rng.randint(0, S), S, rng.randint(S, BOUND - 1)]),
            CW=rng.choice([0, rng.randint(0, S)]),
        )
        if rng.random() < 0.01:
            p["MAXD"] = BOUND  # out of range: every item fails
        if rng.random() < 0.02:
            p["RD"] = rng.randint(S, 2 * S)  # decays below zero: fails
        return p

    def item():
        # Each failure mode has a small probability, so that most batches of 8 succeed and
        # every mode still occurs dozens of times.
        r = rng.random()
        if r < 0.6:
            ms = 390625
        elif r < 0.98:
            ms = int(1 / rng.randint(1, 1024) * S)
        else:
            ms = rng.randint(0, BOUND * 2)
        mn = rng.randint(0, 120 * S)
        r = rng.random()
        if r < 0.002:
            mx = mn
        elif r < 0.004:
            mx = rng.randint(0, mn) if mn > 0 else mn
        elif r < 0.9:
            mx = mn + rng.randint(S, 120 * S)  # the validator keeps max - min >= 1 s
        elif r < 0.99:
            mx = mn + rng.randint(1, S)
        else:
            mx = mn + 1  # norm usually exceeds 2^40 then
        span = max(mx - mn, 1)
        r = rng.random()
        if r < 0.003 and mn > 0:
            rt = rng.randint(0, mn - 1)
        elif r < 0.6:
            rt = rng.randint(mn, max(mn, mx))
        else:
            rt = mn + rng.randint(0, 3 * span)
        r = rng.random()
        if r < 0.7:
            prev = rng.randint(0, max(ms, 1))
        elif r < 0.997:
            prev = rng.randint(0, BOUND - 1)
        else:
            prev = rng.randint(BOUND, 2 * BOUND)
        v = rng.choice([0, 1, 1]) if rng.random() > 0.002 else 2
        comp = rng.randint(0, S)
        return dict(ms=ms, prev=prev, v=v, rt=rt, mn=mn, mx=mx, comp=comp)

    def oracle(p, it):
        """The reference model's value, or None where the circuit's witness would fail."""
        if it["v"] not in (0, 1) or p["MAXD"] >= BOUND or it["prev"] >= BOUND:
            return None
        if it["mx"] <= it["mn"] or it["rt"] < it["mn"]:
            return None
        norm = ((it["rt"] - it["mn"]) * S) // (it["mx"] - it["mn"])
        if norm >= BOUND:
            return None
        norm = min(norm, p["MAXD"])
        if sm.f(norm) > S:
            return None
        rtm = ((S - sm.f(norm)) * p["RTW"]) // S
        tot = min(S, rtm + (it["comp"] * p["CW"]) // S)
        if (it["ms"] * tot) // S >= BOUND:
            return None
        value = sm.new_score(
            it["ms"], it["prev"], it["v"], it["rt"], it["mn"], it["mx"], it["comp"],
            RD=p["RD"], RR=p["RR"], RTW=p["RTW"], MAXD=p["MAXD"], CW=p["CW"],
        )
        return value if value >= 0 else None

    batches = []
    for _ in range(4000):
        p = params()
        items = [item() for _ in range(8)]
        expected = []
        error_index = None
        for i, it in enumerate(items):
            value = oracle(p, it)
            if value is None:
                error_index = i
                break
            expected.append(value)
        batches.append(dict(params=p, items=items, expected=None if error_index is not None else expected,
                            error_index=error_index))
    curve = [[n, str(sm.f(n))] for n in [0, 1, 2, 49999999, 50000000, 50000001, 99000000, S]
             + [rng.randint(0, S) for _ in range(2000)] + [rng.randint(S, BOUND - 1) for _ in range(500)]]
    return dict(batches=batches, curve=curve)


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def scaling(_sm):
    rng = random.Random(7)
    floats = []
    for _ in range(5000):
        x = rng.choice([rng.random(), rng.random() * 120, rng.random() / 256, rng.uniform(0, 1e6),
                        rng.randint(0, 5000) / 7.0])
        x32 = f32(x)
        floats.append([struct.pack(">d", x).hex(), int(x32 * 100000000)])
    scores = []
    for _ in range(5000):
        w = rng.choice([rng.randint(0, 400000), rng.randint(0, BOUND - 1)])
        # torch.tensor([float(w)]) / scaling in float32; a float64 quotient of float32 operands
        # rounded once more to float32 is the correctly rounded float32 quotient.
        s32 = f32(f32(float(w)) / 100000000)
        scores.append([w, struct.pack(">f", s32).hex(), int(s32 * 100000000)])
    return dict(floats=floats, scores=scores)


def shuffle(_sm):
    seeds = [0, 1, 5, 42, 2**32 - 1, 2**32, 2**64 + 17, 2**200 + 5, 10**40]
    texts = ["0x" + "00" * 32, "0x" + "ab" * 32]
    rng = random.Random(99)
    texts += ["0x" + "".join(rng.choice("0123456789abcdef") for _ in range(64)) for _ in range(10)]
    cases = []
    for seed in seeds:
        cases.append(dict(seed_hex=hex(seed), text=None, **draws(seed)))
    for text in texts:
        seed = int(hashlib.sha256(text.encode()).hexdigest(), 16)
        cases.append(dict(seed_hex=hex(seed), text=text, **draws(seed)))
    # A 32-byte seed whose top 32-bit words are zero: CPython's key is shorter then.
    digest = hashlib.sha256(b"short key").digest()
    for zeros in (4, 8, 31):
        seed = int.from_bytes(b"\0" * zeros + digest[zeros:], "big")
        cases.append(dict(seed_hex=hex(seed), text=None, **draws(seed)))
    return dict(cases=cases)


def draws(seed):
    out = {}
    for n in [1, 2, 10, 256, 1000]:
        u = list(range(n))
        random.Random(seed).shuffle(u)
        out["shuffle_%d" % n] = u
    r = random.Random(seed)
    out["bits"] = [[k, str(r.getrandbits(k))] for k in [1, 7, 31, 32, 33, 64, 65, 100, 128]]
    out["random"] = struct.pack(">d", random.Random(seed).random()).hex()
    return out


def encode(v):
    """JSON with floats carried as their bit patterns, so the Rust side rebuilds them exactly."""
    if isinstance(v, bool) or v is None or isinstance(v, int) or isinstance(v, str):
        return v
    if isinstance(v, float):
        return {"__f64": struct.pack(">d", v).hex()}
    if isinstance(v, list):
        return [encode(x) for x in v]
    return {"__dict": [[k, encode(x)] for k, x in v.items()]}


def hashing(_sm):
    rng = random.Random(31337)
    alphabet = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\x00", "\x1f", "\x7f", "é", "ß",
                "€", "漢", "\u2028", "😀", "𝄞", "\ud7ff", "\ue000"]

    def text():
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))

    def number():
        return rng.choice([
            rng.randint(-2**63, 2**63 - 1), rng.randint(0, 2**64 - 1), rng.randint(-10, 10),
            rng.random(), -rng.random(), rng.uniform(-1e22, 1e22), rng.random() * 1e-7,
            float(rng.randint(-10**6, 10**6)), 10.0 ** rng.randint(-330, 308), -0.0, 0.0,
            struct.unpack(">d", struct.pack(">Q", rng.getrandbits(62)))[0],
        ])

    def value(depth):
        r = rng.random()
        if depth > 3 or r < 0.5:
            return rng.choice([number(), text(), True, False, None])
        if r < 0.75:
            return [value(depth + 1) for _ in range(rng.randint(0, 5))]
        return {text(): value(depth + 1) for _ in range(rng.randint(0, 5))}

    cases = []
    for _ in range(1500):
        v = {text(): value(0) for _ in range(rng.randint(0, 6))}
        dumped = json.dumps(v, sort_keys=True)
        cases.append(dict(value=encode(v), dumps=dumped,
                          sha256=hashlib.sha256(dumped.encode()).hexdigest()))
    reprs = []
    for _ in range(5000):
        x = struct.unpack(">d", struct.pack(">Q", rng.getrandbits(64)))[0]
        if x != x or x in (float("inf"), float("-inf")):
            continue
        reprs.append([struct.pack(">d", x).hex(), repr(x)])
    return dict(cases=cases, reprs=reprs)


# Floats travel as hex bit patterns throughout: JSON float text would depend on the reader's
# float parser, and serde_json's default parser is not always correctly rounded.


def weights(_sm):
    rng = random.Random(4242)
    cases = []
    for _ in range(2000):
        n = rng.randint(1, 40)
        w = [f32(rng.choice([0.0, rng.random(), rng.random() / 256, rng.randint(0, 4) / 4]))
             for _ in range(n)]
        uids = list(range(n))
        if sum(w) == 0:
            out = ([], [])
        else:
            mx = float(max(w))
            ws = [float(x) / mx for x in w]
            vals, us = [], []
            for x, u in zip(ws, uids):
                q = round(float(x) * int(65535))
                if q != 0:
                    vals.append(q)
                    us.append(u)
            out = (us, vals)
        cases.append(dict(weights=[struct.pack(">f", x).hex() for x in w], uids=out[0], values=out[1]))
    return dict(cases=cases)


def ips(_sm):
    rng = random.Random(8)
    new_semantics = ipaddress.IPv4Address("192.0.0.8").is_private
    cases = []
    specials = ["0.0.0.0", "8.8.8.8", "100.64.0.1", "100.63.255.255", "224.0.0.1", "255.255.255.255",
                "192.0.0.9", "192.0.0.170", "198.18.0.0", "172.32.0.1", "01.2.3.4", "1.2.3", "::1", ""]
    randoms = [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(20000)]
    prefixes = [[10], [100, 64], [127], [169, 254], [172, 16], [192, 0, 2], [192, 168], [198, 18],
                [198, 51, 100], [203, 0, 113], [224], [240]]
    for p in prefixes:
        for _ in range(200):
            octets = p + [rng.randint(0, 255) for _ in range(4 - len(p))]
            randoms.append(".".join(map(str, octets)))
    for ip in specials + randoms:
        if not new_semantics and ip.startswith("192.0.0."):
            continue  # this CPython predates 3.12.4's 192.0.0.0/24 rule; the unit tests pin it
        try:
            a = ipaddress.IPv4Address(ip)
            ok = a.is_global and not a.is_multicast
        except ValueError:
            ok = False
        cases.append([ip, ok])
    return dict(cases=cases)


MODES = dict(incentive=incentive, scaling=scaling, shuffle=shuffle, hashing=hashing, weights=weights, ips=ips)

if __name__ == "__main__":
    mode, directory = sys.argv[1], sys.argv[2]
    sm = load_score_model(directory) if mode == "incentive" else None
    json.dump(MODES[mode](sm), sys.stdout)
