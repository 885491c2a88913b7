"""Random affine distortions of the training digits, the paper's second MNIST result.

Sec. III.B and Fig. 7 of the paper: the training set was enlarged with distorted copies
of the training images, "combinations of the following planar affine transformations:
horizontal and vertical translations, scaling, squeezing (simultaneous horizontal
compression and vertical elongation, or the reverse), and horizontal shearing". With
60,000 originals plus 540,000 distorted patterns the test error fell to 0.8 %, from
0.95 % without. The paper gives no ranges for the parameters: those of ``Distortion``
are ours, chosen so that the digits stay plainly readable to the eye (``tests/test_distort.py``
measures how much a nearest-centroid classifier suffers).

Two building blocks, each testable alone: ``affine_matrices`` draws one 2x3 map per
image, ``warp_affine`` applies them (bilinear resampling by inverse mapping, background
0 outside the image). ``random_affine`` is the two in one call, the one a training loop
or a notebook uses::

    rng = np.random.default_rng(0)
    x_distorted = random_affine(x_train[:32], rng)  # (32, 28, 28) uint8

Coordinates: a point is ``(u, v)`` = (column, row) in pixels, pixel centres at integers,
``v`` pointing down. A matrix ``M`` (2, 3) sends the point ``(u, v)`` of the input to
``M @ (u, v, 1)`` in the output: ``[[1, 0, 1], [0, 1, 0]]`` moves the digit one pixel to
the right.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from lenet_ref.spec import MNIST_SIZE

# Images per block in warp_affine. A block's arrays (0.2 to 0.4 MB each at 64 images)
# stay in the CPU cache: on a 2-core AMD EPYC with 1 MB of L2 per core, blocks of 64 warp
# the 60,000 training digits in about 0.9 s, blocks of 512 in about 2.6 s.
_BLOCK = 64


@dataclass(frozen=True)
class Distortion:
    """The ranges of the random affine distortion; each parameter is drawn uniformly
    from ``[-range, +range]``, independently for every image.

    translate: horizontal and vertical shift, in pixels (each drawn separately).
    scale:     relative change of size, the same in both directions: the digit is
               magnified by a factor in ``[1 - scale, 1 + scale]``.
    squeeze:   relative squeezing at constant area: width divided and height multiplied
               by a factor in ``[1 - squeeze, 1 + squeeze]`` ("simultaneous horizontal
               compression and vertical elongation, or the reverse", Sec. III.B).
    shear:     horizontal shear factor: a row ``d`` pixels below the centre moves
               ``shear * d`` pixels to the right (negative: to the left). 0.3 slants a
               vertical stroke by up to 17 degrees.

    The paper names these transformations but not their ranges (Sec. III.B, Fig. 7); the
    defaults are ours. ``Distortion(0, 0, 0, 0)`` is the identity.
    """

    translate: float = 2.0
    scale: float = 0.15
    squeeze: float = 0.15
    shear: float = 0.3

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"Distortion.{f.name} must be finite and >= 0, got {value}")
        for name in ("scale", "squeeze"):  # a factor 1 - range <= 0 would flip or flatten
            if getattr(self, name) >= 1:
                raise ValueError(f"Distortion.{name} must be < 1, got {getattr(self, name)}")

    def is_identity(self) -> bool:
        """True if every range is 0: every image comes back unchanged."""
        return all(getattr(self, f.name) == 0 for f in fields(self))


def affine_matrices(
    n: int, rng: np.random.Generator, distortion: Distortion = Distortion(), size: int = MNIST_SIZE
) -> np.ndarray:
    """n random distortions of a size x size image, as (n, 2, 3) float64 matrices.

    For each image, five numbers are drawn uniformly from [-1, 1) with ``rng`` (always
    five, whatever the ranges, so that the same seed gives the same draws) and scaled by
    the ranges of ``distortion``. The linear part is shear @ diag(sx, sy), with
    sx = s / q and sy = s * q (s: scale factor, q: squeeze factor); it acts about the
    image centre ((size - 1) / 2 in both coordinates), then the translation is added.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"affine_matrices: rng must be a numpy Generator (np.random.default_rng(seed)), "
            f"got {type(rng).__name__}"
        )
    d = distortion
    r = rng.uniform(-1.0, 1.0, size=(n, 5))  # (n, 5): tu, tv, scale, squeeze, shear
    tu, tv = d.translate * r[:, 0], d.translate * r[:, 1]
    s = 1.0 + d.scale * r[:, 2]
    q = 1.0 + d.squeeze * r[:, 3]
    h = d.shear * r[:, 4]
    sx, sy = s / q, s * q  # sx * sy = s**2: squeezing alone keeps the area
    linear = np.zeros((n, 2, 2))
    linear[:, 0, 0] = sx
    linear[:, 0, 1] = h * sy  # [[1, h], [0, 1]] @ [[sx, 0], [0, sy]]
    linear[:, 1, 1] = sy
    # About the centre c: p -> L (p - c) + c + t, so the offset is c - L c + t.
    c = np.full(2, (size - 1) / 2)
    offset = c - linear @ c + np.stack([tu, tv], axis=1)  # (n, 2)
    return np.concatenate([linear, offset[:, :, None]], axis=2)  # (n, 2, 3)


def invert_affine(matrices: np.ndarray) -> np.ndarray:
    """The inverse maps, (N, 2, 3) -> (N, 2, 3): [L | t] -> [L^-1 | -L^-1 t]."""
    linear, offset = matrices[:, :, :2], matrices[:, :, 2]
    inverse = np.linalg.inv(linear)  # (N, 2, 2); raises LinAlgError if one is singular
    return np.concatenate([inverse, -(inverse @ offset[:, :, None])], axis=2)


def warp_affine(x: np.ndarray, matrices: np.ndarray) -> np.ndarray:
    """Apply one affine map per image: x (N, H, W) uint8, matrices (N, 2, 3) -> (N, H, W) uint8.

    Inverse mapping: each output pixel (u, v) takes the value of the input at
    M^-1 (u, v), interpolated bilinearly from its four neighbours, a neighbour outside
    the image counting as background 0; the result is rounded to the nearest grey level.
    An integer translation (the identity included) moves pixels exactly.
    """
    x, matrices = _check_warp_args("warp_affine", x, matrices)
    N, H, W = x.shape
    out = np.empty_like(x)
    inverse = invert_affine(matrices).astype(np.float32)
    for start in range(0, N, _BLOCK):
        block = slice(start, start + _BLOCK)
        out[block] = _warp_block(x[block], inverse[block])
    return out


def _warp_block(x: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """warp_affine on one block, given the inverse maps as float32 (n, 2, 3)."""
    n, H, W = x.shape
    # One zero row and column before the image and two after, so that every neighbour of
    # a source point clipped to [-1, W] x [-1, H] is a valid index, and those outside are 0.
    padded = np.zeros((n, H + 3, W + 3), dtype=np.float32)
    padded[:, 1 : H + 1, 1 : W + 1] = x
    u = np.arange(W, dtype=np.float32)  # output columns
    v = np.arange(H, dtype=np.float32)[:, None]  # output rows
    a = inverse[:, :, :, None, None]  # (n, 2, 3, 1, 1)
    # Source coordinates of every output pixel, (n, H, W) each. Clipping changes nothing
    # inside [-1, W]; beyond it, the point and its neighbours are all background.
    # (In-place arithmetic from here on: fewer fresh arrays, which costs less time than
    # the arithmetic itself for a batch of 32.)
    su = np.clip(a[:, 0, 0] * u + (a[:, 0, 1] * v + a[:, 0, 2]), -1, W)
    sv = np.clip(a[:, 1, 0] * u + (a[:, 1, 1] * v + a[:, 1, 2]), -1, H)
    u0, v0 = np.floor(su), np.floor(sv)
    fu, fv = np.subtract(su, u0, out=su), np.subtract(sv, v0, out=sv)  # (n, H, W)
    # fu, fv: the weights of the right and the lower neighbours.
    # Flat index of the top-left neighbour in `padded`, computed in float32 and cast once:
    # cheaper than integer arithmetic, and exact while the index stays below 2**24 (blocks
    # of up to 17,000 images).
    Wp = W + 3
    first = (np.arange(n, dtype=np.float32) * ((H + 3) * Wp) + (Wp + 1))[:, None, None]
    v0 *= Wp
    v0 += u0
    v0 += first
    idx = v0.astype(np.intp)  # (n, H, W)
    # The other three neighbours: the same index into the flat image shifted by one
    # pixel, one row, one row and one pixel (flat[1:][idx] is flat[idx + 1]).
    flat = padded.ravel()
    top, top_right = flat[idx], flat[1:][idx]
    bottom, bottom_right = flat[Wp:][idx], flat[Wp + 1 :][idx]
    top += fu * (top_right - top)  # left + fu (right - left), on the top row
    bottom += fu * (bottom_right - bottom)
    bottom -= top
    bottom *= fv
    out = np.rint(top + bottom, out=top)  # top + fv (bottom - top)
    return np.clip(out, 0, 255, out=out).astype(np.uint8)


def warp_affine_naive(x: np.ndarray, matrices: np.ndarray) -> np.ndarray:
    """warp_affine with loops, in float64: the specification that warp_affine is tested
    against. Same arguments, same result (up to a grey level where float32 rounding in
    warp_affine tips a value across a half)."""
    x, matrices = _check_warp_args("warp_affine_naive", x, matrices)
    N, H, W = x.shape
    out = np.zeros((N, H, W), dtype=np.uint8)
    for n in range(N):
        inverse = np.linalg.inv(matrices[n, :, :2])
        for v in range(H):
            for u in range(W):
                su, sv = inverse @ (np.array([u, v], dtype=np.float64) - matrices[n, :, 2])
                u0, v0 = int(np.floor(su)), int(np.floor(sv))
                fu, fv = su - u0, sv - v0
                value = 0.0
                for dv, dv_weight in ((0, 1 - fv), (1, fv)):
                    for du, du_weight in ((0, 1 - fu), (1, fu)):
                        if 0 <= v0 + dv < H and 0 <= u0 + du < W:
                            value += dv_weight * du_weight * x[n, v0 + dv, u0 + du]
                out[n, v, u] = min(max(round(value), 0), 255)
    return out


def random_affine(
    x: np.ndarray, rng: np.random.Generator, distortion: Distortion = Distortion()
) -> np.ndarray:
    """A randomly distorted copy of each digit: x (N, 28, 28) uint8 -> (N, 28, 28) uint8.

    ``affine_matrices`` then ``warp_affine``. ``rng`` is a numpy Generator, not a seed:
    a training loop passes the same Generator every step, so that each batch gets fresh
    distortions, and the run is reproducible from the seed that made it.
    """
    x = np.asarray(x)
    if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (MNIST_SIZE, MNIST_SIZE):
        raise ValueError(
            f"random_affine: x must be uint8 of shape (N, {MNIST_SIZE}, {MNIST_SIZE}), "
            f"got {x.dtype} {x.shape}"
        )
    return warp_affine(x, affine_matrices(x.shape[0], rng, distortion, size=MNIST_SIZE))


def _check_warp_args(fname: str, x, matrices) -> tuple[np.ndarray, np.ndarray]:
    x, matrices = np.asarray(x), np.asarray(matrices)
    if x.dtype != np.uint8 or x.ndim != 3:
        raise ValueError(f"{fname}: x must be uint8 of shape (N, H, W), got {x.dtype} {x.shape}")
    if matrices.shape != (x.shape[0], 2, 3) or not np.issubdtype(matrices.dtype, np.number):
        raise ValueError(
            f"{fname}: matrices must be numbers of shape (N, 2, 3) = ({x.shape[0]}, 2, 3) "
            f"for x of shape {x.shape}, got {matrices.dtype} {matrices.shape}"
        )
    if not np.isfinite(matrices).all():
        raise ValueError(f"{fname}: matrices must be finite, got a NaN or an infinity")
    return x, matrices.astype(np.float64)
