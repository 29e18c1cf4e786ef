#!/usr/bin/env python3
"""Decoder-only transformer benchmark models (GPT-2 architecture) as ONNX files.

    python3 bench/make_transformers.py --model nanogpt|gpt2-small --out DIR
        [--seed N] [--tokens T] [--gelu erf|tanh] [--gelu-op] [--opset K] [--logits all|last]
        [--prompts N --prompts-out FILE] [--prompt-seed S]
    python3 bench/make_transformers.py --prompts N --prompts-out FILE --model M [--tokens T]
    python3 bench/make_transformers.py --check DIR [--prompts N] [--prompt-seed S] [--reference-out FILE]
    python3 bench/make_transformers.py --ort-time DIR [--runs N]

Writes DIR/network.onnx and DIR/input.json (`{"input_data": [[token ids]]}`, one prompt of
random ids, the form `omron bench` and `omron prove` read). The graph is built op by op with
onnx.helper in the form torch.onnx.export gives for a GPT-2 / nanoGPT module:

    input_ids int64 [1, T]
    Gather(wte) + Gather(wpe, positions 0..T-1)
    n_layer x [ LayerNormalization -> MatMul+Add (c_attn) -> Split q,k,v -> Reshape/Transpose
                to heads -> MatMul q.k^T -> Div sqrt(head_dim) -> Where(causal mask)
                -> Softmax(-1) -> MatMul .v -> Transpose/Reshape -> MatMul+Add (c_proj) -> Add
                LayerNormalization -> MatMul+Add (c_fc) -> GELU -> MatMul+Add (c_proj) -> Add ]
    LayerNormalization (ln_f) -> MatMul(Transpose(wte))   (the LM head is tied to wte, as in
                                                           GPT-2 and nanoGPT)
    logits float32: [1, T, vocab] (--logits all, the default: every position, like the HF and
                    nanoGPT exports) or [1, vocab] (--logits last: Gather of position T-1
                    after ln_f). The next token is the argmax of the last position's logits.

Models (weights random, fixed seed; GPT-2's init: normal std 0.02, the two residual projections
per block std 0.02/sqrt(2 n_layer); unlike a fresh init, biases get std 0.02 and LayerNorm
gains 1 + N(0, 0.02^2), so that the check exercises every tensor):

    nanogpt     4 layers, 4 heads, width 64, vocabulary 65 (character level), position table
                64, prompt 64 tokens, GELU erf (nn.GELU): 208,320 parameters (~0.21 M; the
                EZKL / Jolt Atlas "nanoGPT 0.25 M, 4 layers" benchmark, whose other shapes
                are not published in what we have)
    gpt2-small  12 layers, 12 heads, width 768, vocabulary 50,257, position table 1,024,
                prompt 16 tokens, GELU tanh (GPT-2's gelu_new): 124,439,808 parameters

`--check DIR` runs DIR/network.onnx in onnxruntime and in an independent float64 numpy forward
pass over the weights read back from the file's initialisers, on `--prompts` random prompts
(default 100; the same prompts `--prompts N --prompts-out FILE` writes with the same
--prompt-seed), prints the next-token argmax agreement and the max |logit difference|, and
exits 1 unless every argmax agrees.

Dependencies (tested with): Python 3.11, onnx 1.23.2, numpy 2.4.6, onnxruntime 1.32.0 (only
for --check). scripts/ort-venv.sh installs all three into .venv-ort.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# One BLAS thread unless told otherwise: on a small shared machine OpenBLAS's spinning threads
# made the float64 reference 4x slower (GPT-2 small: 212 s with the default, 51 s with one).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

MODEL_FILE = "network.onnx"
INPUT_FILE = "input.json"
LAYER_NORM_EPS = 1e-5
# What HF's GPT-2 puts in masked attention scores (torch.finfo(float32).min).
MASK_FILL = float(np.finfo(np.float32).min)
DEFAULT_PROMPT_SEED = 2026


@dataclass(frozen=True)
class Shape:
    n_layer: int
    n_head: int
    n_embd: int
    vocab: int
    n_positions: int
    tokens: int
    gelu: str

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head


MODELS = {
    "nanogpt": Shape(n_layer=4, n_head=4, n_embd=64, vocab=65, n_positions=64, tokens=64, gelu="erf"),
    "gpt2-small": Shape(
        n_layer=12, n_head=12, n_embd=768, vocab=50257, n_positions=1024, tokens=16, gelu="tanh"
    ),
}


# ---------------------------------------------------------------------------------------------
# Weights


def init_weights(shape: Shape, seed: int) -> dict[str, np.ndarray]:
    """GPT-2-style random weights, float32, named like the torch module's state dict.

    Linear weights are stored [in, out] (what MatMul takes; HF's Conv1D layout)."""
    rng = np.random.default_rng(seed)
    c = shape.n_embd
    std = 0.02
    resid_std = std / math.sqrt(2 * shape.n_layer)

    def normal(dims: tuple[int, ...], scale: float) -> np.ndarray:
        return (rng.standard_normal(dims, dtype=np.float32) * np.float32(scale)).astype(np.float32)

    def gain(n: int) -> np.ndarray:
        return (1.0 + normal((n,), std)).astype(np.float32)

    w: dict[str, np.ndarray] = {
        "transformer.wte.weight": normal((shape.vocab, c), std),
        "transformer.wpe.weight": normal((shape.n_positions, c), std),
    }
    for i in range(shape.n_layer):
        p = f"transformer.h.{i}."
        w[p + "ln_1.weight"] = gain(c)
        w[p + "ln_1.bias"] = normal((c,), std)
        w[p + "attn.c_attn.weight"] = normal((c, 3 * c), std)
        w[p + "attn.c_attn.bias"] = normal((3 * c,), std)
        w[p + "attn.c_proj.weight"] = normal((c, c), resid_std)
        w[p + "attn.c_proj.bias"] = normal((c,), std)
        w[p + "ln_2.weight"] = gain(c)
        w[p + "ln_2.bias"] = normal((c,), std)
        w[p + "mlp.c_fc.weight"] = normal((c, 4 * c), std)
        w[p + "mlp.c_fc.bias"] = normal((4 * c,), std)
        w[p + "mlp.c_proj.weight"] = normal((4 * c, c), resid_std)
        w[p + "mlp.c_proj.bias"] = normal((c,), std)
    w["transformer.ln_f.weight"] = gain(c)
    w["transformer.ln_f.bias"] = normal((c,), std)
    return w


def parameter_count(weights: dict[str, np.ndarray]) -> int:
    return sum(int(a.size) for a in weights.values())


# ---------------------------------------------------------------------------------------------
# Graph


class GraphBuilder:
    """Collects nodes and initialisers; names nodes the way the torch exporter does (/path/Op)."""

    def __init__(self, shared_values: dict[str, np.ndarray]) -> None:
        from onnx import helper, numpy_helper

        self.helper = helper
        self.numpy_helper = numpy_helper
        self.nodes: list = []
        self.initializers: list = []
        self.count = 0
        # Shared constants (scalars, shapes, the causal mask): values by role, stored as an
        # initialiser named const_<role> on first use.
        self.shared_values = shared_values
        self.shared_names: dict[str, str] = {}

    def const(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(self.numpy_helper.from_array(value, name))
        return name

    def shared(self, role: str) -> str:
        if role not in self.shared_names:
            self.shared_names[role] = self.const("const_" + role, self.shared_values[role])
        return self.shared_names[role]

    def op(self, op_type: str, inputs: list[str], scope: str, outputs: int = 1, **attrs) -> list[str]:
        self.count += 1
        base = f"{scope}/{op_type}_{self.count}"
        names = [f"{base}_output_{k}" for k in range(outputs)]
        self.nodes.append(self.helper.make_node(op_type, inputs, names, name=base, **attrs))
        return names

    def one(self, op_type: str, inputs: list[str], scope: str, **attrs) -> str:
        return self.op(op_type, inputs, scope, **attrs)[0]


def shared_constants(shape: Shape, tokens: int) -> dict[str, np.ndarray]:
    c, hd = shape.n_embd, shape.head_dim

    def f32(v: float) -> np.ndarray:
        return np.array(v, dtype=np.float32)

    return {
        "half": f32(0.5),
        "one": f32(1.0),
        "sqrt2": f32(math.sqrt(2.0)),
        "three": f32(3.0),
        "gelu_c": f32(0.044715),
        "sqrt_2_over_pi": f32(math.sqrt(2.0 / math.pi)),
        "sqrt_head_dim": f32(math.sqrt(hd)),
        "mask_fill": f32(MASK_FILL),
        "qkv_split": np.array([c, c, c], dtype=np.int64),
        "heads_shape": np.array([1, tokens, shape.n_head, hd], dtype=np.int64),
        "embd_shape": np.array([1, tokens, c], dtype=np.int64),
        "causal_mask": np.tril(np.ones((tokens, tokens), dtype=bool)),
        "positions": np.arange(tokens, dtype=np.int64)[None, :],
        "last_position": np.array(tokens - 1, dtype=np.int64),
    }


def gelu(b: GraphBuilder, x: str, scope: str, form: str, as_op: bool) -> str:
    """GELU as torch exports it: nn.GELU() (erf) or GPT-2's gelu_new (tanh)."""
    if as_op:  # opset 20's single node
        return b.one("Gelu", [x], scope, approximate="none" if form == "erf" else "tanh")
    half, one = b.shared("half"), b.shared("one")
    if form == "erf":
        # x * 0.5 * (1 + erf(x / sqrt(2)))
        t = b.one("Div", [x, b.shared("sqrt2")], scope)
        t = b.one("Erf", [t], scope)
        t = b.one("Add", [t, one], scope)
        t = b.one("Mul", [x, t], scope)
        return b.one("Mul", [t, half], scope)
    # 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
    t = b.one("Pow", [x, b.shared("three")], scope)
    t = b.one("Mul", [t, b.shared("gelu_c")], scope)
    t = b.one("Add", [x, t], scope)
    t = b.one("Mul", [t, b.shared("sqrt_2_over_pi")], scope)
    t = b.one("Tanh", [t], scope)
    t = b.one("Add", [t, one], scope)
    hx = b.one("Mul", [half, x], scope)
    return b.one("Mul", [hx, t], scope)


def linear(b: GraphBuilder, x: str, prefix: str, scope: str) -> str:
    """nn.Linear / Conv1D on a [1, T, in] tensor: MatMul with the [in, out] weight, then Add."""
    y = b.one("MatMul", [x, prefix + ".weight"], scope)
    return b.one("Add", [y, prefix + ".bias"], scope)


def layer_norm(b: GraphBuilder, x: str, prefix: str, scope: str) -> str:
    return b.one(
        "LayerNormalization",
        [x, prefix + ".weight", prefix + ".bias"],
        scope,
        axis=-1,
        epsilon=LAYER_NORM_EPS,
    )


def attention(b: GraphBuilder, x: str, i: int, shape: Shape, tokens: int) -> str:
    scope = f"/transformer/h.{i}/attn"
    p = f"transformer.h.{i}.attn"
    qkv = linear(b, x, p + ".c_attn", scope + "/c_attn")
    q, k, v = b.op("Split", [qkv, b.shared("qkv_split")], scope, outputs=3, axis=2)
    heads = b.shared("heads_shape")
    # [1, T, C] -> [1, T, H, hd] -> [1, H, T, hd]; k goes straight to [1, H, hd, T]
    # (the exporter's transpose(1, 2) then transpose(-2, -1), fused).
    q = b.one("Transpose", [b.one("Reshape", [q, heads], scope)], scope, perm=[0, 2, 1, 3])
    k = b.one("Transpose", [b.one("Reshape", [k, heads], scope)], scope, perm=[0, 2, 3, 1])
    v = b.one("Transpose", [b.one("Reshape", [v, heads], scope)], scope, perm=[0, 2, 1, 3])
    att = b.one("MatMul", [q, k], scope)
    att = b.one("Div", [att, b.shared("sqrt_head_dim")], scope)
    # Causal mask: Where(mask, scores, finfo.min) with a constant [T, T] boolean lower
    # triangle, as HF's GPT-2 (torch.where with its `bias` buffer) and nanoGPT's
    # masked_fill(-inf) export once the buffer slice is constant-folded. Other exporters give
    # Trilu over a ones tensor feeding the same Where, or an additive float mask (0 / -inf,
    # torch's scaled_dot_product_attention decomposition): Add(scores, mask) before Softmax.
    att = b.one("Where", [b.shared("causal_mask"), att, b.shared("mask_fill")], scope)
    att = b.one("Softmax", [att], scope, axis=-1)
    y = b.one("MatMul", [att, v], scope)
    y = b.one("Transpose", [y], scope, perm=[0, 2, 1, 3])
    y = b.one("Reshape", [y, b.shared("embd_shape")], scope)
    return linear(b, y, p + ".c_proj", scope + "/c_proj")


def build_model(
    shape: Shape,
    weights: dict[str, np.ndarray],
    tokens: int,
    opset: int,
    gelu_form: str,
    gelu_op: bool,
    logits: str,
    name: str,
    seed: int,
):
    import onnx
    from onnx import TensorProto, helper

    b = GraphBuilder(shared_constants(shape, tokens))
    for wname, arr in weights.items():
        b.const(wname, arr)

    tok = b.one("Gather", ["transformer.wte.weight", "input_ids"], "/transformer/wte", axis=0)
    pos = b.one(
        "Gather", ["transformer.wpe.weight", b.shared("positions")], "/transformer/wpe", axis=0
    )
    x = b.one("Add", [tok, pos], "/transformer")
    for i in range(shape.n_layer):
        scope = f"/transformer/h.{i}"
        p = f"transformer.h.{i}"
        h = layer_norm(b, x, p + ".ln_1", scope + "/ln_1")
        x = b.one("Add", [x, attention(b, h, i, shape, tokens)], scope)
        h = layer_norm(b, x, p + ".ln_2", scope + "/ln_2")
        h = linear(b, h, p + ".mlp.c_fc", scope + "/mlp/c_fc")
        h = gelu(b, h, scope + "/mlp/act", gelu_form, gelu_op)
        h = linear(b, h, p + ".mlp.c_proj", scope + "/mlp/c_proj")
        x = b.one("Add", [x, h], scope)
    x = layer_norm(b, x, "transformer.ln_f", "/transformer/ln_f")
    if logits == "last":
        x = b.one("Gather", [x, b.shared("last_position")], "/lm_head", axis=1)
        out_dims = [1, shape.vocab]
    else:
        out_dims = [1, tokens, shape.vocab]
    head = b.one("Transpose", ["transformer.wte.weight"], "/lm_head", perm=[1, 0])
    y = b.one("MatMul", [x, head], "/lm_head")
    b.nodes.append(helper.make_node("Identity", [y], ["logits"], name="/lm_head/Identity"))

    graph = helper.make_graph(
        b.nodes,
        f"{name}-{shape.n_layer}L-{shape.n_head}H-{shape.n_embd}",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, tokens])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, out_dims)],
        initializer=b.initializers,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset)],
        producer_name="omron-rs bench/make_transformers.py",
    )
    # Everything the independent reference needs besides the initialisers.
    helper.set_model_props(
        model,
        {
            "model": name,
            "n_head": str(shape.n_head),
            "gelu": gelu_form,
            "layer_norm_epsilon": repr(LAYER_NORM_EPS),
            "seed": str(seed),
        },
    )
    onnx.checker.check_model(model, full_check=True)
    return model


# ---------------------------------------------------------------------------------------------
# Prompts


def random_prompts(n: int, tokens: int, vocab: int, seed: int) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, vocab, size=(n, tokens), dtype=np.int64).tolist()


def write_prompts(path: Path, prompts: list[list[int]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(prompts) + "\n")


# ---------------------------------------------------------------------------------------------
# Reference (float64 numpy, independent of the graph builder: reads the file back)


def erf(x: np.ndarray) -> np.ndarray:
    """erf in float64 to ~1e-16: erf(x) = 2/sqrt(pi) e^(-x^2) sum_n (2x^2)^n x / (2n+1)!!.

    Every term is positive, so there is no cancellation (unlike the plain Taylor series);
    beyond |x| = 6 erf is +-1 in float64. Vectorised, unlike math.erf."""
    a = np.minimum(np.abs(x), 6.0).ravel()
    total = a.copy()
    # Only the elements whose series has not converged yet are carried on (small |x| stop
    # after a few dozen terms, |x| = 6 needs about 150).
    active = np.arange(a.size)
    term, two_a2 = a.copy(), 2.0 * a * a
    n = 0
    while active.size:
        n += 1
        term *= two_a2 / (2 * n + 1)
        total[active] += term
        going = term > 1e-17 * total[active]
        active, term, two_a2 = active[going], term[going], two_a2[going]
    value = np.minimum(2.0 / math.sqrt(math.pi) * np.exp(-a * a) * total, 1.0)
    return np.sign(x) * value.reshape(x.shape)


def reference_logits(
    w: dict[str, np.ndarray], n_head: int, gelu_form: str, eps: float, ids: np.ndarray
) -> np.ndarray:
    """Logits [N, T, vocab] of GPT-2 on a batch of prompts ids [N, T], in float64."""
    n, t = ids.shape
    wte = w["transformer.wte.weight"]
    x = wte[ids] + w["transformer.wpe.weight"][:t][None]
    c = x.shape[-1]
    hd = c // n_head
    future = np.triu(np.ones((t, t), dtype=bool), k=1)

    def ln(a: np.ndarray, prefix: str) -> np.ndarray:
        mu = a.mean(-1, keepdims=True)
        var = ((a - mu) ** 2).mean(-1, keepdims=True)
        return (a - mu) / np.sqrt(var + eps) * w[prefix + ".weight"] + w[prefix + ".bias"]

    def act(a: np.ndarray) -> np.ndarray:
        if gelu_form == "erf":
            return 0.5 * a * (1.0 + erf(a / math.sqrt(2.0)))
        return 0.5 * a * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (a + 0.044715 * a * a * a)))

    layers = 0
    while f"transformer.h.{layers}.ln_1.weight" in w:
        layers += 1
    for i in range(layers):
        p = f"transformer.h.{i}."
        h = ln(x, p + "ln_1")
        qkv = h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
        q, k, v = (qkv[..., j * c : (j + 1) * c].reshape(n, t, n_head, hd).transpose(0, 2, 1, 3) for j in range(3))
        s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(hd)
        s = np.where(future, -np.inf, s)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        y = (s @ v).transpose(0, 2, 1, 3).reshape(n, t, c)
        x = x + y @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        h = ln(x, p + "ln_2")
        h = act(h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
        x = x + h @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    return ln(x, "transformer.ln_f") @ wte.T


def check(directory: Path, n_prompts: int, prompt_seed: int, reference_out: str | None) -> int:
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    path = directory / MODEL_FILE
    start = time.perf_counter()
    model = onnx.load(str(path))
    props = {p.key: p.value for p in model.metadata_props}
    weights = {
        t.name: numpy_helper.to_array(t).astype(np.float64)
        for t in model.graph.initializer
        if t.name.startswith("transformer.")
    }
    (inp,) = model.graph.input
    tokens = inp.type.tensor_type.shape.dim[1].dim_value
    vocab = weights["transformer.wte.weight"].shape[0]
    last_only = len(model.graph.output[0].type.tensor_type.shape.dim) == 2
    del model
    print(
        f"{path}: {props.get('model')}, {tokens} tokens, vocab {vocab}, gelu {props['gelu']}, "
        f"logits {'last' if last_only else 'all'}; loaded in {time.perf_counter() - start:.1f} s"
    )

    prompts = np.array(random_prompts(n_prompts, tokens, vocab, prompt_seed), dtype=np.int64)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    # Spinning worker threads cost more than they save on a loaded 2-core machine.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    start = time.perf_counter()
    ort_out = np.stack([session.run(["logits"], {"input_ids": p[None, :]})[0][0] for p in prompts])
    ort_s = time.perf_counter() - start

    start = time.perf_counter()
    ref = np.concatenate(
        [
            reference_logits(
                weights, int(props["n_head"]), props["gelu"], float(props["layer_norm_epsilon"]), chunk
            )
            for chunk in np.array_split(prompts, max(1, n_prompts // 10))
        ]
    )
    ref_s = time.perf_counter() - start
    if last_only:
        ref = ref[:, -1, :]
    ort_last = ort_out if last_only else ort_out[:, -1, :]
    ref_last = ref if last_only else ref[:, -1, :]
    agree = int((ort_last.argmax(-1) == ref_last.argmax(-1)).sum())
    max_diff = float(np.abs(ort_out.astype(np.float64) - ref).max())
    top2 = np.sort(ref_last, axis=-1)[:, -2:]
    print(f"onnxruntime: {n_prompts} prompts in {ort_s:.2f} s; numpy float64 reference: {ref_s:.2f} s")
    print(f"next-token argmax agreement (numpy vs onnxruntime): {agree}/{n_prompts}")
    print(
        f"max |logit difference|: {max_diff:.3e} (logits max |value| {np.abs(ref).max():.3f}, "
        f"smallest top-2 gap {float((top2[:, 1] - top2[:, 0]).min()):.3e})"
    )
    if reference_out:
        # What the Rust tests compare with: the prompts and onnxruntime's last-position logits.
        Path(reference_out).write_text(
            json.dumps(
                {
                    "prompt_seed": prompt_seed,
                    "prompts": prompts.tolist(),
                    "ort_last_logits": [[round(float(v), 6) for v in row] for row in ort_last],
                }
            )
            + "\n"
        )
        print(f"{reference_out}: prompts and onnxruntime last-position logits")
    return 0 if agree == n_prompts else 1


# ---------------------------------------------------------------------------------------------
# CLI


def generate(args: argparse.Namespace, shape: Shape, tokens: int) -> None:
    gelu_form = args.gelu or shape.gelu
    start = time.perf_counter()
    weights = init_weights(shape, args.seed)
    model = build_model(
        shape, weights, tokens, args.opset, gelu_form, args.gelu_op, args.logits, args.model, args.seed
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = model.SerializeToString()
    (out / MODEL_FILE).write_bytes(data)
    prompt = random_prompts(1, tokens, shape.vocab, args.seed + 1)
    (out / INPUT_FILE).write_text(json.dumps({"input_data": prompt}) + "\n")
    print(
        f"{out / MODEL_FILE}: {args.model}, {parameter_count(weights):,} parameters, "
        f"{len(model.graph.node)} nodes, {len(data):,} bytes, opset {args.opset}, gelu "
        f"{gelu_form}{' (Gelu op)' if args.gelu_op else ''}, logits {args.logits}, "
        f"{time.perf_counter() - start:.1f} s"
    )


def ort_time(directory: Path, runs: int) -> int:
    """Median single-thread onnxruntime inference time on DIR/input.json (the plain-inference
    column of docs/benchmarks.md)."""
    import onnxruntime as ort

    ids = np.array(json.loads((directory / "input.json").read_text())["input_data"][0], dtype=np.int64)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(directory / MODEL_FILE), options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: ids[None, :]}
    session.run(None, feed)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, feed)
        times.append(time.perf_counter() - start)
    print(
        f"{directory}: onnxruntime, 1 thread: median {np.median(times) * 1e3:.2f} ms, "
        f"min {min(times) * 1e3:.2f} ms over {runs} runs"
    )
    return 0


def compare_output(directory: Path, proven: Path) -> int:
    """Compare a proven output (`omron prove --output-json`) with onnxruntime on DIR/input.json:
    the last position's argmax must agree (exit 1 otherwise); max |logit error| reported."""
    import onnxruntime as ort

    ids = np.array(json.loads((directory / "input.json").read_text())["input_data"][0], dtype=np.int64)
    session = ort.InferenceSession(str(directory / MODEL_FILE), providers=["CPUExecutionProvider"])
    want = session.run(None, {session.get_inputs()[0].name: ids[None, :]})[0].astype(np.float64)
    got = np.array(json.loads(proven.read_text())["output"], dtype=np.float64)
    if got.size != want.size:
        print(f"{proven}: {got.size} values, onnxruntime gives {want.size}")
        return 1
    got = got.reshape(want.shape)
    vocab = want.shape[-1]
    want_next = int(want.reshape(-1, vocab)[-1].argmax())
    got_next = int(got.reshape(-1, vocab)[-1].argmax())
    print(
        f"{directory}: next token {got_next} proven, {want_next} by onnxruntime "
        f"({'agree' if got_next == want_next else 'DISAGREE'}); "
        f"max |logit error| {float(np.abs(got - want).max()):.3e} over {got.size} logits"
    )
    return 0 if got_next == want_next else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=sorted(MODELS))
    parser.add_argument("--out", help="folder for network.onnx and input.json")
    parser.add_argument("--seed", type=int, default=0, help="weights seed (input.json: seed + 1)")
    parser.add_argument("--tokens", type=int, help="prompt length (default: the model's)")
    parser.add_argument("--gelu", choices=["erf", "tanh"], help="GELU form (default: the model's)")
    parser.add_argument("--gelu-op", action="store_true", help="one Gelu node (opset >= 20)")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (>= 17, default 17)")
    parser.add_argument("--logits", choices=["all", "last"], default="all")
    parser.add_argument("--prompts", type=int, help="number of random prompts (check: default 100)")
    parser.add_argument("--prompts-out", help="write --prompts prompts here (JSON list of lists)")
    parser.add_argument("--prompt-seed", type=int, default=DEFAULT_PROMPT_SEED)
    parser.add_argument("--check", metavar="DIR", help="compare DIR/network.onnx: onnxruntime vs numpy")
    parser.add_argument(
        "--reference-out",
        metavar="FILE",
        help="with --check: write the prompts and onnxruntime's last-position logits (JSON)",
    )
    parser.add_argument("--ort-time", metavar="DIR", help="time onnxruntime (1 thread) on DIR/input.json")
    parser.add_argument("--runs", type=int, default=20, help="with --ort-time: timed runs")
    parser.add_argument(
        "--compare-output",
        nargs=2,
        metavar=("DIR", "OUTPUT_JSON"),
        help="compare a proven output (omron prove --output-json) with onnxruntime on DIR/input.json",
    )
    args = parser.parse_args()

    if args.compare_output:
        return compare_output(Path(args.compare_output[0]), Path(args.compare_output[1]))

    if args.ort_time:
        return ort_time(Path(args.ort_time), args.runs)
    if args.check:
        return check(Path(args.check), args.prompts or 100, args.prompt_seed, args.reference_out)
    if not args.model:
        parser.error("--model is required (or --check DIR)")
    if args.opset < 17:
        parser.error("--opset must be 17 or later (LayerNormalization)")
    if args.gelu_op and args.opset < 20:
        parser.error("--gelu-op needs --opset 20 or later (the Gelu op is new in opset 20)")
    shape = MODELS[args.model]
    tokens = args.tokens or shape.tokens
    if not 1 <= tokens <= shape.n_positions:
        parser.error(f"--tokens must be in 1..{shape.n_positions} for {args.model}")
    if (args.prompts is None) != (args.prompts_out is None):
        parser.error("--prompts and --prompts-out go together")
    if not args.out and not args.prompts_out:
        parser.error("nothing to do: give --out DIR and/or --prompts N --prompts-out FILE")
    if args.out:
        generate(args, shape, tokens)
    if args.prompts_out:
        prompts = random_prompts(args.prompts, tokens, shape.vocab, args.prompt_seed)
        write_prompts(Path(args.prompts_out), prompts)
        print(f"{args.prompts_out}: {args.prompts} prompts of {tokens} tokens (seed {args.prompt_seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
