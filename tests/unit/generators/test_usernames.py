"""Username templates as the database and rabbitmq engines render them (sdk/helper/template)."""

from __future__ import annotations

import hashlib
import re
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from chalicelib.core.errors import BadRequest
from chalicelib.generators.gotime import go_format
from chalicelib.generators.usernames import check_template, render_username

# OpenBao's defaults, verbatim.
POSTGRES = (
    '{{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 8) (.RoleName | truncate 8) '
    "(random 20) (unix_time) | truncate 63 }}"
)
MYSQL = (
    '{{ printf "v-%s-%s-%s-%s" (.DisplayName | truncate 10) (.RoleName | truncate 10) '
    "(random 20) (unix_time) | truncate 32 }}"
)
MYSQL_LEGACY = '{{ printf "v-%s-%s-%s" (.RoleName | truncate 4) (random 20) | truncate 16 }}'
CASSANDRA = (
    '{{ printf "v_%s_%s_%s_%s" (.DisplayName | truncate 15) (.RoleName | truncate 15) '
    '(random 20) (unix_time) | truncate 100 | replace "-" "_" | lowercase }}'
)
RABBITMQ = '{{ printf "%s-%s" (.DisplayName) (uuid) }}'
OPENLDAP = "v_{{.DisplayName}}_{{.RoleName}}_{{random 10}}_{{unix_time}}"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def render(
    template: str, display_name: str = "token-ci-deploy", role_name: str = "readonly"
) -> str:
    return render_username(template, display_name=display_name, role_name=role_name)


def test_postgres_default() -> None:
    name = render(POSTGRES)
    assert re.fullmatch(r"v-token-ci-readonly-[A-Za-z0-9]{20}-\d{10}", name)
    assert len(render(POSTGRES, "d" * 90, "r" * 90)) == 8 + 8 + 20 + 10 + 5


def test_mysql_defaults_fit_mysqls_limits() -> None:
    name = render(MYSQL)
    assert len(name) == 32 and name.startswith("v-token-ci-d-readonly-")
    legacy = render(MYSQL_LEGACY)
    assert len(legacy) == 16 and legacy.startswith("v-read-")


def test_cassandra_default_lowercases_and_replaces_dashes() -> None:
    name = render(CASSANDRA, "Token-CI", "Read-Only")
    assert re.fullmatch(r"v_token_ci_read_only_[a-z0-9]{20}_\d{10}", name)


def test_rabbitmq_default() -> None:
    assert re.fullmatch(
        r"token-ci-deploy-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", render(RABBITMQ)
    )


def test_openldap_default_has_no_spaces_inside_its_actions() -> None:
    assert re.fullmatch(r"v_token-ci-deploy_readonly_[A-Za-z0-9]{10}_\d+", render(OPENLDAP))


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ .DisplayName | uppercase }}", "TOKEN-CI-DEPLOY"),
        ("{{ .RoleName | truncate 4 | uppercase | lowercase }}", "read"),
        ('{{ replace "-" "." .DisplayName }}', "token.ci.deploy"),
        ("{{ .DisplayName | truncate_sha256 12 }}", "toke" + sha256(b"n-ci-deploy")[:8]),
        ("{{ .RoleName | truncate_sha256 20 }}", "readonly"),
        ('{{ printf "%s/%s" .RoleName "x" }}', "readonly/x"),
        ("plain-{{ .RoleName }}", "plain-readonly"),
    ],
)
def test_functions_and_pipes(template: str, expected: str) -> None:
    assert render(template) == expected


def test_time_functions() -> None:
    before = int(time.time() * 1000)
    seconds, millis = render("{{ unix_time }}|{{ unix_time_millis }}").split("|")
    assert abs(int(seconds) - before // 1000) <= 2 and abs(int(millis) - before) < 2000
    stamp = render('{{ timestamp "2006-01-02T15:04:05Z07:00" }}')
    parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    assert abs(parsed.timestamp() - before / 1000) < 2


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        ("2006-01-02T15:04:05Z07:00", "2026-03-04T05:06:07Z"),
        ("20060102150405", "20260304050607"),
        ("Mon Jan _2 15:04:05 MST 2006", "Wed Mar  4 05:06:07 UTC 2026"),
        ("Monday, January 2, 06", "Wednesday, March 4, 26"),
        ("3:4:5 PM .000 .999 ,999999", "5:6:7 AM .120 .12 ,12"),
        ("002 __2 1", "063  63 3"),
        ("_2006 Janet", "_2026 Janet"),
    ],
)
def test_go_time_layouts(layout: str, expected: str) -> None:
    assert go_format(datetime(2026, 3, 4, 5, 6, 7, 120000, tzinfo=UTC), layout) == expected


def test_go_time_zone_offsets() -> None:
    moment = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone(-timedelta(hours=5, minutes=30)))
    assert go_format(moment, "Z07:00 -0700 -07 .999") == "-05:30 -0530 -05 "


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("", "unable to initialize username template: missing template"),
        ("{{ nope }}", 'unable to initialize username template: function "nope" not defined'),
        ("{{ .RoleName", "unable to initialize username template: unclosed action"),
        ("{{ (.RoleName }}", "unable to initialize username template: unclosed left paren"),
        ("{{ .RoleName | truncate 0 }}", "failed to generate username: max length must be > 0"),
        (
            "{{ .RoleName | truncate_sha256 8 }}",
            "failed to generate username: max length must be > 8",
        ),
        ("{{ .Missing }}", "failed to generate username: can't evaluate field Missing"),
        ("{{ random }}", "failed to generate username: error calling random"),
    ],
)
def test_bad_templates_are_400s(template: str, message: str) -> None:
    with pytest.raises(BadRequest) as raised:
        render(template)
    assert raised.value.status == 400 and raised.value.message.startswith(message)


def test_check_template_parses_without_rendering() -> None:
    check_template("{{ .Anything | truncate 0 }}")  # fails only when rendered
    with pytest.raises(BadRequest):
        check_template("{{ if .RoleName }}")
