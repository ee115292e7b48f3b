"""magenta_style: multi-style neural style transfer for TensorFlow 2 / Keras 3."""

import os

from setuptools import setup

HERE = os.path.dirname(os.path.abspath(__file__))

# Every bin/ script is also a console entry point that calls the same
# function, so it works after `pip install` too.
SCRIPTS = [
    "stylize",
    "export",
    "optimize",
    "train_from_scratch",
    "train_arbitrary",
    "distill",
    "finetune",
    "create_style_dataset",
    "evaluate",
    "studio",
    "style_distances",
    "plot_metrics",
    "stylize_video",
]


def _readme():
    with open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
        return f.read()


setup(
    name="magenta_style",
    version="0.1.0",
    description=__doc__,
    long_description=_readme(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    # checkpoints/ at the top of the repository is installed as
    # magenta_style/checkpoints, so shipped models resolve by name.
    packages=[
        "magenta_style",
        "magenta_style.beam",
        "magenta_style.data",
        "magenta_style.losses",
        "magenta_style.model",
        "magenta_style.optimization",
        "magenta_style.scripts",
        "magenta_style.storage",
        "magenta_style.stylization",
        "magenta_style.training",
        "magenta_style.studio",
        "magenta_style.video",
        "magenta_style.checkpoints",
    ],
    package_dir={"magenta_style.checkpoints": "checkpoints"},
    package_data={
        "magenta_style.checkpoints": ["*/*.json", "*/*.h5", "*/NOTICE", "*/*.png"],
        "magenta_style.studio": ["static/*"],
    },
    install_requires=[
        "tensorflow>=2.16",
        "keras>=3.3",
        "tensorflow-datasets",
        "numpy",
        "pillow",
        "absl-py",
        "h5py",
        "tqdm",
    ],
    extras_require={
        # onnx + onnxruntime: the ONNX export is checked in onnxruntime
        # against Keras (tests/test_onnx_export.py skips without them).
        "test": ["pytest", "pytest-xdist", "ruff", "playwright>=1.40", "hypothesis>=6",
                 "onnx>=1.14", "onnxruntime>=1.16"],
        # `bin/export --onnx` serialises the graph with the onnx package.
        "onnx": ["onnx>=1.14"],
        "jax": ["jax[cpu]"],
        # The style studio's web server (see README: why Starlette), and
        # OpenCV for its webcam's smoothing over time (the video's DIS flow).
        "studio": ["starlette>=0.36", "uvicorn>=0.27", "opencv-python-headless>=4.5"],
        # Video files (PyAV: FFmpeg inside its wheels) and optical flow for
        # --temporal=flow (OpenCV's DIS). See README: why PyAV.
        "video": ["av>=14", "opencv-python-headless>=4.5"],
        # Photo collections on Apache Beam (`bin/stylize --beam_pipeline_options`,
        # docs/scale.md); [tfrecord] brings the CRC library TFRecord reading needs.
        "beam": ["apache-beam[tfrecord]>=2.78"],
    },
    entry_points={
        "console_scripts": [
            f"magenta_style_{name}=magenta_style.scripts.{name}:run"
            for name in SCRIPTS
        ]
    },
)
