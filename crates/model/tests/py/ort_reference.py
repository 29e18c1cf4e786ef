"""onnxruntime reference outputs for the omron-model integration tests.

Reads one JSON object on stdin:

    {"model": "/path/to/model.onnx", "samples": [[[x, ...], ...], ...]}

where each sample holds one flat (row-major) list of floats per model input, and writes

    {"onnxruntime": "<version>", "outputs": [[[y, ...], ...], ...]}

with, for each sample, every model output flattened row-major. Symbolic input dimensions are
taken as 1 (one sample per run), like the Rust front end. Runs on the CPU provider with graph
optimisations off, so the reference is the plain operator semantics.
"""

import json
import sys

import numpy as np
import onnxruntime as ort


def main() -> int:
    request = json.load(sys.stdin)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    session = ort.InferenceSession(
        request["model"], sess_options=options, providers=["CPUExecutionProvider"]
    )
    inputs = session.get_inputs()
    shapes = [[d if isinstance(d, int) and d > 0 else 1 for d in i.shape] for i in inputs]
    outputs = []
    for sample in request["samples"]:
        if len(sample) != len(inputs):
            print(f"sample has {len(sample)} inputs, the model takes {len(inputs)}", file=sys.stderr)
            return 2
        feed = {
            i.name: np.asarray(values, dtype=np.float32).reshape(shape)
            for i, shape, values in zip(inputs, shapes, sample)
        }
        result = session.run(None, feed)
        outputs.append([np.asarray(r, dtype=np.float64).reshape(-1).tolist() for r in result])
    json.dump({"onnxruntime": ort.__version__, "outputs": outputs}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
