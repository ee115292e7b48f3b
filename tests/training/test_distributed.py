"""tf.distribute: two workers on localhost take the steps one process takes."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from magenta_style.data import style_grams
from magenta_style.storage import model_format
from magenta_style.training import loop
from tests import train_helpers as th

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytestmark = [pytest.mark.needs_weights, pytest.mark.slow]

WORKER = textwrap.dedent("""
    import sys
    from magenta_style.training import loop
    from tests import train_helpers as th
    train_dir, style_file, vgg = sys.argv[1:4]
    cfg = th.tiny_config(train_dir, None, vgg, style_dataset_file=style_file,
                         strategy="multi_worker", train_steps=3)
    loop.train(cfg, content=th.smooth_images(6, th.SIZE, seed=0))
    print("WORKER DONE")
""")


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))  # Loopback only.
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_workers_match_one_process(tmp_path, vgg16_file):
    style_file = str(tmp_path / "styles.npz")
    style_grams.create_style_set(th.style_files(str(tmp_path / "styles"), n=2), style_file,
                               vgg16_file, 40, layers=("vgg_16/conv1", "vgg_16/conv2"),
                               progress=False)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in _free_ports(2)]}
    dist_dir = str(tmp_path / "dist")
    procs = []
    for index in range(2):
        env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2",
                   KERAS_BACKEND="tensorflow",
                   TF_CONFIG=json.dumps({"cluster": cluster,
                                         "task": {"type": "worker", "index": index}}))
        procs.append(subprocess.Popen(
            [sys.executable, "-c", WORKER, dist_dir, style_file, vgg16_file], cwd=REPO,
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    try:
        outputs = [p.communicate(timeout=420) for p in procs]
    finally:
        for p in procs:  # Never leave a worker waiting for its peer.
            if p.poll() is None:
                p.kill()
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0 and "WORKER DONE" in out, err[-3000:]

    single = th.tiny_config(tmp_path / "single", None, vgg16_file,
                            style_dataset_file=style_file, train_steps=3)
    reference = loop.train(single, content=th.smooth_images(6, th.SIZE, seed=0))
    distributed = model_format.load_model(os.path.join(dist_dir, "model"))
    for a, b in zip(distributed.weights, reference.weights):
        if a.path.endswith("beta"):
            # Most betas feed a convolution whose instance norm removes any
            # per-channel shift: their true gradient is ~0, and Adam turns
            # rounding noise (summation order differs across workers) into
            # steps of +-learning_rate. Only bound them by that.
            np.testing.assert_array_less(np.abs(np.asarray(a) - np.asarray(b)),
                                         2 * single.learning_rate * single.train_steps)
        else:
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5,
                                       err_msg=a.path)
    moved = [np.abs(np.asarray(v) - 1.0).max() for v in distributed.weights
             if v.path.endswith("gamma")]
    assert max(moved) > 0  # The workers did train.
    with open(os.path.join(dist_dir, "metrics.jsonl")) as f:
        dist_losses = [json.loads(line)["losses/total_loss"] for line in f]
    with open(os.path.join(single.train_dir, "metrics.jsonl")) as f:
        ref_losses = [json.loads(line)["losses/total_loss"] for line in f]
    np.testing.assert_allclose(dist_losses, ref_losses, rtol=1e-4)
