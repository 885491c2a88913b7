"""Checkpoints that either network loads: the state dict as NumPy arrays plus the options.

A checkpoint is an ``.npz`` file: one array per parameter, named as in ``params`` and
``state_dict()``, and a ``__meta__`` entry with the network's options as JSON. It is
written atomically, so an interrupted run never leaves a half checkpoint behind.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .params import to_numpy

META = "__meta__"


def save_checkpoint(path, state_dict, options: dict, **extra) -> Path:
    """Write ``state_dict`` (arrays or tensors) and ``options`` (the LeNet5 keyword
    arguments) to ``path``; ``extra`` (epoch, test error...) is kept in the metadata."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {k: to_numpy(v) for k, v in state_dict.items()}
    meta = json.dumps({"format": "lenet_ref-checkpoint-1", "options": options, **extra})
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays, **{META: np.array(meta)})
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_checkpoint(path) -> tuple[dict, dict[str, np.ndarray], dict]:
    """Return ``(options, state_dict, meta)``; build the network with ``LeNet5(**options)``
    (NumPy or PyTorch) and call its ``load_state_dict(state_dict)``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no checkpoint at {path}: train one with `python -m lenet_ref train --out DIR`"
        )
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data[META]))
            state = {k: data[k] for k in data.files if k != META}
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as e:
        raise ValueError(
            f"{path} is not a readable lenet_ref checkpoint ({e}); train it again"
        ) from e
    return meta["options"], state, meta
