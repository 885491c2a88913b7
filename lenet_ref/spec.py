"""The architecture of LeNet-5, as LeCun, Bottou, Bengio and Haffner (1998) describe it.

Everything both networks (NumPy and PyTorch) and the counting module need to know about
the architecture lives here: the C3 connection table, the layer sizes, the squashing
constants, the RBF output codes, and ``lenet5_layers``, which turns the four options
(activation, pooling, C3 connections, output head) into a list of layer descriptions.
The networks build themselves from that list and ``lenet_ref.counting`` counts it, so
the three cannot disagree.

Section and equation numbers refer to the paper: "Gradient-based learning applied to
document recognition", Proc. IEEE 86(11), 1998.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# --- Input -----------------------------------------------------------------------------
# Sec. II.B: the 32x32 input is larger than the largest character (at most 20x20 pixels,
# centred in the 28x28 MNIST field) so that potential distinctive features such as stroke
# end-points or corners can appear in the centre of the receptive fields of the
# highest-level feature detectors: the centres of C3's receptive fields tile a 20x20 area
# in the middle of the 32x32 input (lenet_ref.figures.receptive_fields computes it).
MNIST_SIZE = 28
INPUT_SIZE = 32
# Sec. II.B: "the background level (white) corresponds to a value of -0.1 and the
# foreground (black) corresponds to 1.175. This makes the mean input roughly 0, and the
# variance roughly 1."
BACKGROUND = -0.1
INK = 1.175
NUM_CLASSES = 10

# --- Squashing function, Appendix A: f(a) = A tanh(S a) ----------------------------------
A = 1.7159
S = 2.0 / 3.0

# --- Layer sizes, Sec. II.B --------------------------------------------------------------
KERNEL = 5  # every convolution in LeNet-5 is 5x5
POOL = 2  # every subsampling window is 2x2, non-overlapping
C1_MAPS = 6
C3_MAPS = 16
C5_UNITS = 120
F6_UNITS = 84  # = 7 x 12, the size of the RBF code bitmaps below

# --- Table I: which S2 feature maps each C3 feature map is connected to ------------------
# Maps 0-5 read 3 contiguous S2 maps, 6-11 read 4 contiguous ones, 12-14 read 4
# non-contiguous ones and map 15 reads all six (the table wraps around from 5 to 0).
C3_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)  # fmt: skip

# --- Appendix A: weights are drawn uniformly in [-2.4 / F_i, 2.4 / F_i], F_i the fan-in --
INIT_SCALE = 2.4

# --- Eq. (9): the constant j of the "rubbish class" term in the RBF loss ------------------
# The paper calls j "a positive constant" and does not give its value; 0.1 keeps the
# term small next to the penalties of a trained network (a few units).
RBF_LOSS_J = 0.1

# --- Sec. II.B and Fig. 3: the RBF parameter vectors are stylised 7x12 images of the
# digits, with components -1 (white) and +1 (black). The paper prints the full ASCII set;
# these are the course's own drawings of the ten digits in that style.
DIGIT_BITMAPS: tuple[str, ...] = (
    """
    .......
    ..###..
    .#...#.
    #.....#
    #.....#
    #.....#
    #.....#
    #.....#
    #.....#
    .#...#.
    ..###..
    .......""",
    """
    .......
    ...#...
    ..##...
    .#.#...
    ...#...
    ...#...
    ...#...
    ...#...
    ...#...
    ...#...
    .#####.
    .......""",
    """
    .......
    .#####.
    #.....#
    ......#
    .....#.
    ....#..
    ...#...
    ..#....
    .#.....
    #......
    #######
    .......""",
    """
    .......
    .#####.
    #.....#
    ......#
    ......#
    ..####.
    ......#
    ......#
    ......#
    #.....#
    .#####.
    .......""",
    """
    .......
    .....#.
    ....##.
    ...#.#.
    ..#..#.
    .#...#.
    #....#.
    #######
    .....#.
    .....#.
    .....#.
    .......""",
    """
    .......
    #######
    #......
    #......
    ######.
    ......#
    ......#
    ......#
    ......#
    #.....#
    .#####.
    .......""",
    """
    .......
    ..####.
    .#.....
    #......
    #......
    ######.
    #.....#
    #.....#
    #.....#
    #.....#
    .#####.
    .......""",
    """
    .......
    #######
    ......#
    .....#.
    ....#..
    ...#...
    ...#...
    ..#....
    ..#....
    ..#....
    ..#....
    .......""",
    """
    .......
    .#####.
    #.....#
    #.....#
    #.....#
    .#####.
    #.....#
    #.....#
    #.....#
    #.....#
    .#####.
    .......""",
    """
    .......
    .#####.
    #.....#
    #.....#
    #.....#
    #.....#
    .######
    ......#
    ......#
    .....#.
    .####..
    .......""",
)


def rbf_prototypes() -> np.ndarray:
    """The fixed RBF centres: (10, 84) float64, row k the code of digit k, entries +-1."""
    codes = []
    for bitmap in DIGIT_BITMAPS:
        rows = bitmap.split()
        assert len(rows) == 12 and all(len(r) == 7 for r in rows), "bitmaps are 7 wide, 12 tall"
        codes.append([1.0 if ch == "#" else -1.0 for row in rows for ch in row])
    return np.array(codes)


def connection_mask(table: tuple[tuple[int, ...], ...], in_maps: int) -> np.ndarray:
    """The (F, C) boolean mask of a connection table: mask[f, c] is True when output map f
    reads input map c."""
    mask = np.zeros((len(table), in_maps), dtype=bool)
    for f, inputs in enumerate(table):
        mask[f, list(inputs)] = True
    return mask


# --- The paper's counts, Sec. II.B ---------------------------------------------------------
# (trainable parameters, connections) per layer. The paper states both numbers for C1 to S4
# only; for C5 it states the connections (48,120 "trainable connections"), for F6 the
# parameters (10,164), for the output layer neither. The other numbers are derived:
# C5's parameters equal its connections (each 1x1 map's kernel is used once), F6's
# connections equal its parameters (fully connected), and the output layer's 840 = 84 x 10
# connections and 0 trainable parameters are what make the per-layer numbers add up to the
# totals that Sec. II-A states (340,908 connections, 60,000 trainable parameters): the
# paper keeps the RBF centres fixed, "at least initially" (Sec. II-B). PAPER_STATED says
# which numbers are the paper's own.
PAPER_COUNTS: dict[str, tuple[int, int]] = {
    "C1": (156, 122_304),
    "S2": (12, 5_880),
    "C3": (1_516, 151_600),
    "S4": (32, 2_000),
    "C5": (48_120, 48_120),
    "F6": (10_164, 10_164),
    "output": (0, 840),
}
PAPER_STATED: dict[str, tuple[str, ...]] = {
    "C1": ("parameters", "connections"),
    "S2": ("parameters", "connections"),
    "C3": ("parameters", "connections"),
    "S4": ("parameters", "connections"),
    "C5": ("connections",),
    "F6": ("parameters",),
    "output": (),
}
PAPER_PARAMETERS = 60_000  # Sec. II-A, stated
PAPER_CONNECTIONS = 340_908  # Sec. II-A, stated
PAPER_TEST_ERROR = 0.0095  # Sec. III.B, no distortions, 20 passes
PAPER_DISTORTED_TEST_ERROR = 0.008  # Sec. III.B, with 540,000 distorted training patterns

# --- Options ---------------------------------------------------------------------------
ACTIVATIONS = ("scaled_tanh", "tanh", "relu", "sigmoid")
POOLINGS = ("subsample", "avg", "max")
C3_CONNECTIONS = ("table", "full")
HEADS = ("rbf", "softmax")
INITS = ("paper", "fan-in-sqrt", "lecun", "he", "glorot")  # params.init_params says what each draws
PAPER_OPTIONS = {"activation": "scaled_tanh", "pool": "subsample", "c3": "table", "head": "rbf"}
MODERN_OPTIONS = {"activation": "relu", "pool": "max", "c3": "full", "head": "softmax"}


# --- Layer descriptions ----------------------------------------------------------------
# A network is a list of these. Each layer is a weighted sum (or a pooling) followed by an
# optional activation, as every unit up to F6 is in the paper (Sec. II.B). Parameter names
# are "<layer name>.<param>", the same in the NumPy parameter dict and the PyTorch
# state_dict.


@dataclass(frozen=True)
class Conv:
    """A convolution (cross-correlation) with kernels of ``kernel`` x ``kernel``.

    ``table`` is None for a full connection (every output map reads every input map).
    With a table, only the listed (output, input) pairs have a kernel, and the weight is
    stored packed: one (kernel, kernel) slice per connection, in table order, so that the
    array holds exactly the trainable parameters (C3: 60 kernels, not 96).
    """

    name: str
    in_maps: int
    out_maps: int
    kernel: int = KERNEL
    pad: int = 0
    table: tuple[tuple[int, ...], ...] | None = None
    activation: str | None = None

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        k = self.kernel
        if self.table is None:
            weight = (self.out_maps, self.in_maps, k, k)
        else:
            weight = (sum(len(inputs) for inputs in self.table), k, k)
        return {"weight": weight, "bias": (self.out_maps,)}

    def fan_in(self) -> np.ndarray:
        """Inputs per unit of each output map, (out_maps,): the F_i of Appendix A."""
        if self.table is None:
            return np.full(self.out_maps, self.in_maps * self.kernel**2)
        return np.array([len(inputs) * self.kernel**2 for inputs in self.table])

    def mask(self) -> np.ndarray | None:
        return None if self.table is None else connection_mask(self.table, self.in_maps)

    def out_shape(self, in_shape: tuple[int, int, int]) -> tuple[int, int, int]:
        _, h, w = in_shape
        return (
            self.out_maps,
            h + 2 * self.pad - self.kernel + 1,
            w + 2 * self.pad - self.kernel + 1,
        )


@dataclass(frozen=True)
class Pool:
    """Non-overlapping ``size`` x ``size`` pooling over each map.

    ``kind="subsample"`` is LeCun's trainable subsampling (Sec. II.B): the sum of the
    window times a trainable coefficient plus a trainable bias, one of each per map.
    ``"avg"`` and ``"max"`` are the parameter-free poolings of later networks.
    """

    name: str
    maps: int
    kind: str = "subsample"
    size: int = POOL
    activation: str | None = None

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        if self.kind == "subsample":
            return {"coef": (self.maps,), "bias": (self.maps,)}
        return {}

    def out_shape(self, in_shape: tuple[int, int, int]) -> tuple[int, int, int]:
        c, h, w = in_shape
        return (c, h // self.size, w // self.size)


@dataclass(frozen=True)
class Dense:
    """A fully connected layer, ``out = x @ weight.T + bias`` (PyTorch's nn.Linear layout).
    Its input is flattened first, so a (N, 120, 1, 1) C5 output feeds F6 directly."""

    name: str
    in_features: int
    out_features: int
    activation: str | None = None

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"weight": (self.out_features, self.in_features), "bias": (self.out_features,)}

    def fan_in(self) -> np.ndarray:
        return np.full(self.out_features, self.in_features)

    def out_shape(self, in_shape: tuple[int, ...]) -> tuple[int]:
        return (self.out_features,)


@dataclass(frozen=True)
class RBF:
    """The paper's output layer, Eq. (7): y_i = sum_j (x_j - w_ij)^2, one Euclidean radial
    basis function unit per class, with fixed centres (``rbf_prototypes``). Its outputs are
    penalties: the smaller, the more likely the class."""

    name: str
    in_features: int
    classes: int = NUM_CLASSES

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return {}  # the centres are fixed, not trained

    def out_shape(self, in_shape: tuple[int, ...]) -> tuple[int]:
        return (self.classes,)


Layer = Conv | Pool | Dense | RBF


def check_option(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    return value


def lenet5_layers(
    activation: str = "scaled_tanh", pool: str = "subsample", c3: str = "table", head: str = "rbf"
) -> list[Layer]:
    """LeNet-5's layers, paper-faithful by default; each option names one simplification.

    activation: the squashing function of every hidden layer (paper: ``scaled_tanh``).
    pool: S2 and S4 (paper: ``subsample``; with ``avg`` or ``max`` no activation follows
        the pooling, as in the networks that use them).
    c3: ``table`` (Table I) or ``full`` (every C3 map reads all six S2 maps).
    head: ``rbf`` (Eq. 7, fixed codes; trained with the loss of Eq. 9) or ``softmax``
        (a trainable 84 -> 10 layer trained with cross-entropy).
    """
    act = check_option("activation", activation, ACTIVATIONS)
    check_option("pool", pool, POOLINGS)
    check_option("c3", c3, C3_CONNECTIONS)
    check_option("head", head, HEADS)
    pool_act = act if pool == "subsample" else None
    layers: list[Layer] = [
        Conv("C1", 1, C1_MAPS, activation=act),
        Pool("S2", C1_MAPS, kind=pool, activation=pool_act),
        Conv("C3", C1_MAPS, C3_MAPS, table=C3_TABLE if c3 == "table" else None, activation=act),
        Pool("S4", C3_MAPS, kind=pool, activation=pool_act),
        Conv("C5", C3_MAPS, C5_UNITS, activation=act),
        Dense("F6", C5_UNITS, F6_UNITS, activation=act),
    ]
    if head == "rbf":
        layers.append(RBF("output", F6_UNITS))
    else:
        layers.append(Dense("output", F6_UNITS, NUM_CLASSES))
    return layers


# --- Presets: the LeNets that tutorials teach --------------------------------------------
# Each is a complete network description. ``paper`` and ``modern`` are LeNet-5 with
# options; the others are the networks of well-known tutorials, as those tutorials build
# them, so that the course can count and train them beside the paper's.


@dataclass(frozen=True)
class Preset:
    """A named network: its input size, its layers, and how it is trained by default."""

    name: str
    description: str
    input_size: int
    layers: tuple[Layer, ...]
    optimizer: str = "sgd"  # "sgd" (with momentum) or "adam"
    lr: float = 0.0015
    init: str = "paper"  # one of INITS: see params.init_params
    init_gain: float = 1.0  # scales the init rule's limits
    reported: str = ""  # what its authors report, where they report it


def _conv_pool_stack(
    act: str, pool: str, size: int, maps=(6, 16), pad1: int = 0, act_after_pool=False
):
    """C1 -> S2 -> C3 -> S4 of a tutorial LeNet: conv, activation, pooling (or conv,
    pooling, activation, as the Theano tutorial orders them)."""
    c1, c3 = maps
    conv_act, pool_act = (None, act) if act_after_pool else (act, None)
    layers = [
        Conv("C1", 1, c1, pad=pad1, activation=conv_act),
        Pool("S2", c1, kind=pool, activation=pool_act),
        Conv("C3", c1, c3, activation=conv_act),
        Pool("S4", c3, kind=pool, activation=pool_act),
    ]
    shape = (1, size, size)
    for layer in layers:
        shape = layer.out_shape(shape)
    return layers, int(np.prod(shape))


def _dense_head(act: str, features: int, hidden=(120, 84)):
    """Hidden dense layers named as the paper's last ones (..., F5, F6), then the output."""
    layers = []
    for i, units in enumerate(hidden):
        layers.append(Dense(f"F{7 - len(hidden) + i}", features, units, activation=act))
        features = units
    return [*layers, Dense("output", features, NUM_CLASSES)]


def _tutorial(name, description, act, pool, maps=(6, 16), pad1=0, hidden=(120, 84), **kw) -> Preset:
    convs, features = _conv_pool_stack(
        act, pool, MNIST_SIZE, maps, pad1, kw.pop("act_after_pool", False)
    )
    return Preset(
        name, description, MNIST_SIZE, tuple(convs + _dense_head(act, features, hidden)), **kw
    )


PRESETS: dict[str, Preset] = {
    "paper": Preset(
        "paper",
        "LeCun et al. 1998 as this course builds it: scaled tanh, trainable subsampling, Table I, RBF output",
        INPUT_SIZE,
        tuple(lenet5_layers()),
        reported="0.95 % test error (Sec. III.B; 0.8 % with distortions)",
    ),
    "modern": Preset(
        "modern",
        "the paper's layout with ReLU, max pooling, full C3 and a softmax head",
        INPUT_SIZE,
        tuple(lenet5_layers(**MODERN_OPTIONS)),
        lr=0.02,
        init="he",
    ),
    "deeplearning-net": _tutorial(
        "deeplearning-net",
        "the Theano tutorial's LeNet: 20 and 50 kernels, max pooling then tanh, 500 hidden units, softmax",
        "tanh", "max", maps=(20, 50), hidden=(500,), act_after_pool=True, lr=0.01, init="glorot",
        reported="0.92 % test error (deeplearning.net tutorial, 'Convolutional Neural Networks (LeNet)')",
    ),
    "keras-relu": _tutorial(
        "keras-relu",
        "28x28 input, 6 and 16 kernels, ReLU, max pooling, dense 120/84/10, softmax, Adam",
        "relu", "max", optimizer="adam", lr=0.001, init="glorot",
    ),
    # Sigmoid networks start slowly: with SGD and momentum neither sigmoid preset left
    # chance level in one epoch of 10,000 images (lr 0.1 and 0.3), Adam at 0.003 did.
    "tf-sigmoid-same": _tutorial(
        "tf-sigmoid-same",
        "C1 with 'same' padding on 28x28, sigmoid, average pooling, dense 120/84/10, softmax",
        "sigmoid", "avg", pad1=2, optimizer="adam", lr=0.003, init="glorot",
    ),
    # The LeNet of Dive into Deep Learning's PyTorch Chinese edition (d2lzh_pytorch, the
    # seed text "LeNet 模型原理及pytorch代码"); today's d2l-en LeNet pads C1 by 2 and uses
    # average pooling, the tf-sigmoid-same layout.
    "d2l-sigmoid-max": _tutorial(
        "d2l-sigmoid-max",
        "d2lzh_pytorch's: 28x28 unpadded, sigmoid, max pooling, 16*4*4 -> 120 -> 84 -> 10, softmax",
        "sigmoid", "max", optimizer="adam", lr=0.003, init="glorot",
    ),
}  # fmt: skip


def network(preset: str | None = None, **options) -> tuple[dict, Preset]:
    """The network a model builds, and the keyword arguments that rebuild it.

    Either a named preset or LeNet-5 with options (``lenet5_layers``; the paper's for every
    option left out or None). Giving both is an error: a preset fixes every layer. The
    option ``init`` (one of ``INITS``) names the initial weights' rule; left out, it is the
    paper's (He's for ReLU networks), and it joins the returned options only when given.
    So does ``init_gain``, a positive number that scales the rule's limits (1: the rule's).
    """
    options = {k: v for k, v in options.items() if v is not None}
    if "init" in options:
        check_option("init", options["init"], INITS)
    if "init_gain" in options:
        gain = options["init_gain"]
        if isinstance(gain, bool) or not isinstance(gain, (int, float)) or not 0 < gain < np.inf:
            raise ValueError(f"init_gain must be a positive number (1: the rule's own limits); "
                             f"got {gain!r}")  # fmt: skip
    if preset is None:
        init, gain = options.pop("init", None), options.pop("init_gain", None)
        layers = lenet5_layers(**options)
        full = {**PAPER_OPTIONS, **options}
        default = "he" if full["activation"] == "relu" else "paper"
        full.update({k: v for k, v in (("init", init), ("init_gain", gain)) if v is not None})
        return full, Preset("custom", "LeNet-5 with options", INPUT_SIZE, tuple(layers),
                            init=init or default, init_gain=float(gain or 1.0))  # fmt: skip
    check_option("preset", preset, tuple(PRESETS))
    if options:
        raise ValueError(
            f"give either a preset or options, not both: preset={preset!r} with {options}"
        )
    return {"preset": preset}, PRESETS[preset]
