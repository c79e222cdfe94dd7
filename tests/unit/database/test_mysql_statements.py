"""MySQL statement splitting (OpenBao's ParseArbitraryStringSlice) and templates that
keep a value inside its quotes."""

from __future__ import annotations

import base64
import json

from chalicelib.engines.database.plugins.mysql.statements import render, split


def test_statements_split_on_semicolons_and_drop_empty_queries() -> None:
    assert split(["CREATE USER 'a'; GRANT x ;; ", "", "  DROP USER 'b'  "]) == [
        "CREATE USER 'a'", "GRANT x", "DROP USER 'b'",
    ]  # fmt: skip


def test_a_json_list_is_taken_as_its_queries_unsplit() -> None:
    assert split([json.dumps(["SELECT ';'", "SELECT 2"])]) == ["SELECT ';'", "SELECT 2"]


def test_base64_is_decoded_first() -> None:
    encoded = base64.b64encode(b"SELECT 1; SELECT 2").decode()
    assert split([encoded]) == ["SELECT 1", "SELECT 2"]
    as_json = base64.b64encode(json.dumps(["SELECT 3"]).encode()).decode()
    assert split([as_json]) == ["SELECT 3"]


def test_values_are_filled_in_and_unknown_placeholders_stay() -> None:
    query = "CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}' -- {{other}}"
    values = {"name": "v-a", "password": "pw"}
    assert render(query, values) == "CREATE USER 'v-a'@'%' IDENTIFIED BY 'pw' -- {{other}}"


def test_a_value_cannot_leave_its_quotes() -> None:
    values = {"name": "x`y", "password": "a'b\\c\"d"}
    assert render("IDENTIFIED BY '{{password}}'", values) == "IDENTIFIED BY 'a\\'b\\\\c\"d'"
    assert render('IDENTIFIED BY "{{password}}"', values) == 'IDENTIFIED BY "a\'b\\\\c\\"d"'
    assert render("GRANT ON `{{name}}`", values) == "GRANT ON `x``y`"
    # Bare: written as a string literal (MySQL's 'user'@'host' names are strings).
    assert render("DROP USER {{password}}", values) == "DROP USER 'a\\'b\\\\c\"d'"
