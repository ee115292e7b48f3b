"""Adds the checksum of its own content to each shipped model's config.json.

    python tools/seal_model_configs.py            # checkpoints/*/config.json
    python tools/seal_model_configs.py DIR ...    # other model folders

Models saved since config checksums existed record one (`config_sha256`,
`storage.weights_file.config_checksum`); this gives the shipped models,
saved before, the same protection without re-saving their weights (the
bytes of the weights files stay as they are). Running it again changes
nothing.
"""

import glob
import json
import os
import sys

from magenta_style.storage import weights_file

HERE = os.path.dirname(os.path.abspath(__file__))


def seal(directory):
    path = os.path.join(directory, "config.json")
    with open(path) as f:
        meta = json.load(f)
    meta.update(weights_file.config_checksum(meta))
    with open(path, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    return path


def main(argv):
    folders = argv or sorted(os.path.dirname(p) for p in glob.glob(
        os.path.join(HERE, "..", "checkpoints", "*", "config.json")))
    for folder in folders:
        print(f"sealed {seal(folder)}")


if __name__ == "__main__":
    main(sys.argv[1:])
