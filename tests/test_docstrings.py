"""Every public function documents its parameters, matching its signature, with an example."""

import inspect
import re
import sys

import pytest
from numpydoc.docscrape import FunctionDoc

import plantar
from plantar import analyze as _analyze_function  # noqa: F401  (the module is shadowed by the function)
from plantar import calibration, cohort, datasets, geometry, io, metrics, regions, steps, synth, utils
from plantar import drivers, report, viz
from plantar.drivers import _transport, csv_rows, kitronyx, pmat1, protocols, recorder, sensitronics, session, sim
from plantar.io import _vendor, emed, footscan, journal, netcdf, pliance, tekscan, xsensor

MODULES = (plantar, cohort, io, metrics, regions, synth, datasets, utils, geometry, steps,
           sys.modules["plantar.analyze"], sys.modules["plantar.offloading"], sys.modules["plantar.compare"],
           sys.modules["plantar.balance"],
           sys.modules["plantar.followup"],
           netcdf, tekscan, emed, footscan, xsensor, pliance, _vendor,
           sensitronics, kitronyx, csv_rows, drivers, _transport, pmat1, protocols, recorder, session,
           journal, sim, sys.modules["plantar.drivers.sim.sensor"], sys.modules["plantar.drivers.sim.faults"],
           sys.modules["plantar.drivers.sim.mat"], calibration, viz, report,
           sys.modules["plantar.drivers.sim.bench"], sys.modules["plantar.drivers.sim.demo"])  # fmt: skip


def _public_functions():
    found = {}
    for module in MODULES:
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
    assert {"make_trial", "check_trial", "read", "save", "walk", "total_force", "percent_labels", "analyze",
            "offloading", "to_table", "compare", "comparison_table", "foot_geometry", "step_metrics", "cpei", "arch_index"} <= names  # fmt: skip


PUBLIC_CLASSES = {
    f"{cls.__module__}.{cls.__qualname__}": cls
    for cls in (steps.FootstepSegmentation, steps.SideAssignment, regions.PercentMask)
}


@pytest.mark.parametrize("name", sorted(PUBLIC_CLASSES))
def test_algorithm_classes_document_parameters_and_attributes(name):
    """Tunable algorithms: __init__ parameters documented, results in documented name_ attributes."""
    from numpydoc.docscrape import ClassDoc

    cls = PUBLIC_CLASSES[name]
    doc = ClassDoc(cls)
    init = [
        name for name, p in inspect.signature(cls.__init__).parameters.items()
        if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]  # fmt: skip
    assert _documented(doc) == init, name
    assert doc["Attributes"], f"{name} documents no attributes"
    assert "".join(doc["Examples"]).strip(), f"{name} has no Examples section"


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
