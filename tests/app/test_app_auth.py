"""The clinic app's password mode: login, session cookie, CSRF on every POST, guessing limits, refused start.

The app is driven through Flask's test client (each client keeps its own cookies,
as a browser does); the login page and every Dash callback go through the same
guard as in a browser.
"""

import re
import time

import pytest

pytest.importorskip("dash")

from plantar.app import make_app  # noqa: E402
from plantar.cli import main  # noqa: E402
from plantar.clinic import Clinic  # noqa: E402

PASSWORD = "plantar fascia 2024"
ORIGIN = "http://localhost"


@pytest.fixture
def clinic(tmp_path):
    with Clinic.init(tmp_path / "clinic") as opened:
        opened.set_password(PASSWORD)
        yield opened


@pytest.fixture
def app(clinic):
    app = make_app(clinic)
    app.guard.fail_delay_s = 0.2
    yield app
    app.capture.close()


def _steps_body(value):
    """The settings page's "Save" of complete steps, as Dash's page posts it."""
    return {"output": "settings-steps-message.children",
            "outputs": {"id": "settings-steps-message", "property": "children"},
            "inputs": [{"id": "settings-save-steps", "property": "n_clicks", "value": 1}],
            "state": [{"id": "settings-steps", "property": "value", "value": value}],
            "changedPropIds": ["settings-save-steps.n_clicks"]}  # fmt: skip


def _login(client, password=PASSWORD, next_path="/"):
    page = client.get(f"/login?next={next_path}")
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return client.post(f"/login?next={next_path}", data={"password": password, "csrf_token": token},
                       headers={"Origin": ORIGIN})  # fmt: skip


def _set_cookies(response):
    return {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}


def test_every_page_asks_for_the_login_first(app):
    client = app.server.test_client()
    for path in ("/", "/visit/1", "/settings"):
        answer = client.get(path)
        assert answer.status_code == 303 and answer.headers["Location"] == f"/login?next={path}"
    assert client.get("/_dash-layout").status_code == 403  # the page's own requests: refused, not redirected
    assert client.post("/_dash-update-component", json=_steps_body(5), headers={"Origin": ORIGIN}).status_code == 403
    assert app.guard.clinic.complete_steps() == 3


def test_the_live_view_route_shows_frames_only_after_the_login(app):
    """The live view's read-only route sits behind the login like every page: no pressure without it."""
    client = app.server.test_client()
    answer = client.get("/live/latest.json")
    assert answer.status_code in (303, 403) and b"{" not in answer.data
    assert _login(client).status_code == 303
    answer = client.get("/live/latest.json")
    assert answer.status_code == 200 and answer.is_json


def test_login_sets_a_strict_httponly_session_and_a_token_cookie(app):
    client = app.server.test_client()
    answer = _login(client, next_path="/settings")
    assert answer.status_code == 303 and answer.headers["Location"] == "/settings"
    cookies = _set_cookies(answer)
    session, token = cookies["plantar_session"], cookies["_csrf_token"]
    assert "HttpOnly" in session and "SameSite=Strict" in session and "Secure" not in session
    assert "HttpOnly" not in token and "SameSite=Strict" in token  # the page's script reads it, no other site
    assert client.get("/settings").status_code == 200


def test_over_https_the_cookies_are_secure(app):
    client = app.server.test_client()
    page = client.get("/login", base_url="https://clinic.example")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    answer = client.post("/login", data={"password": PASSWORD, "csrf_token": token}, base_url="https://clinic.example",
                         headers={"Origin": "https://clinic.example"})  # fmt: skip
    assert answer.status_code == 303
    assert all("; Secure" in c for c in _set_cookies(answer).values())


def test_a_post_needs_the_session_token_and_the_app_origin(app, clinic):
    client = app.server.test_client()
    _login(client)
    token = client.get_cookie("_csrf_token").value
    # no token, a wrong token, the right token from another site: refused, nothing changed
    assert client.post("/_dash-update-component", json=_steps_body(5), headers={"Origin": ORIGIN}).status_code == 403
    assert client.post("/_dash-update-component", json=_steps_body(5),
                       headers={"Origin": ORIGIN, "X-CSRFToken": token[:-1] + "x"}).status_code == 403  # fmt: skip
    for other in ({"Origin": "http://evil.example"}, {"Referer": "http://evil.example/page"}):
        answer = client.post("/_dash-update-component", json=_steps_body(5), headers={**other, "X-CSRFToken": token})
        assert answer.status_code == 403
    assert clinic.complete_steps() == 3
    # with the token, from the app's own page: done
    answer = client.post("/_dash-update-component", json=_steps_body(5),
                         headers={"Origin": ORIGIN, "X-CSRFToken": token})  # fmt: skip
    assert answer.status_code == 200, answer.text[:300]
    assert "a walk needs 5 complete steps" in answer.text and clinic.complete_steps() == 5
    assert app.capture.min_steps == 5
    # another session's token is not this one's
    other = app.server.test_client()
    _login(other)
    assert other.get_cookie("_csrf_token").value != token
    answer = other.post("/_dash-update-component", json=_steps_body(4), headers={"Origin": ORIGIN, "X-CSRFToken": token})
    assert answer.status_code == 403 and clinic.complete_steps() == 5


def test_the_login_form_needs_its_token(app):
    client = app.server.test_client()
    client.get("/login")
    answer = client.post("/login", data={"password": PASSWORD}, headers={"Origin": ORIGIN})
    assert answer.status_code == 403 and client.get("/").status_code == 303


def test_a_wrong_password_gets_a_generic_answer_after_a_delay(app):
    client = app.server.test_client()
    started = time.monotonic()
    answer = _login(client, password=PASSWORD[:-1])
    assert time.monotonic() - started >= app.guard.fail_delay_s
    assert answer.status_code == 401 and "Wrong password." in answer.text and PASSWORD not in answer.text
    assert client.get("/").status_code == 303


def test_an_address_that_guesses_too_often_is_refused_even_the_right_password(app):
    app.guard.fail_delay_s = 0.0
    client = app.server.test_client()
    for attempt in range(app.guard.max_failures):
        assert _login(client, password=f"guess {attempt}").status_code == 401
    answer = _login(client)
    assert answer.status_code == 429 and "Too many wrong passwords" in answer.text
    assert client.get("/").status_code == 303
    app.guard.window_s = 0.0  # once the wrong passwords are older than the window, the right one works
    assert _login(client).status_code == 303 and client.get("/").status_code == 200


def test_logout_ends_the_session_for_good(app):
    client = app.server.test_client()
    _login(client)
    session = client.get_cookie("plantar_session").value
    token = client.get_cookie("_csrf_token").value
    assert client.get("/").status_code == 200
    page = client.get("/logout")
    assert page.status_code == 200 and f'value="{token}"' in page.text
    answer = client.post("/logout", data={"csrf_token": token}, headers={"Origin": ORIGIN})
    assert answer.status_code == 303 and answer.headers["Location"] == "/login?out=1"
    assert client.get("/").status_code == 303
    replay = app.server.test_client()  # the old cookie, kept by someone: of no use any more
    replay.set_cookie("plantar_session", session)
    assert replay.get("/").status_code == 303


def test_a_forged_or_foreign_session_cookie_is_of_no_use(app, tmp_path):
    client = app.server.test_client()
    _login(client)
    session = client.get_cookie("plantar_session").value
    forged = app.server.test_client()
    forged.set_cookie("plantar_session", session[:-2] + ("AA" if not session.endswith("AA") else "BB"))
    assert forged.get("/").status_code == 303
    with Clinic.init(tmp_path / "other") as other:  # another clinic, same password: its own secret
        other.set_password(PASSWORD)
        other_app = make_app(other)
        try:
            foreign = other_app.server.test_client()
            foreign.set_cookie("plantar_session", session)
            assert foreign.get("/").status_code == 303
        finally:
            other_app.capture.close()


@pytest.mark.parametrize("target", ["//evil.example/x", "http://evil.example/", "/\\evil.example"])
def test_the_login_sends_back_to_this_app_only(app, target):
    answer = _login(app.server.test_client(), next_path=target)
    assert answer.status_code == 303 and answer.headers["Location"] == "/"


def test_without_a_password_the_app_is_open_on_127_0_0_1_but_refuses_other_sites(tmp_path):
    with Clinic.init(tmp_path / "open") as clinic:
        app = make_app(clinic)
        try:
            assert not app.guard.login
            client = app.server.test_client()
            assert client.get("/").status_code == 200
            answer = client.post("/_dash-update-component", json=_steps_body(4), headers={"Origin": ORIGIN})
            assert answer.status_code == 200 and clinic.complete_steps() == 4
            # a site on another origin, or one whose name was rebound to 127.0.0.1
            assert client.post("/_dash-update-component", json=_steps_body(6),
                               headers={"Origin": "http://evil.example"}).status_code == 403  # fmt: skip
            assert client.get("/", headers={"Host": "evil.example:8050"}).status_code == 403
            assert clinic.complete_steps() == 4
        finally:
            app.capture.close()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20"])
def test_serve_refuses_another_address_without_a_password(tmp_path, host, capsys):
    Clinic.init(tmp_path / "clinic").close()
    assert main(["clinic", "serve", "--folder", str(tmp_path / "clinic"), "--host", host, "--no-browser"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has no password" in err and "plantar clinic password" in err


def test_with_a_password_serve_listens_on_every_address_and_asks_for_it(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import urllib.error
    import urllib.request
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    with Clinic.init(tmp_path / "clinic") as clinic:
        clinic.set_password(PASSWORD)
    command = [sys.executable, "-m", "plantar", "clinic", "serve", "--folder", str(tmp_path / "clinic"),
               "--host", "0.0.0.0", "--port", "0", "--no-browser"]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONPATH": str(root)}, cwd=root)  # fmt: skip
    try:
        port = re.search(r"is at http://127\.0\.0\.1:(\d+)/", proc.stdout.readline()).group(1)

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as refused:
            opener.open(f"http://127.0.0.1:{port}/", timeout=30)
        assert refused.value.code == 303 and refused.value.headers["Location"] == "/login?next=/"
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=30).read().decode()
        assert 'type="password"' in page
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_the_password_command_asks_twice(tmp_path, monkeypatch, capsys):
    import getpass

    Clinic.init(tmp_path / "clinic").close()
    answers = iter(["first long password", "second long password"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(answers))
    assert main(["clinic", "password", "--folder", str(tmp_path / "clinic")]) == 1
    assert "the two passwords differ" in capsys.readouterr().err
    with Clinic.open(tmp_path / "clinic") as clinic:
        assert not clinic.has_password()
    answers = iter(["first long password"] * 2)
    assert main(["clinic", "password", "--folder", str(tmp_path / "clinic")]) in (0, None)
    with Clinic.open(tmp_path / "clinic") as clinic:
        assert clinic.check_password("first long password")
    assert main(["clinic", "password", "--remove", "-C", str(tmp_path / "clinic")]) in (0, None)
    with Clinic.open(tmp_path / "clinic") as clinic:
        assert not clinic.has_password()


def test_behind_an_https_proxy_the_cookies_are_secure_and_the_origin_is_the_browsers(app, clinic):
    from plantar.app._auth import trust_proxy

    trust_proxy(app.server)
    proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "clinic.example", "X-Forwarded-For": "10.0.0.7"}
    client = app.server.test_client()
    page = client.get("/login", headers=proxy)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    answer = client.post("/login", data={"password": PASSWORD, "csrf_token": token},
                         headers={**proxy, "Origin": "https://clinic.example"})  # fmt: skip
    assert answer.status_code == 303
    assert all("; Secure" in c for c in _set_cookies(answer).values())
    cookies = {name: c.split("=", 1)[1].split(";", 1)[0] for name, c in _set_cookies(answer).items()}
    client = app.server.test_client()  # the browser sends its Secure cookies back to the proxy over https
    for name, value in cookies.items():
        client.set_cookie(name, value)
    csrf = cookies["_csrf_token"]
    answer = client.post("/_dash-update-component", json=_steps_body(6),
                         headers={**proxy, "Origin": "https://clinic.example", "X-CSRFToken": csrf})  # fmt: skip
    assert answer.status_code == 200 and clinic.complete_steps() == 6
    answer = client.post("/_dash-update-component", json=_steps_body(7),
                         headers={**proxy, "Origin": "http://clinic.example", "X-CSRFToken": csrf})  # fmt: skip
    assert answer.status_code == 403 and clinic.complete_steps() == 6


def test_a_session_idle_too_long_ends(app):
    client = app.server.test_client()
    _login(client)
    assert client.get("/").status_code == 200
    app.guard.idle_s = 0.0
    time.sleep(0.01)
    assert client.get("/").status_code == 303
