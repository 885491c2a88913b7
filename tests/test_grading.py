"""lenet_ref.grading: the checks in-process (a student's own kernel), the plain-data wire,
and the verdict server the class grader runs them in (without nbgrader: a kernel's client
in a thread)."""

from __future__ import annotations

import socket
import threading
from collections import namedtuple

import numpy as np
import pytest

from lenet_ref import grading
from lenet_ref.grading import behaviours, check, wire
from lenet_ref.grading.guard import call


def correlate2d(image, kernel):
    K, L = kernel.shape
    H, W = image.shape
    out = np.zeros((H - K + 1, W - L + 1))
    for i in range(H - K + 1):
        for j in range(W - L + 1):
            out[i, j] = np.sum(image[i : i + K, j : j + L] * kernel)
    return out


def conv_forward(x, w, b):
    from lenet_ref.numpy import conv_forward as reference  # honest here: these are tests

    out, _ = reference(x, w, b)
    return out, Cache(x, w, b)


def conv_backward(dout, cache):
    from lenet_ref.numpy import conv_backward as reference, conv_forward as ref_forward

    assert isinstance(cache, Cache), f"the cache came back as a {type(cache).__name__}"
    return reference(dout, ref_forward(cache.x, cache.w, cache.b)[1])


Cache = namedtuple("Cache", "x w b")


def test_an_honest_answer_passes_and_says_so(capsys):
    check("correlate2d", "example", correlate2d)
    assert capsys.readouterr().out == "✓ correlate2d: example\n"


def test_a_cache_is_handed_back_as_it_was_made():
    check("conv_backward", "gradient_check", conv_forward, conv_backward)


def test_changing_an_input_in_place_is_reported():
    def changes(image, kernel):
        image[0, 0] = 99.0
        return correlate2d(image, kernel)

    with pytest.raises(AssertionError, match="changed its argument 1"):
        check("correlate2d", "example", changes)


def test_an_unwritten_answer_says_so():
    def stub(image, kernel):
        raise NotImplementedError()

    with pytest.raises(AssertionError, match="not written yet"):
        check("correlate2d", "example", stub)


def test_a_crashing_answer_says_with_what_it_was_called():
    with pytest.raises(AssertionError, match=r"correlate2d\(array\(4, 4\), array\(2, 2\)\) raised ValueError"):
        check("correlate2d", "example", lambda image, kernel: np.zeros(3).reshape(2, 2))


def test_messages_name_the_known_mistake_and_fit_88_columns():
    with pytest.raises(AssertionError, match="true convolution") as failure:
        check("correlate2d", "example", lambda image, kernel: correlate2d(image, kernel[::-1, ::-1]))
    assert max(len(line) for line in str(failure.value).splitlines()) <= 88


def test_a_float_for_an_int_is_named_not_called_another_mistake():
    with pytest.raises(AssertionError) as failure:
        check("conv_output_size", "lenet", lambda H, K, pad=0, stride=1: float((H - K) // stride + 1))
    assert "should be an int" in str(failure.value) and "padding" not in str(failure.value)


def test_float32_is_named():
    with pytest.raises(AssertionError, match="float32"):
        check("correlate2d", "example", lambda i, k: correlate2d(i, k).astype(np.float32))


def test_returning_something_else_than_plain_data_fails_clearly():
    with pytest.raises(AssertionError, match="NumPy array"):
        check("correlate2d", "example", lambda i, k: object())


def test_every_behaviour_has_a_docstring_and_every_notebook_cell_a_behaviour():
    import re

    import samples

    known = behaviours()
    assert all(b.doc for b in known.values())
    used = set()
    for assignment in samples.ASSIGNMENTS:
        text = samples.solution_path(assignment).read_text()
        used |= set(re.findall(r'check\(\\"(\w+)\\", \\"(\w+)\\"', text))
    assert used == set(known), set(known) ^ used


# --- the wire: plain data only ------------------------------------------------------------------


def test_the_wire_carries_plain_data_exactly():
    value = {"a": (np.arange(6.0).reshape(2, 3), [1, 2.5, float("nan")], None), 3: True,
             "ref": wire.Ref(2, (1,)), "obj": wire.Opaque("Foo")}  # fmt: skip
    back = wire.decode(wire.encode(value)[8:])
    np.testing.assert_array_equal(back["a"][0], value["a"][0])
    assert back["a"][1][:2] == [1, 2.5] and np.isnan(back["a"][1][2])
    assert back[3] is True and back["ref"] == wire.Ref(2, (1,)) and back["obj"] == wire.Opaque("Foo")


def test_what_is_not_plain_data_stays_behind():
    kept = wire.plain((np.float32(1.5), np.ma.array([1.0, 2.0]), Cache(1, 2, 3), object()))
    assert kept[0] == 1.5 and type(kept[1]) is np.ndarray and type(kept[2]) is tuple
    assert kept[3] == wire.Opaque("object")
    with pytest.raises(wire.WireError):
        wire.encode({"x": np.array([object()])})


@pytest.mark.parametrize("body", [
    b"", b"\x05\x00\x00\x00{}", b"\x02\x00\x00\x00[]",
    b"\x00\x01\x00\x00" + b"[" * 256, b'\x1e\x00\x00\x00{"value": {"x": 1}, "blobs": []}',
])  # fmt: skip
def test_a_hostile_message_is_a_wire_error_never_a_crash(body):
    with pytest.raises(wire.WireError):
        wire.decode(body)


def test_a_deeply_nested_message_is_refused():
    nested = {"tuple": []}
    for _ in range(100):
        nested = {"tuple": [nested]}
    header = wire.json.dumps({"value": nested, "blobs": []}).encode()
    with pytest.raises(wire.WireError):
        wire.decode(len(header).to_bytes(4, "little") + header)


# --- the verdict server ------------------------------------------------------------------------


@pytest.fixture
def server(tmp_path, monkeypatch):
    from grade_class.verdict import VerdictServer

    checks = {"nb": {"test_example": ("correlate2d", "example", False),
                     "test_random": ("correlate2d", "random", True)}}  # fmt: skip
    path = str(tmp_path / "verdict.sock")
    monkeypatch.setenv("LENET_VERDICT_SOCKET", path)
    srv = VerdictServer(path, checks, reply_seconds=30, grading=grading)
    srv.begin_notebook("nb")
    yield srv
    srv.close()


def run_cell(srv, grade_id, body):
    srv.begin_cell(grade_id)
    try:
        body()
        return None
    except AssertionError as error:
        return str(error)
    finally:
        srv.end_cell()


def test_the_server_records_the_verdict_of_the_cell_that_runs(server, capsys):
    assert run_cell(server, "test_example", lambda: check("correlate2d", "example", correlate2d)) is None
    assert "✓ correlate2d: example" in capsys.readouterr().out
    wrong = run_cell(server, "test_random",
                     lambda: check("correlate2d", "random", lambda i, k: correlate2d(i, k) + 1))  # fmt: skip
    assert "hidden test" in wrong and "expected" not in wrong.split("\n")[0]
    assert server.verdicts["nb"]["test_example"]["passed"] is True
    assert server.verdicts["nb"]["test_random"]["passed"] is False


def test_the_server_refuses_checks_outside_their_cell_or_twice(server):
    outside = run_cell(server, None, lambda: check("correlate2d", "example", correlate2d))
    assert "outside its test cell" in outside
    other = run_cell(server, "test_example", lambda: check("correlate2d", "random", correlate2d))
    assert "checks correlate2d (example)" in other

    def twice():
        check("correlate2d", "example", lambda i, k: correlate2d(i, k) + 1)

    def then_right():
        try:
            twice()
        except AssertionError:
            pass
        check("correlate2d", "example", correlate2d)

    assert "already ran its check" in run_cell(server, "test_example", then_right)
    assert server.verdicts["nb"]["test_example"]["passed"] is False


def test_a_kernel_that_sends_garbage_fails_its_cell_and_the_server_goes_on(server):
    def garbage():
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(server.path)
        wire.send(sock, {"op": "check", "exercise": "correlate2d", "name": "example",
                         "answers": ["f"], "callable": [True]})  # fmt: skip
        wire.receive(sock)  # the server's first call
        sock.sendall(b"\xff" * 64)
        sock.close()

    run_cell(server, "test_example", garbage)
    thread_done = threading.Event()
    server.begin_cell("test_random")
    threading.Thread(target=lambda: (check("correlate2d", "random", correlate2d), thread_done.set())).start()
    assert thread_done.wait(60)
    server.end_cell()
    assert server.verdicts["nb"]["test_example"]["passed"] is False
    assert server.verdicts["nb"]["test_random"]["passed"] is True


def test_call_refuses_a_forward_that_returns_no_pair():
    with pytest.raises(AssertionError, match="should return a tuple"):
        call(lambda x: x, np.zeros(2), refs=(1,))
