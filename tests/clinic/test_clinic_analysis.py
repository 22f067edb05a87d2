"""A clinic trial's analysis: computed once, stored, the same as a fresh one, and safe from several threads."""

import sys
import threading

import pytest
import xarray as xr

import plantar
from plantar.clinic import Clinic
from plantar.compare import compare


@pytest.fixture(scope="module")
def walks():
    return {kind: trial for kind, (trial, _) in plantar.datasets.demo_walks(seed=3, passes=1).items()}


def test_analysis_is_stored_once_and_equals_a_fresh_one(tmp_path, walks, monkeypatch):
    with Clinic.init(tmp_path / "clinic") as clinic:
        clinic.add_patient("P001")
        visit = clinic.add_visit("P001", date="2024-03-01")
        uids = [clinic.add_trial(t, visit=visit, kind=k, label=k)["uid"] for k, t in walks.items()]
        first = {uid: clinic.analysis(uid) for uid in uids}
        assert all((clinic.folder / "analyses" / f"{uid}.nc").is_file() for uid in uids)
        assert clinic.analysis(uids[0]) is first[uids[0]]  # kept in memory
        assert clinic.check()["ok"]
    calls = []
    with Clinic.open(tmp_path / "clinic") as clinic:
        module = sys.modules["plantar.analyze"]
        original = module.analyze
        monkeypatch.setattr(module, "analyze", lambda *a, **k: calls.append(1) or original(*a, **k))
        stored = {uid: clinic.analysis(uid) for uid in uids}
        assert not calls  # read back from the clinic, not analysed again
        fresh = {uid: original(clinic.read_trial(uid)) for uid in uids}
        for uid in uids:
            xr.testing.assert_identical(stored[uid], fresh[uid])
        xr.testing.assert_identical(compare(dict(zip("abc", stored.values())), baseline="a"),
                                    compare(dict(zip("abc", fresh.values())), baseline="a"))
        # the visit report and the follow-up use the stored analyses
        clinic.write_visit_report(visit, verbose="error")
        clinic.followup("P001")
        assert not calls


def test_a_stored_analysis_of_another_file_is_not_used(tmp_path, walks):
    with Clinic.init(tmp_path / "clinic") as clinic:
        clinic.add_patient("P001")
        visit = clinic.add_visit("P001", date="2024-03-01")
        a = clinic.add_trial(walks["barefoot"], visit=visit, kind="barefoot")["uid"]
        b = clinic.add_trial(walks["shod"], visit=visit, kind="shod")["uid"]
        clinic.analysis(a)
    folder = tmp_path / "clinic" / "analyses"
    (folder / f"{a}.nc").replace(folder / f"{b}.nc")  # the barefoot analysis where the shod one belongs
    (folder / f"{a}.nc").write_bytes(b"damaged")  # and a damaged file
    with Clinic.open(tmp_path / "clinic") as clinic:
        for uid in (a, b):
            xr.testing.assert_identical(clinic.analysis(uid), plantar.analyze(clinic.read_trial(uid)))


def test_analyses_from_several_threads_while_trials_are_added(tmp_path, walks):
    """HDF5 is not thread-safe: analyses stored and read from server threads while a trial is saved must not crash."""
    with Clinic.init(tmp_path / "clinic") as clinic:
        clinic.add_patient("P001")
        visit = clinic.add_visit("P001", date="2024-03-01")
        uids = [clinic.add_trial(t, visit=visit, kind=k, label=k)["uid"] for k, t in walks.items()]
        results, errors = {}, []

        def work(uid):
            try:
                results.setdefault(uid, []).append(clinic.analysis(uid))
            except Exception as exc:  # noqa: BLE001  (collected and failed below)
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(uid,)) for uid in uids * 3]
        for thread in threads:
            thread.start()
        added = [clinic.add_trial(walks["barefoot"], visit=visit, kind="barefoot", label=f"again {k}")
                 for k in range(2)]
        for thread in threads:
            thread.join()
        assert not errors, errors
        for uid in uids:
            assert len(results[uid]) == 3 and all(r is results[uid][0] for r in results[uid])  # analysed once
        assert clinic.check()["ok"] and len(added) == 2
