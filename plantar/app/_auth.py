"""The clinic app's guard: a login when the clinic has a password, and CSRF checks on every request that changes data.

Without a password the app serves 127.0.0.1 only and asks for nothing, as
before; it still refuses a request whose ``Host`` is not this computer (a web
page that rebinds its own name to 127.0.0.1 cannot reach the app) and a POST
whose ``Origin`` (or ``Referer``) is another site.

With a password (``plantar clinic password``), on any address:

- every page and request but the login page needs a session: a cookie
  ``plantar_session``, HttpOnly, SameSite=Strict, Secure when served over
  https, signed with the clinic's own secret (drawn at random once per clinic,
  kept in its database, drawn again when the password changes). The cookie
  holds a random session id and the session's CSRF token; the server keeps the
  ids logged in, so that logging out (or 12 h without a request) ends the
  session for good, and a server restart ends every session.
- every POST (all of Dash's callbacks, so every upload, button and form of the
  app) must carry the session's CSRF token in the ``X-CSRFToken`` header,
  which Dash's page sends by itself from the ``_csrf_token`` cookie (readable
  by the page's script, SameSite=Strict, so another site can neither read nor
  send it); the login and logout forms carry it in a hidden field. A POST
  whose ``Origin`` or ``Referer`` names another site is refused as well,
  whatever its token. Refusals answer 403.
- a wrong password gets one generic answer after a delay (1 s, one check at a
  time over the whole app), and an address that gave 5 wrong passwords in 15
  minutes is refused (429) until they are older than that.
"""

import collections
import hmac
import html
import secrets
import threading
import time
import urllib.parse

from ..utils import logger

#: The addresses the app serves without a password.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
#: The cookie holding the signed session; the cookie the page's script reads the CSRF token from.
SESSION_COOKIE, CSRF_COOKIE, CSRF_HEADER, CSRF_FIELD = "plantar_session", "_csrf_token", "X-CSRFToken", "csrf_token"
#: A session ends after this long without a request, in s.
IDLE_S = 12 * 3600.0
#: Wrong passwords an address may give within ``WINDOW_S`` before it is refused; the delay after each.
MAX_FAILURES, WINDOW_S, FAIL_DELAY_S = 5, 15 * 60.0, 1.0
_UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


def is_local(host):
    """Whether ``host`` is this computer's loopback address (the app's default).

    Examples
    --------
    >>> from plantar.app._auth import is_local
    >>> is_local("127.0.0.1"), is_local("::1"), is_local("0.0.0.0"), is_local("192.168.1.20")
    (True, True, False, False)
    """
    return str(host).strip().lower() in LOCAL_HOSTS


def trust_proxy(server):
    """Believe the ``X-Forwarded-For``, ``-Proto`` and ``-Host`` headers of one reverse proxy in front of the app.

    Behind a proxy that serves https, the app then sees the request as the
    browser sent it: https (so its cookies are Secure), the browser's host
    name (so that the Origin check holds) and the browser's address (so that
    wrong passwords are counted per computer). Use it only behind such a
    proxy: anyone reaching the app directly could otherwise claim any address.

    Parameters
    ----------
    server : flask.Flask
        The app's server (``dash_app.server``).

    Examples
    --------
    >>> import flask
    >>> from plantar.app._auth import trust_proxy
    >>> server = flask.Flask("demo")
    >>> _ = server.route("/")(lambda: flask.request.scheme)
    >>> trust_proxy(server)
    >>> server.test_client().get("/", headers={"X-Forwarded-Proto": "https"}).text
    'https'
    """
    from werkzeug.middleware.proxy_fix import ProxyFix

    server.wsgi_app = ProxyFix(server.wsgi_app, x_for=1, x_proto=1, x_host=1)


class Guard:
    """The app's login and CSRF checks, installed on its Flask server (see the module's description).

    Parameters
    ----------
    server : flask.Flask
        The app's server (``dash_app.server``).
    clinic : plantar.clinic.Clinic
        Whose password and secret guard the app.
    login : bool | None
        Ask for the password; default: when the clinic has one.

    Attributes
    ----------
    login : bool
        Whether the app asks for the password.
    fail_delay_s, max_failures, window_s, idle_s : float, int, float, float
        The delay after a wrong password, how many an address may give in
        ``window_s`` s, and how long a session lasts without a request.

    Examples
    --------
    >>> import flask, tempfile
    >>> from pathlib import Path
    >>> from plantar.clinic import Clinic
    >>> from plantar.app._auth import Guard
    >>> clinic = Clinic.init(Path(tempfile.mkdtemp()) / "clinic")
    >>> clinic.set_password("a long clinic password")
    >>> server = flask.Flask("demo")
    >>> _ = server.route("/")(lambda: "patients")
    >>> guard = Guard(server, clinic)
    >>> client = server.test_client()
    >>> client.get("/").status_code, client.get("/").headers["Location"]
    (303, '/login?next=/')
    >>> client.post("/", headers={"Origin": "http://localhost"}).status_code
    403
    >>> clinic.close()
    """

    def __init__(self, server, clinic, *, login=None):
        from flask.sessions import SecureCookieSessionInterface

        self.clinic = clinic
        self.login = clinic.has_password() if login is None else bool(login)
        self.fail_delay_s, self.max_failures, self.window_s, self.idle_s = FAIL_DELAY_S, MAX_FAILURES, WINDOW_S, IDLE_S
        self._lock = threading.Lock()
        self._checking = threading.Lock()  # one password check at a time
        self._live = {}  # session id -> monotonic time of its last request
        self._failures = collections.defaultdict(collections.deque)  # address -> monotonic times of wrong passwords

        class Sessions(SecureCookieSessionInterface):
            def get_cookie_secure(self, app):  # Secure when the request came over https
                from flask import request

                return request.is_secure

        server.before_request(self._before)
        server.after_request(self._after)
        if self.login:
            server.secret_key = clinic.app_secret()
            server.session_interface = Sessions()
            server.config.update(SESSION_COOKIE_NAME=SESSION_COOKIE, SESSION_COOKIE_HTTPONLY=True,
                                 SESSION_COOKIE_SAMESITE="Strict", SESSION_REFRESH_EACH_REQUEST=False)  # fmt: skip
            server.add_url_rule("/login", "plantar_login", self._login_view, methods=["GET", "POST"])
            server.add_url_rule("/logout", "plantar_logout", self._logout_view, methods=["GET", "POST"])

    # ------------------------------------------------------------------ every request

    def _before(self):
        from flask import redirect, request

        if not self.login and not _local_host(request.host):
            return _refuse("this app answers on 127.0.0.1 only")
        if request.method in _UNSAFE and not _same_origin(request):
            return _refuse("a request from another site")
        if not self.login or request.path == "/login":
            return None
        if not self._logged_in():
            if request.method in ("GET", "HEAD") and not request.path.startswith("/_"):
                return redirect(f"/login?next={urllib.parse.quote(request.full_path.rstrip('?'), safe='/')}", 303)
            return _refuse("log in first")
        if request.method in _UNSAFE and not self._token_ok(request.headers.get(CSRF_HEADER)
                                                            or request.form.get(CSRF_FIELD)):  # fmt: skip
            return _refuse("the request does not carry this session's token")
        return None

    def _after(self, response):
        from flask import request, session

        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if self.login:
            if not request.path.startswith(("/_dash-component-suites/", "/assets/")):
                response.headers.setdefault("Cache-Control", "no-store")  # no patient's page stays in a cache
            token = session.get("csrf")
            if token and request.cookies.get(CSRF_COOKIE) != token:
                response.set_cookie(CSRF_COOKIE, token, httponly=False, samesite="Strict", secure=request.is_secure,
                                    path="/")  # fmt: skip
        return response

    def _logged_in(self):
        from flask import session

        sid = session.get("sid")
        now = time.monotonic()
        with self._lock:
            seen = self._live.get(sid)
            if seen is None or now - seen > self.idle_s:
                self._live.pop(sid, None)
                return False
            self._live[sid] = now
        return True

    def _token_ok(self, token):
        from flask import session

        expected = session.get("csrf")
        return bool(expected) and isinstance(token, str) and hmac.compare_digest(token, expected)

    # ------------------------------------------------------------------ login and logout

    def _login_view(self):
        from flask import redirect, request, session

        target = _local_path(request.args.get("next"))
        if request.method == "GET":
            session.setdefault("csrf", secrets.token_urlsafe(32))
            said = "You are logged out." if request.args.get("out") else ""
            return _login_page(session["csrf"], target, said), 200
        if not self._token_ok(request.form.get(CSRF_FIELD)):
            session["csrf"] = secrets.token_urlsafe(32)
            return _login_page(session["csrf"], target, "The form was too old: please try again."), 403
        address = request.remote_addr or "?"
        with self._checking:  # guesses wait for each other
            now = time.monotonic()
            with self._lock:
                failures = self._failures[address]
                while failures and now - failures[0] > self.window_s:
                    failures.popleft()
                refused = len(failures) >= self.max_failures
                wait_min = (self.window_s - (now - failures[0])) / 60 if refused else 0.0
            if refused:
                logger.warning("clinic app: login refused for %s after %d wrong passwords", address, len(failures))
                return _login_page(session["csrf"], target, f"Too many wrong passwords from this computer: try again "
                                   f"in {max(1, round(wait_min))} minutes."), 429  # fmt: skip
            ok = self.clinic.check_password(request.form.get("password", ""))
            if not ok:
                with self._lock:
                    self._failures[address].append(time.monotonic())
                time.sleep(self.fail_delay_s)
        if not ok:
            logger.warning("clinic app: a wrong password from %s", address)
            return _login_page(session["csrf"], target, "Wrong password."), 401
        with self._lock:
            self._failures.pop(address, None)
            now = time.monotonic()
            for old in [sid for sid, seen in self._live.items() if now - seen > self.idle_s]:
                del self._live[old]  # sessions left without logging out
            for old in [a for a, times in self._failures.items() if not times or now - times[-1] > self.window_s]:
                del self._failures[old]
            sid = secrets.token_urlsafe(32)
            self._live[sid] = now
        session.clear()  # a new session id and token at login: a session planted before it is of no use
        session.update(sid=sid, csrf=secrets.token_urlsafe(32))
        logger.info("clinic app: logged in from %s", address)
        return redirect(target, 303)

    def _logout_view(self):
        from flask import redirect, request, session

        if request.method == "GET":
            return _page("Log out", f"""<form method="post" action="/logout">
<input type="hidden" name="{CSRF_FIELD}" value="{html.escape(session.get('csrf', ''))}">
<p><button type="submit" id="logout">Log out</button> <a href="/">back to the app</a></p></form>""")
        with self._lock:
            self._live.pop(session.get("sid"), None)
        session.clear()
        response = redirect("/login?out=1", 303)
        response.delete_cookie(CSRF_COOKIE, path="/", samesite="Strict")
        return response


def _refuse(reason):
    from flask import make_response

    logger.warning("clinic app: refused a request: %s", reason)
    response = make_response(f"Refused: {reason}.\n", 403)
    response.mimetype = "text/plain"
    return response


def _local_host(host):
    """Whether a request's Host header names this computer (127.0.0.1, localhost or [::1], any port)."""
    name = str(host or "").rsplit(":", 1)[0] if not str(host or "").startswith("[") else str(host).split("]")[0] + "]"
    return name.lower() in ("127.0.0.1", "localhost", "[::1]")


def _same_origin(request):
    """Whether an unsafe request comes from the app's own pages: its Origin, else its Referer, names this
    app's scheme, host and port (a request with neither is judged by its token alone)."""
    own = request.host_url.rstrip("/")
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin == own
    referer = request.headers.get("Referer")
    if referer is not None:
        parts = urllib.parse.urlsplit(referer)
        return f"{parts.scheme}://{parts.netloc}" == own
    return True


def _local_path(target):
    """``target`` if it is a path of this app (``/...``, not ``//host``), else ``/``."""
    target = str(target or "/")
    if not target.startswith("/") or target.startswith("//") or "\\" in target or any(ord(c) < 32 for c in target):
        return "/"
    return target


def _page(title, body):
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>plantar clinic: {html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; margin: 2em;"><h1>plantar clinic</h1>
{body}
</body></html>"""


def _login_page(token, target, message):
    said = f'<p id="login-message" style="color: #b00">{html.escape(message)}</p>' if message else ""
    return _page("log in", f"""<form method="post" action="/login?next={html.escape(urllib.parse.quote(target, safe='/'))}">
<p><label for="password">Password</label><br>
<input type="password" id="password" name="password" autocomplete="current-password" autofocus required></p>
<input type="hidden" name="{CSRF_FIELD}" value="{html.escape(token)}">
<p><button type="submit" id="login">Log in</button></p>
</form>
{said}""")
