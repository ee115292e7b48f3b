"""Per-node time of onnxruntime on the exported network (run by hand; not a test).

    .venv/bin/python bench/profile_onnxruntime.py --model=android-26 --size=512 --runs=7

Exports the model with `onnx_export`, runs it with onnxruntime's profiler
(`SessionOptions.enable_profiling`) and prints each node's median kernel
time over the runs (the first two are warm-up), largest first, with its share
of the total: where onnxruntime spends its time on this network (the peer of
`bench/stylize.py --vs_onnxruntime`; docs/stylize.md, Speed).
"""

import argparse
import collections
import json
import os
import sys
import tempfile

import numpy as np
import onnxruntime

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stylize import _load  # noqa: E402
from stylize import _photo  # noqa: E402

from magenta_style import onnx_export  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="android-26")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    model = _load(args.model)
    feeds = {"image": _photo(args.size, args.size)[None],
             "style_weights": np.eye(model.transformer_config.num_styles, dtype=np.float32)[:1]}
    with tempfile.TemporaryDirectory() as tmp:
        options = onnxruntime.SessionOptions()
        options.enable_profiling = True
        options.profile_file_prefix = os.path.join(tmp, "profile")
        session = onnxruntime.InferenceSession(onnx_export.onnx_model(model).SerializeToString(),
                                               options, providers=["CPUExecutionProvider"])
        for _ in range(args.runs + 2):
            session.run(None, feeds)
        with open(session.end_profiling()) as f:
            events = json.load(f)
    per_node = collections.defaultdict(list)
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            per_node[event["name"][:-len("_kernel_time")]].append(event["dur"] / 1000)
    medians = {name: float(np.median(t[2:] if len(t) > 2 else t))
               for name, t in per_node.items()}
    total = sum(medians.values())
    print(f"{args.model} {args.size}x{args.size}: {total:.1f} ms in nodes (median per node, "
          f"load average {os.getloadavg()[0]:.1f})")
    for name, ms in sorted(medians.items(), key=lambda kv: -kv[1])[:args.top]:
        print(f"{name:40s} {ms:8.2f} ms {100 * ms / total:5.1f}%")


if __name__ == "__main__":
    main()
