"""A visit's loading report written into the clinic: every condition of the visit, stored with its hashes."""

import json

import pytest

import plantar
from plantar.clinic import Clinic, ClinicError


@pytest.fixture(scope="module")
def walks():
    return {label: trial for label, (trial, _) in plantar.datasets.demo_walks(seed=0, passes=2).items()}


def test_the_visit_report_holds_its_conditions_and_is_recorded(tmp_path, walks):
    with Clinic.init(tmp_path / "clinic") as clinic:
        clinic.add_patient("P012", name="Jane Example", birth_year=1961)
        visit = clinic.add_visit("P012", date="2024-03-01")
        other = clinic.add_visit("P012", date="2024-04-12")
        empty = clinic.add_visit("P012", date="2024-05-20")
        for kind, trial in walks.items():  # the demo's conditions are named by their kinds
            clinic.add_trial(trial, visit=visit, kind=kind, label=kind)
        clinic.add_trial(walks["barefoot"], visit=other, kind="barefoot", label="later")
        with pytest.raises(ClinicError, match=f"visit {empty} has no trial to report"):
            clinic.write_visit_report(empty)
        with pytest.raises(ClinicError, match="there is no visit 99"):
            clinic.write_visit_report(99)
        paths = clinic.write_visit_report(visit, verbose="error")
        assert paths["html"].parent == clinic.folder / "reports" / "P012"
        numbers = json.loads(paths["json"].read_text())
        text = json.dumps(numbers)
        # the visit's conditions, by their labels, and not the other visit's
        assert all(label in text for label in walks) and "later" not in text
        assert "Jane Example" in paths["html"].read_text()
        # every file recorded with its hash: check counts the trials and the three report files
        result = clinic.check()
        assert result["ok"] and result["checked"] == len(walks) + 1 + 3
        anonymous = clinic.write_visit_report(visit, anonymous=True, verbose="error")
        assert "Jane" not in anonymous["html"].read_text() and anonymous["html"].name.endswith("-anonymous.html")
