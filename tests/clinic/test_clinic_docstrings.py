"""Every public method of the clinic store documents its parameters, with an example."""

import inspect

import pytest
from numpydoc.docscrape import FunctionDoc

from plantar.clinic import Clinic

METHODS = {name: getattr(Clinic, name) for name, _ in inspect.getmembers(Clinic, inspect.isroutine)
           if not name.startswith("_")}  # fmt: skip


def test_the_store_api_is_found():
    assert {"init", "open", "add_patient", "patients", "patient", "add_visit", "add_trial", "import_trial", "trials",
            "read_trial", "analyze_visit", "add_report", "check", "export_patient", "backup", "restore", "followup",
            "write_followup_report"} <= set(METHODS)  # fmt: skip


@pytest.mark.parametrize("name", sorted(METHODS))
def test_parameters_match_signature_and_there_is_an_example(name):
    method = METHODS[name]
    doc = FunctionDoc(method)
    documented = [n.strip() for p in doc["Parameters"] for n in p.name.split(",")]
    expected = [("**" if p.kind is p.VAR_KEYWORD else "") + p.name
                for p in inspect.signature(method).parameters.values() if p.name not in ("self", "cls")]  # fmt: skip
    assert documented == expected, name
    assert "".join(doc["Examples"]).strip(), f"{name} has no Examples section"
    assert doc["Summary"], f"{name} has no summary line"
