"""Every public function documents its parameters, matching its signature, with an example."""

import inspect
import re

import pytest
from numpydoc.docscrape import FunctionDoc

import plantar
from plantar import datasets, io, metrics, regions, synth, utils


def _public_functions():
    found = {}
    for module in (plantar, io, metrics, regions, synth, datasets, utils):
        for name in getattr(module, "__all__", None) or dir(module):
            obj = getattr(module, name)
            if name.startswith("_") or not inspect.isfunction(obj):
                continue
            if not getattr(obj, "__module__", "").startswith("plantar"):
                continue
            found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


PUBLIC = _public_functions()


def test_the_public_api_is_found():
    names = {name.rsplit(".", 1)[-1] for name in PUBLIC}
    assert {"make_trial", "check_trial", "read", "save", "walk", "total_force", "percent_labels"} <= names


def _documented(doc):
    names = []
    for param in doc["Parameters"]:
        names += [n.strip() for n in param.name.split(",")]
    return names


def _signature(func):
    names = []
    for p in inspect.signature(func).parameters.values():
        if p.kind is p.VAR_KEYWORD:
            names.append(f"**{p.name}")
        elif p.kind is p.VAR_POSITIONAL:
            names.append(f"*{p.name}")
        else:
            names.append(p.name)
    return names


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_parameters_match_signature_and_there_is_an_example(name):
    func = PUBLIC[name]
    doc = FunctionDoc(func)
    assert _documented(doc) == _signature(func), name
    assert "".join(doc["Examples"]).strip(), f"{name} has no Examples section"
    assert doc["Summary"], f"{name} has no summary line"
    assert not re.search(r"^\s*%\(\w+\)s\s*$", func.__doc__, re.MULTILINE), f"{name}: unfilled placeholder"
