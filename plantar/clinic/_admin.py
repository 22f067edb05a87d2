"""The clinic's settings for the clinic app: its password, its session secret, its mats, complete steps.

The password is never stored: its scrypt hash is (a slow, salted, memory-hard key
derivation of the standard library), with the salt and the cost parameters beside
it, so that a later plantar can raise the cost and still check older hashes.
Setting a password also draws a new session secret, so that sessions signed
with the old one end. Mats are stored by name, with their port (or the virtual
mat), protocol and calibration file (checked by :func:`plantar.calibration.load`
when added).
"""

import datetime
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..utils import logger
from ._models import Mat, Setting

#: scrypt's cost parameters for new hashes: 2**15 x 8 x 128 bytes = 32 MiB of memory, about 0.1 s.
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_DKLEN = 2**15, 8, 1, 32
#: The most memory a stored hash may ask scrypt for (a larger cost is refused, not computed).
SCRYPT_MAXMEM = 256 * 2**20
#: A password's length, in characters.
PASSWORD_CHARS = (8, 1024)
#: The virtual mat's port name (the demo walker on a simulated, bench-calibrated mat).
VIRTUAL_PORT = "virtual"
#: The largest number of complete steps per side a protocol may ask for.
MAX_COMPLETE_STEPS = 50

_PASSWORD = "app_password"
_SECRET = "app_session_secret"
_STEPS = "complete_steps"


def hash_password(password, *, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P):
    """Hash a password with scrypt and a new random salt.

    Parameters
    ----------
    password : str
        The password.
    n, r, p : int
        scrypt's cost parameters (CPU/memory cost, block size, parallelism).

    Returns
    -------
    stored : str
        JSON with ``kdf`` (``"scrypt"``), ``n``, ``r``, ``p``, ``salt`` and
        ``hash`` (hex): what :func:`verify_password` needs, and no password.

    Examples
    --------
    >>> from plantar.clinic._admin import hash_password, verify_password
    >>> stored = hash_password("correct horse", n=2**10)
    >>> "correct horse" in stored, verify_password("correct horse", stored), verify_password("wrong", stored)
    (False, True, False)
    """
    salt = os.urandom(16)
    digest = hashlib.scrypt(str(password).encode("utf-8"), salt=salt, n=int(n), r=int(r), p=int(p),
                            maxmem=SCRYPT_MAXMEM, dklen=SCRYPT_DKLEN)  # fmt: skip
    return json.dumps({"kdf": "scrypt", "n": int(n), "r": int(r), "p": int(p), "salt": salt.hex(),
                       "hash": digest.hex()})  # fmt: skip


def verify_password(password, stored):
    """Whether a password matches a hash made by :func:`hash_password` (in constant time).

    Parameters
    ----------
    password : str
        The password to check.
    stored : str
        What :func:`hash_password` returned.

    Returns
    -------
    ok : bool
        True if it matches; False if not, or if ``stored`` is not a hash this
        function knows (never an exception).

    Examples
    --------
    >>> from plantar.clinic._admin import hash_password, verify_password
    >>> verify_password("secret words", hash_password("secret words", n=2**10))
    True
    >>> verify_password("secret words", "not a hash")
    False
    """
    try:
        fields = json.loads(stored)
        if fields.get("kdf") != "scrypt":
            return False
        n, r, p = int(fields["n"]), int(fields["r"]), int(fields["p"])
        salt, expected = bytes.fromhex(fields["salt"]), bytes.fromhex(fields["hash"])
        if 128 * n * r * p > SCRYPT_MAXMEM:  # a hash asking for more than that is not one of ours
            return False
        digest = hashlib.scrypt(str(password).encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=SCRYPT_MAXMEM,
                                dklen=len(expected))  # fmt: skip
    except (ValueError, TypeError, KeyError, AttributeError):
        return False
    return hmac.compare_digest(digest, expected)


class AppSettings:
    """The clinic app's settings of a :class:`~plantar.clinic.Clinic`: password, session secret, mats, steps."""

    # ----------------------------------------------------------------------------
    # the app's password

    def set_password(self, password):
        """Set (or change) the password of the clinic app; sessions of the old password end.

        Parameters
        ----------
        password : str
            8 to 1024 characters. Only its scrypt hash is stored (see
            :func:`plantar.clinic._admin.hash_password`).

        Raises
        ------
        ClinicError
            If the password is too short or too long.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from plantar.clinic import Clinic
        >>> clinic = Clinic.init(Path(tempfile.mkdtemp()) / "clinic")
        >>> clinic.has_password()
        False
        >>> clinic.set_password("a long clinic password")
        >>> clinic.has_password(), clinic.check_password("a long clinic password"), clinic.check_password("guess")
        (True, True, False)
        >>> clinic.close()
        """
        from ._store import ClinicError

        password = str(password)
        low, high = PASSWORD_CHARS
        if not low <= len(password) <= high:
            raise ClinicError(f"clinic '{self.folder}': the app's password must have {low} to {high} characters, "
                              f"got {len(password)}")  # fmt: skip
        self._put_settings({_PASSWORD: hash_password(password), _SECRET: secrets.token_hex(32)})
        logger.info("clinic '%s': the app's password was set", self.folder)

    def remove_password(self):
        """Remove the app's password: the app then serves 127.0.0.1 only, without a login.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from plantar.clinic import Clinic
        >>> clinic = Clinic.init(Path(tempfile.mkdtemp()) / "clinic")
        >>> clinic.set_password("a long clinic password"); clinic.remove_password(); clinic.has_password()
        False
        >>> clinic.close()
        """
        with Session(self._writer) as session, session.begin():
            session.execute(sa.delete(Setting).where(Setting.key.in_((_PASSWORD, _SECRET))))
        logger.info("clinic '%s': the app's password was removed", self.folder)

    def has_password(self):
        """Whether the clinic app has a password.

        Returns
        -------
        set : bool

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from plantar.clinic import Clinic
        >>> with Clinic.init(Path(tempfile.mkdtemp()) / "clinic") as clinic:
        ...     clinic.has_password()
        False
        """
        return self._get_setting(_PASSWORD) is not None

    def check_password(self, password):
        """Whether ``password`` is the app's password (False when none is set).

        Parameters
        ----------
        password : str
            The password to check (it takes about 0.1 s: the hash is slow on purpose).

        Returns
        -------
        ok : bool

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from plantar.clinic import Clinic
        >>> with Clinic.init(Path(tempfile.mkdtemp()) / "clinic") as clinic:
        ...     clinic.set_password("a long clinic password")
        ...     clinic.check_password("a long clinic password"), clinic.check_password("")
        (True, False)
        """
        stored = self._get_setting(_PASSWORD)
        return stored is not None and verify_password(password, stored)

    def app_secret(self):
        """The secret that signs the app's session cookies: drawn at random once per clinic and kept in its database.

        Returns
        -------
        secret : bytes
            32 random bytes; a new one after each :meth:`set_password`.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from plantar.clinic import Clinic
        >>> with Clinic.init(Path(tempfile.mkdtemp()) / "clinic") as clinic:
        ...     first = clinic.app_secret()
        ...     len(first), clinic.app_secret() == first
        (32, True)
        """
        stored = self._get_setting(_SECRET)
        if stored is None:
            try:
                with Session(self._writer) as session, session.begin():
                    if session.get(Setting, _SECRET) is None:
                        session.add(Setting(key=_SECRET, value=json.dumps(secrets.token_hex(32))))
            except sa.exc.IntegrityError:  # drawn by another process meanwhile
                pass
            stored = self._get_setting(_SECRET)
        return bytes.fromhex(json.loads(stored))

    # ----------------------------------------------------------------------------
    # the protocol's complete steps

    def complete_steps(self):
        """Complete steps per side a walk needs before the app says "repeat this walk" (default 3).

        Returns
        -------
        steps : int

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from plantar.clinic import Clinic
        >>> with Clinic.init(Path(tempfile.mkdtemp()) / "clinic") as clinic:
        ...     before = clinic.complete_steps()
        ...     clinic.set_complete_steps(4)
        ...     before, clinic.complete_steps()
        (3, 4)
        """
        from ..app._quality import MIN_COMPLETE_STEPS

        stored = self._get_setting(_STEPS)
        return MIN_COMPLETE_STEPS if stored is None else int(json.loads(stored))

    def set_complete_steps(self, steps):
        """Set the complete steps per side a walk needs (1 to 50).

        Parameters
        ----------
        steps : int
            Complete steps per side; fewer on either side and the app says
            "repeat this walk".

        Raises
        ------
        ClinicError
            If ``steps`` is not a whole number from 1 to 50.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from plantar.clinic import Clinic
        >>> with Clinic.init(Path(tempfile.mkdtemp()) / "clinic") as clinic:
        ...     clinic.set_complete_steps(5); clinic.complete_steps()
        5
        """
        from ._store import ClinicError

        try:
            value = int(steps)
            whole = value == float(steps)
        except (TypeError, ValueError):
            whole = False
        if not whole or not 1 <= value <= MAX_COMPLETE_STEPS:
            raise ClinicError(f"clinic '{self.folder}': complete steps per side must be a whole number from 1 to "
                              f"{MAX_COMPLETE_STEPS}, got {steps!r}")  # fmt: skip
        self._put_settings({_STEPS: value}, encode=True)

    # ----------------------------------------------------------------------------
    # mats

    def add_mat(self, name, *, port, protocol="pmat1", calibration=None):
        """Add a mat the clinic uses, under a name; its calibration file is checked first.

        Parameters
        ----------
        name : str
            What the clinic calls the mat (1 to 100 characters), e.g. ``"walkway room 2"``.
        port : str
            Its serial port (see :func:`plantar.drivers.list_ports`), a
            ``socket://`` or ``rfc2217://`` URL, or ``"virtual"`` for the
            virtual mat (the demo walker, bench-calibrated: no calibration file).
        protocol : str
            Its wire format, one of :data:`plantar.drivers.PROTOCOLS`.
        calibration : str | os.PathLike | None
            Its calibration file (``.pmcal.nc``), read with
            :func:`plantar.calibration.load`; kept as an absolute path. Without
            one a port mat shows a live view but its recordings cannot be stored.

        Returns
        -------
        mat : dict
            See :meth:`mats`.

        Raises
        ------
        ClinicError
            If the name is empty, too long, holds control characters or is
            taken, the port is empty, or the protocol is unknown.
        plantar.io.FileFormatError
            If the calibration file is not a calibration (from
            :func:`plantar.calibration.load`); FileNotFoundError if it is missing.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from plantar.clinic import Clinic
        >>> with Clinic.init(Path(tempfile.mkdtemp()) / "clinic") as clinic:
        ...     _ = clinic.add_mat("demo mat", port="virtual")
        ...     [(m["name"], m["port"], m["protocol"]) for m in clinic.mats()]
        [('demo mat', 'virtual', 'pmat1')]
        """
        from ..drivers import PROTOCOLS
        from ._store import ClinicError

        raw = "" if name is None else str(name)
        name = raw.strip()
        if not 1 <= len(name) <= 100 or any(ord(c) < 32 or ord(c) == 127 for c in raw):
            raise ClinicError(f"clinic '{self.folder}': a mat's name has 1 to 100 characters (no control "
                              f"characters), got {raw[:120]!r}")  # fmt: skip
        port = str(port or "").strip()
        if not port or any(ord(c) < 32 for c in port):
            raise ClinicError(f"clinic '{self.folder}', mat {name!r}: give its port (see 'plantar devices') or "
                              f"'{VIRTUAL_PORT}'")  # fmt: skip
        if protocol not in PROTOCOLS:
            raise ClinicError(f"clinic '{self.folder}', mat {name!r}: protocol must be one of {tuple(PROTOCOLS)}, "
                              f"got {protocol!r}")  # fmt: skip
        path, calibration_id = "", ""
        if calibration is not None and str(calibration).strip():
            from .. import calibration as _calibration

            resolved = Path(os.fspath(calibration)).expanduser().resolve()
            cal = _calibration.load(resolved)
            path, calibration_id = str(resolved), str(cal.attrs.get("calibration_id", ""))
        row = Mat(name=name, port=port, protocol=protocol, calibration=path, calibration_id=calibration_id)
        try:
            with Session(self._writer, expire_on_commit=False) as session, session.begin():
                if session.scalar(sa.select(Mat.id).where(Mat.name == name)) is not None:
                    raise ClinicError(f"clinic '{self.folder}': a mat named {name!r} exists already")
                session.add(row)
        except sa.exc.IntegrityError:
            raise ClinicError(f"clinic '{self.folder}': a mat named {name!r} exists already") from None
        logger.info("clinic '%s': added mat %r on %s (%s)", self.folder, name, port, protocol)
        return _mat_dict(row)

    def mats(self):
        """The clinic's mats, by name.

        Returns
        -------
        mats : list of dict
            ``name``, ``port`` (``"virtual"`` for the virtual mat), ``protocol``,
            ``calibration`` (absolute path, or ``""``), ``calibration_id`` and
            ``added_utc``.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from plantar.clinic import Clinic
        >>> with Clinic.init(Path(tempfile.mkdtemp()) / "clinic") as clinic:
        ...     clinic.mats()
        []
        """
        with Session(self._engine) as session:
            return [_mat_dict(m) for m in session.scalars(sa.select(Mat).order_by(Mat.name))]

    def remove_mat(self, name):
        """Remove a mat from the clinic's list (its recordings stay).

        Parameters
        ----------
        name : str
            The mat's name.

        Raises
        ------
        ClinicError
            If there is no such mat.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from plantar.clinic import Clinic
        >>> with Clinic.init(Path(tempfile.mkdtemp()) / "clinic") as clinic:
        ...     _ = clinic.add_mat("demo mat", port="virtual"); clinic.remove_mat("demo mat"); clinic.mats()
        []
        """
        from ._store import ClinicError

        with Session(self._writer) as session, session.begin():
            removed = session.execute(sa.delete(Mat).where(Mat.name == str(name))).rowcount
        if not removed:
            raise ClinicError(f"clinic '{self.folder}': there is no mat named {str(name)!r}")
        logger.info("clinic '%s': removed mat %r", self.folder, str(name))

    # ----------------------------------------------------------------------------

    def _get_setting(self, key):
        with Session(self._engine) as session:
            return session.scalar(sa.select(Setting.value).where(Setting.key == key))

    def _put_settings(self, values, *, encode=False):
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        for attempt in (1, 2):  # a second try if another process inserted the same key meanwhile
            try:
                with Session(self._writer) as session, session.begin():
                    for key, value in values.items():
                        text = json.dumps(value) if encode or key == _SECRET else value
                        row = session.get(Setting, key)
                        if row is None:
                            session.add(Setting(key=key, value=text, changed_utc=now))
                        else:
                            row.value, row.changed_utc = text, now
                return
            except sa.exc.IntegrityError:
                if attempt == 2:
                    raise


def _mat_dict(mat):
    return {"name": mat.name, "port": mat.port, "protocol": mat.protocol, "calibration": mat.calibration,
            "calibration_id": mat.calibration_id, "added_utc": mat.added_utc}  # fmt: skip
