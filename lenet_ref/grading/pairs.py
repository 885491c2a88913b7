"""The two checks every layer pair gets: its forward output against the reference (and,
in hidden tests, PyTorch), and its backward pass against the reference backward, a
numerical gradient of the reference forward and, in hidden tests, PyTorch's autograd."""

from __future__ import annotations

import numpy as np

from . import expect
from .guard import call
from .oracles import numeric_grad


def forward(answer, name: str, args: dict, reference, mistakes=None, torch_out=None, **kw):
    """Call answer(*args.values(), **kw): it must return (out, cache) with out equal to
    reference(*args.values(), **kw)[0]. Returns the student's (out, cache)."""
    got = call(answer, *args.values(), name=name, **kw)
    if not (isinstance(got, tuple) and len(got) == 2):
        raise AssertionError(f"{name} should return a pair (out, cache)")
    shapes = ", ".join(f"{k} {np.shape(v)}" for k, v in args.items())
    what = f"{name}'s out for {shapes}"
    expect.close(what, got[0], reference(*args.values(), **kw)[0], mistakes=mistakes)
    if torch_out is not None:
        expect.close(what + ", compared with PyTorch", got[0], torch_out)
    return got


def backward(fwd, bwd, names: tuple[str, str], args: dict, ref_forward, ref_backward, dout,
             keys=None, mistakes=None, torch_grads=None, **kw):  # fmt: skip
    """Run the student's forward then backward on dout; compare each gradient named in
    ``keys`` (d + argument name) with the reference backward, central differences of the
    reference forward and, when given, PyTorch's gradients (a list in argument order)."""
    fwd_name, bwd_name = names
    arrays = list(args.values())
    _, cache = call(fwd, *arrays, name=fwd_name, refs=(1,), **kw)
    grads = call(bwd, dout, cache, name=bwd_name)
    grads = grads if isinstance(grads, tuple) else (grads,)
    grad_names = ["d" + k for k in args if isinstance(args[k], np.ndarray)]
    if len(grads) != len(grad_names):
        raise AssertionError(
            f"{bwd_name} should return {len(grad_names)} gradient(s), "
            f"({', '.join(grad_names)}); it returned {len(grads)}"
        )
    expected = ref_backward(dout, ref_forward(*arrays, **kw)[1])
    expected = expected if isinstance(expected, tuple) else (expected,)
    shapes = ", ".join(f"{k} {np.shape(v)}" for k, v in args.items())
    for i, key in enumerate(grad_names):
        if keys is not None and key not in keys:
            continue

        def f(v, i=i):
            return ref_forward(*[v if j == i else a for j, a in enumerate(arrays)], **kw)[0]

        what = f"{bwd_name}'s {key} for {shapes}"
        expect.close(what, grads[i], expected[i], mistakes=(mistakes or {}).get(key))
        expect.close(what + ", against a numerical gradient", grads[i],
                     numeric_grad(f, arrays[i], dout), tol=1e-6, atol=1e-7)  # fmt: skip
        if torch_grads is not None:
            expect.close(what + ", against PyTorch's autograd", grads[i], torch_grads[i])
