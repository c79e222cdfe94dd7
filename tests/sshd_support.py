"""A real OpenSSH server for the ssh engine's CA tests (Debian's openssh-server).

Each sshd runs in the foreground (`sshd -D -e`) on a free loopback port with its own host
key, config, pid file and log in a temporary folder, and logs in only with certificates:
no authorized_keys, no passwords, users' keys trusted only when signed by a CA listed in
its TrustedUserCAKeys file. sshd reads that file at each login, so a test swaps the
trusted CAs with `Sshd.trust` and one sshd serves a whole module; a host certificate is
read once at start, so tests of host certificates start their own (`running_sshd`).

Logins go to `LOGIN_USER`, an unprivileged local account made on first use
(`useradd --create-home --password '*'`; left in place, so the next run finds it). Its
password field is `*`, no password matches it, and sshd without PAM only refuses accounts
locked with `!`, which is what a plain `useradd` would write. Making it needs root, as
sshd does (it drops privileges to the user after login). `scripts/test-deps.sh` installs
openssh-server; the tests fail, never skip, without it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import free_port

SSHD = "/usr/sbin/sshd"
# sshd refuses to start without its privilege-separation directory (root-owned, 0755).
PRIVSEP_DIR = Path("/run/sshd")
LOGIN_USER = "lvssh"
HOST_KEY = "ssh_host_ed25519_key"
FIX = "run scripts/test-deps.sh as root (it installs openssh-server and openssh-client)"


@dataclass
class Sshd:
    """A running sshd: its port, its files, and logins into it."""

    home: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def log(self) -> Path:
        return self.home / "sshd.log"

    @property
    def host_public_key(self) -> str:
        return host_public_key(self.home)

    def trust(self, *ca_public_keys: str) -> None:
        """Make these CAs' keys (OpenSSH one-line format) the only ones trusted to sign
        user certificates; read by sshd at the next login."""
        lines = "".join(key.strip() + "\n" for key in ca_public_keys)
        (self.home / "trusted_user_ca_keys").write_text(lines)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def login(self, identity: Path, *, user: str = LOGIN_USER, certificate: Path | None = None,
              known_hosts: Path | None = None, host_alias: str | None = None,
              ) -> subprocess.CompletedProcess[str]:  # fmt: skip
        """`ssh ... user@127.0.0.1 echo ok` with the private key ``identity`` and its
        certificate (``identity``-cert.pub unless given). Without ``known_hosts`` any host
        key is accepted; with it, only what it vouches for (StrictHostKeyChecking=yes)."""
        certificate = certificate or certificate_path(identity)
        if known_hosts is None:
            checking = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
        else:
            checking = ["-o", "StrictHostKeyChecking=yes",
                        "-o", f"UserKnownHostsFile={known_hosts}"]  # fmt: skip
        if host_alias:
            checking += ["-o", f"HostKeyAlias={host_alias}"]
        command = [
            "ssh", "-F", "/dev/null", "-i", str(identity),
            "-o", f"CertificateFile={certificate}", "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes", "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "ConnectTimeout=10", *checking,
            "-p", str(self.port), f"{user}@127.0.0.1", "echo", "ok",
        ]  # fmt: skip
        return subprocess.run(command, capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL, env=client_env(identity.parent),
                              check=False)  # fmt: skip

    def assert_logs_in(self, identity: Path, **options: Any) -> None:
        done = self.login(identity, **options)
        assert (done.returncode, done.stdout) == (0, "ok\n"), (done, self.log_text())

    def assert_refused(self, identity: Path, reason: str, **options: Any) -> str:
        """The login fails; ``reason`` (the cause as sshd or ssh words it) is in sshd's log
        or ssh's stderr. Returns what both said about this login."""
        mark = len(self.log_text())
        done = self.login(identity, **options)
        assert done.returncode == 255 and done.stdout == "", done
        # sshd's monitor may write a login's last lines just after the client hears "no".
        deadline = time.monotonic() + 5
        while reason not in (said := self.log_text()[mark:] + done.stderr):
            if time.monotonic() > deadline:
                raise AssertionError(f"{reason!r} not in: {said}")
            time.sleep(0.05)
        return said


def client_env(home: Path) -> dict[str, str]:
    """An environment for `ssh` (and `bao ssh`) that reads no user's ~/.ssh and no agent."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SSH_", "VAULT_", "BAO_"))}  # fmt: skip
    env["HOME"] = str(home)
    return env


def fingerprint(key: str) -> str:
    """``SHA256:...`` of an OpenSSH public key line, as sshd logs CAs and keys."""
    blob = base64.b64decode(key.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def new_key(directory: Path, name: str = "id_ed25519", kind: tuple[str, ...] = ("ed25519",),
            ) -> Path:  # fmt: skip
    """A fresh key pair without passphrase, ``kind`` as ssh-keygen's ``-t`` (and ``-b``)
    arguments: the private key's path (``.pub`` beside)."""
    path = directory / name
    kind_args = ["-t", kind[0], *(["-b", kind[1]] if len(kind) > 1 else [])]
    subprocess.run(["ssh-keygen", "-q", *kind_args, "-N", "", "-C", name, "-f", str(path)],
                   check=True, capture_output=True, timeout=30)  # fmt: skip
    return path


def public_key(identity: Path) -> str:
    return Path(f"{identity}.pub").read_text()


def certificate_path(identity: Path) -> Path:
    """Where ssh looks for ``identity``'s certificate: ``<identity>-cert.pub``."""
    return Path(f"{identity}-cert.pub")


def save_certificate(identity: Path, signed_key: str) -> Path:
    path = certificate_path(identity)
    path.write_text(signed_key.strip() + "\n")
    return path


def host_public_key(home: Path) -> str:
    """The public half of the host key sshd in ``home`` uses (made on first use)."""
    key = home / HOST_KEY
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "lambdavault-test",
                        "-f", str(key)], check=True, capture_output=True, timeout=30)  # fmt: skip
    return Path(f"{key}.pub").read_text()


def ensure_login_user() -> None:
    """Make `LOGIN_USER` if it is missing (see the module's docstring)."""
    if _user_exists():
        return
    if os.geteuid() != 0:
        pytest.fail(f"the local user {LOGIN_USER!r} is missing and only root can add it "
                    "(the ssh tests run sshd, which needs root too)")  # fmt: skip
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"  # sbin may be off PATH
    done = subprocess.run(
        [useradd, "--create-home", "--shell", "/bin/sh", "--password", "*", LOGIN_USER],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    # Another pytest-xdist worker may have added it meanwhile: its existence is what counts.
    if not _user_exists():
        pytest.fail(f"useradd {LOGIN_USER} failed: {done.stderr}")


def _user_exists() -> bool:
    try:
        pwd.getpwnam(LOGIN_USER)
    except KeyError:
        return False
    return True


def start_sshd(home: Path, host_certificate: str | None = None) -> Sshd:
    """An sshd serving from ``home`` (host key made there if missing), trusting no CA yet;
    ``host_certificate``: a certificate of its host key to present to clients."""
    if not Path(SSHD).is_file():
        pytest.fail(f"{SSHD} is not installed: {FIX}")
    if shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        pytest.fail(f"ssh or ssh-keygen is not installed: {FIX}")
    ensure_login_user()
    PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
    host_public_key(home)
    port = free_port()
    (home / "trusted_user_ca_keys").write_text("")
    config = home / "sshd_config"
    config.write_text(_sshd_config(home, port, host_certificate))
    with (home / "sshd.log").open("wb") as log:
        # -D: stay in the foreground, owned by this process; -e: log to stderr (the log file).
        process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)],
                                   stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    sshd = Sshd(home, port, process)
    try:
        _wait_ready(sshd)
    except BaseException:
        stop_sshd(sshd)
        raise
    return sshd


def _sshd_config(home: Path, port: int, host_certificate: str | None) -> str:
    lines = [
        f"ListenAddress 127.0.0.1:{port}",
        f"HostKey {home / HOST_KEY}",
        f"PidFile {home / 'sshd.pid'}",
        f"TrustedUserCAKeys {home / 'trusted_user_ca_keys'}",
        # Certificates are the only way in: no key list, no passwords, no PAM.
        "AuthorizedKeysFile none",
        "AuthenticationMethods publickey",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "PermitRootLogin no",
        f"AllowUsers {LOGIN_USER}",
        # The user's home may be group-writable where useradd's umask says so.
        "StrictModes no",
        # VERBOSE logs each accepted or refused certificate and why.
        "LogLevel VERBOSE",
    ]
    if host_certificate:
        path = home / f"{HOST_KEY}-cert.pub"
        path.write_text(host_certificate.strip() + "\n")
        lines.append(f"HostCertificate {path}")
    return "\n".join(lines) + "\n"


def _wait_ready(sshd: Sshd) -> None:
    """Until sshd sends its version banner (`SSH-2.0-...`), at most 15 s."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if sshd.process.poll() is not None:
            pytest.fail(f"sshd exited with {sshd.process.returncode}: {sshd.log_text()}")
        try:
            with socket.create_connection(("127.0.0.1", sshd.port), timeout=2) as sock:
                if sock.recv(64).startswith(b"SSH-2.0-"):
                    return
        except OSError:  # not listening yet
            time.sleep(0.05)
    pytest.fail(f"sshd did not start in 15 s: {sshd.log_text()}")


def stop_sshd(sshd: Sshd) -> None:
    sshd.process.terminate()
    try:
        sshd.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        sshd.process.kill()
        sshd.process.wait()


@contextmanager
def running_sshd(home: Path, host_certificate: str | None = None) -> Iterator[Sshd]:
    """`start_sshd`, stopped on exit."""
    sshd = start_sshd(home, host_certificate)
    try:
        yield sshd
    finally:
        stop_sshd(sshd)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    """One sshd for the module, without a host certificate; tests set the trusted CAs."""
    with running_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server
