"""The Engine protocol the loop is written against, and the backends' engines."""

import importlib
import inspect

import pytest

from magenta_style.training import engine


def _protocol_methods():
    return {n for n, v in inspect.getmembers(engine.Engine)
            if inspect.isfunction(v) and not n.startswith("_")}


def test_the_protocol_names_what_the_loop_calls():
    assert _protocol_methods() == {"scope", "summary_writer", "batches", "local_images",
                                   "compile", "step", "sync"}


@pytest.mark.parametrize("module", ["engine_tf", "engine_jax"])
def test_each_backend_engine_has_every_protocol_method_with_its_arguments(module):
    if module == "engine_jax":
        pytest.importorskip("jax")
    cls = importlib.import_module(f"magenta_style.training.{module}").Engine
    for name in _protocol_methods():
        assert callable(getattr(cls, name, None)), f"{module}.Engine lacks {name}"
        want = list(inspect.signature(getattr(engine.Engine, name)).parameters)
        got = list(inspect.signature(getattr(cls, name)).parameters)
        assert got == want, f"{module}.Engine.{name}{got} != protocol {want}"
