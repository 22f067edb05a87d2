"""The settings page: the clinic's mats added and removed through the page, offered in the capture panel."""

import pytest

pytest.importorskip("dash")

from plantar.app import make_app  # noqa: E402
from plantar.cli import main  # noqa: E402
from plantar.clinic import Clinic  # noqa: E402

HOSTILE = '<script>window.__pwned=1</script>"><img src=x onerror="window.__pwned=2">'


@pytest.fixture
def served(tmp_path):
    with Clinic.init(tmp_path / "clinic") as clinic:
        clinic.add_patient("P001")
        clinic.add_visit("P001", date="2024-03-01")
        app = make_app(clinic)
        try:
            yield app, clinic, app.server.test_client()
        finally:
            app.capture.close()


def _post(client, outputs, inputs, state, changed):
    """A Dash callback request as the page sends it; returns the response's outputs by id."""
    ids = [o.split(".") for o in outputs]
    single = len(outputs) == 1
    body = {"output": outputs[0] if single else ".." + "...".join(outputs) + "..",
            "outputs": ({"id": ids[0][0], "property": ids[0][1]} if single
                        else [{"id": i, "property": p} for i, p in ids]),
            "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
            "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
            "changedPropIds": [changed]}  # fmt: skip
    answer = client.post("/_dash-update-component", json=body)
    assert answer.status_code == 200, answer.text[:300]
    return answer.get_json()["response"]


def _add(client, name, port="virtual", url="", protocol="pmat1", calibration=""):
    outputs = ["settings-mats.children", "settings-mat-message.children", "settings-remove-name.options"]
    inputs = [("settings-add-mat", "n_clicks", 1), ("settings-remove-mat", "n_clicks", None)]
    state = [("settings-mat-name", "value", name), ("settings-mat-port", "value", port),
             ("settings-mat-url", "value", url), ("settings-mat-protocol", "value", protocol),
             ("settings-mat-calibration", "value", calibration), ("settings-remove-name", "value", None)]  # fmt: skip
    return _post(client, outputs, inputs, state, "settings-add-mat.n_clicks")


def _texts(component):
    """Every string child of a serialised Dash component tree."""
    if isinstance(component, str):
        yield component
    elif isinstance(component, list):
        for child in component:
            yield from _texts(child)
    elif isinstance(component, dict):
        yield from _texts(component.get("props", {}).get("children"))


def test_the_page_adds_a_mat_and_the_capture_panel_offers_it(served, tmp_path):
    app, clinic, client = served
    answer = _add(client, HOSTILE)
    assert "Added mat" in answer["settings-mat-message"]["children"]
    assert [m["name"] for m in clinic.mats()] == [HOSTILE]
    cells = list(_texts(answer["settings-mats"]["children"]))
    assert HOSTILE in cells and "virtual mat" in cells  # the name is a text child, never markup
    assert answer["settings-remove-name"]["options"] == [{"label": HOSTILE, "value": HOSTILE}]
    # a calibration file that is not one: said in the page, nothing stored
    junk = tmp_path / "junk.pmcal.nc"
    junk.write_bytes(b"junk")
    answer = _add(client, "port mat", port="/dev/ttyACM0", calibration=str(junk))
    assert answer["settings-mat-message"]["children"].startswith("Not done: ") and "junk.pmcal.nc" in str(answer)
    assert len(clinic.mats()) == 1
    # the visit page lists the stored mat first, and connecting to it starts the virtual mat
    page = _post(client, ["page.children"], [("url", "pathname", "/visit/1")], [], "url.pathname")
    assert f"mat:{HOSTILE}" in str(page["page"]["children"])
    answer = _post(client, ["mat-message.children"], [("connect", "n_clicks", 1)],
                   [("mat", "value", f"mat:{HOSTILE}"), ("calibration", "value", None)], "connect.n_clicks")  # fmt: skip
    assert answer["mat-message"]["children"].startswith("Connected: ") and app.capture.connected
    app.capture.disconnect()
    # a mat removed meanwhile: said, not a crash
    clinic.remove_mat(HOSTILE)
    answer = _post(client, ["mat-message.children"], [("connect", "n_clicks", 1)],
                   [("mat", "value", f"mat:{HOSTILE}"), ("calibration", "value", None)], "connect.n_clicks")  # fmt: skip
    assert "has no mat named" in answer["mat-message"]["children"]


def test_the_page_removes_a_mat(served):
    app, clinic, client = served
    clinic.add_mat("old mat", port="virtual")
    outputs = ["settings-mats.children", "settings-mat-message.children", "settings-remove-name.options"]
    inputs = [("settings-add-mat", "n_clicks", None), ("settings-remove-mat", "n_clicks", 1)]
    state = [("settings-mat-name", "value", None), ("settings-mat-port", "value", "virtual"),
             ("settings-mat-url", "value", None), ("settings-mat-protocol", "value", "pmat1"),
             ("settings-mat-calibration", "value", None), ("settings-remove-name", "value", "old mat")]  # fmt: skip
    answer = _post(client, outputs, inputs, state, "settings-remove-mat.n_clicks")
    assert answer["settings-mat-message"]["children"] == "Removed mat old mat."
    assert clinic.mats() == [] and answer["settings-remove-name"]["options"] == []


def test_the_settings_page_shows_the_ports_and_the_password_state(served):
    app, clinic, client = served
    page = _post(client, ["page.children"], [("url", "pathname", "/settings")], [], "url.pathname")
    text = " ".join(_texts(page["page"]["children"]))
    assert "Mats" in text and "Ports this computer sees" in text and "No password" in text


def test_the_mat_commands(tmp_path, capsys):
    Clinic.init(tmp_path / "clinic").close()
    folder = str(tmp_path / "clinic")
    assert main(["clinic", "mat", "add", "walkway 2", "--port", "virtual", "-C", folder]) in (0, None)
    assert main(["clinic", "mat", "list", "-C", folder]) in (0, None)
    out = capsys.readouterr().out
    assert "added mat 'walkway 2': virtual, pmat1" in out and "walkway 2  virtual  pmat1     -" in out
    assert main(["clinic", "mat", "add", "walkway 2", "--port", "virtual", "-C", folder]) == 1
    assert "exists already" in capsys.readouterr().err
    assert main(["clinic", "mat", "remove", "walkway 2", "-C", folder]) in (0, None)
    with Clinic.open(folder) as clinic:
        assert clinic.mats() == []
