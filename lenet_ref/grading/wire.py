"""Plain data between a student's kernel and the trusted verdict server, with no pickle.

A value crosses as a JSON tree (numbers, strings, booleans, None, lists, tuples, dicts
with string or integer keys) whose arrays travel beside it as raw bytes of a known dtype.
Nothing else can cross: an object the tree cannot hold leaves the kernel as an
``Opaque`` marker (its type name only), and stays in the kernel, where the server can
refer to it (``Ref``) when it hands it back to the student's next function (a forward
pass's ``cache`` to its backward pass). Decoding builds only these types: a hostile peer
can send wrong data, never code.

One message on the socket: ``u64 length``, then ``u32 header length``, the JSON header
``{"value": tree, "blobs": [byte counts]}``, and the arrays' bytes in order.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass

import numpy as np

MAX_MESSAGE_BYTES = 128 << 20  # the training check sends 5,000 MNIST images (41 MB); answers are smaller
MAX_HEADER_BYTES = 16 << 20
MAX_DEPTH = 32
DTYPES = {np.dtype(t).str for t in (bool, np.int8, np.int16, np.int32, np.int64, np.uint8,
                                    np.uint16, np.uint32, np.uint64, np.float16, np.float32,
                                    np.float64)}  # fmt: skip


class WireError(ValueError):
    """A message that is not plain data, too large, or cut short."""


@dataclass(frozen=True)
class Opaque:
    """A value that stayed in the kernel: only its type is known here."""

    type_name: str

    def __repr__(self):
        return f"<a {self.type_name}>"


@dataclass(frozen=True)
class Ref:
    """A value kept where it was made (the kernel), named by the call that returned it and
    the path inside that result: ``Ref(3, (1,))`` is ``result_of_call_3[1]``."""

    call: int
    path: tuple = ()


def type_name(value) -> str:
    kind = type(value)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def plain(value, depth: int = 0):
    """``value`` as plain data: ndarray subclasses become ndarray copies, NumPy scalars
    Python numbers, tuple subclasses tuples; anything else an ``Opaque``."""
    if depth > MAX_DEPTH:
        return Opaque("nesting too deep")
    if type(value) in (bool, int, float, str, type(None), Ref):  # not subclasses: they compute
        return value
    if isinstance(value, np.generic) and value.dtype.str in DTYPES:
        return value.item()
    if isinstance(value, np.ndarray) and value.dtype.str in DTYPES:
        return np.array(value, copy=True, subok=False)
    if type(value) is list:
        return [plain(v, depth + 1) for v in value]
    if isinstance(value, tuple):
        return tuple(plain(v, depth + 1) for v in value)
    if type(value) is dict and all(type(k) in (str, int) for k in value):
        return {k: plain(v, depth + 1) for k, v in value.items()}
    return Opaque(type_name(value))


def _tree(value, blobs: list, depth: int = 0):
    if depth > MAX_DEPTH:
        raise WireError("nesting too deep")
    if isinstance(value, (bool, int, str, type(None))):
        return value
    if isinstance(value, np.generic) and value.dtype.str in DTYPES:
        value = value.item()
    if isinstance(value, (bool, int, str, type(None))):
        return value
    if isinstance(value, float):
        return {"float": repr(float(value))}  # keeps nan, inf and every bit of the value
    if isinstance(value, np.ndarray):
        if value.dtype.str not in DTYPES:
            raise WireError(f"arrays of dtype {value.dtype} are not plain data")
        blobs.append(np.ascontiguousarray(value).tobytes())
        return {"array": len(blobs) - 1, "dtype": value.dtype.str, "shape": list(value.shape)}
    if isinstance(value, list):
        return [_tree(v, blobs, depth + 1) for v in value]
    if isinstance(value, tuple):
        return {"tuple": [_tree(v, blobs, depth + 1) for v in value]}
    if isinstance(value, dict):
        return {"dict": [[k, _tree(v, blobs, depth + 1)] for k, v in value.items()]}
    if isinstance(value, Opaque):
        return {"opaque": value.type_name}
    if isinstance(value, Ref):
        return {"ref": value.call, "path": list(value.path)}
    raise WireError(f"cannot send a {type_name(value)}")


def _value(node, arrays: list, depth: int = 0):
    """The value of a decoded header node; ``arrays``: the raw bytes of each array."""
    if depth > MAX_DEPTH:
        raise WireError("nesting too deep")
    if node is None or type(node) in (bool, int, str):
        return node
    if type(node) is list:
        return [_value(v, arrays, depth + 1) for v in node]
    if type(node) is not dict or len(node) not in (1, 2, 3):
        raise WireError("not plain data")
    if "float" in node:
        return float(node["float"])
    if "array" in node:
        return _array_node(node, arrays)
    if "tuple" in node:
        return tuple(_value(v, arrays, depth + 1) for v in node["tuple"])
    if "dict" in node:
        out = {}
        for key, v in node["dict"]:
            if type(key) not in (str, int):
                raise WireError("a dict key that is not a string or an integer")
            out[key] = _value(v, arrays, depth + 1)
        return out
    if "opaque" in node:
        return Opaque(str(node["opaque"])[:200])
    if "ref" in node:
        return Ref(int(node["ref"]), tuple(int(p) if type(p) is int else str(p) for p in node["path"]))
    raise WireError("not plain data")


def encode(message: dict) -> bytes:
    blobs: list[bytes] = []
    header = json.dumps({"value": _tree(message, blobs), "blobs": [len(b) for b in blobs]}).encode()
    body = struct.pack("<I", len(header)) + header + b"".join(blobs)
    return struct.pack("<Q", len(body)) + body


def decode(body: bytes):
    if len(body) < 4:
        raise WireError("message cut short")
    (size,) = struct.unpack_from("<I", body)
    if size > MAX_HEADER_BYTES or 4 + size > len(body):
        raise WireError("header too large or cut short")
    try:
        header = json.loads(body[4 : 4 + size])
        sizes = [int(n) for n in header["blobs"]]
    except (ValueError, KeyError, TypeError, RecursionError) as error:
        raise WireError(f"bad header ({type(error).__name__})") from None
    if any(n < 0 for n in sizes) or 4 + size + sum(sizes) != len(body):
        raise WireError("array bytes do not add up")
    buffers, at = [], 4 + size
    for n in sizes:
        buffers.append(body[at : at + n])
        at += n
    try:
        return _value(header["value"], buffers)
    except (ValueError, KeyError, TypeError, IndexError, RecursionError) as error:
        raise WireError(f"not plain data ({type(error).__name__}: {error})") from None


def _array_node(node, buffers):
    dtype = np.dtype(str(node["dtype"]))
    if dtype.str not in DTYPES:
        raise WireError(f"arrays of dtype {dtype} are not plain data")
    shape = tuple(int(n) for n in node["shape"])
    if any(n < 0 for n in shape):
        raise WireError("negative array dimension")
    data = buffers[int(node["array"])]
    if len(data) != dtype.itemsize * int(np.prod(shape, dtype=np.int64)):
        raise WireError("array bytes do not match its shape")
    return np.frombuffer(data, dtype=dtype).reshape(shape).copy()


def send(sock, message: dict) -> None:
    sock.sendall(encode(message))


def _read(sock, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = sock.recv(min(left, 1 << 22))
        if not chunk:
            raise EOFError("the other side closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def receive(sock):
    (size,) = struct.unpack("<Q", _read(sock, 8))
    if size > MAX_MESSAGE_BYTES:
        raise WireError(f"a message of {size} bytes, more than the {MAX_MESSAGE_BYTES} allowed")
    return decode(_read(sock, size))
