"""Rendering and statement splitting: pure functions, no server."""

from __future__ import annotations

import pytest

from dom360db import config, sqlfiles
from dom360db.errors import Dom360Error


def test_split_keeps_semicolons_inside_strings_comments_and_bodies() -> None:
    text = (
        "-- dom360:no-transaction\n"
        "create table a(x int); -- trailing; comment\n"
        "/* block; /* nested; */ still; */\n"
        "create function f() returns int language plpgsql as $fn$ begin return 1; end $fn$;\n"
        "select 'a;b', E'it\\'s;', \"we;ird\", $$;$$;\n"
        "select 1"
    )
    got = [(s.line, s.sql) for s in sqlfiles.split_statements(text)]
    assert got == [
        (2, "create table a(x int);"),
        (4, "create function f() returns int language plpgsql as $fn$ begin return 1; end $fn$;"),
        (5, "select 'a;b', E'it\\'s;', \"we;ird\", $$;$$;"),
        (6, "select 1"),
    ]


def test_split_drops_comment_only_statements() -> None:
    assert sqlfiles.split_statements("-- only a comment\n;\n/* and this */;") == []


def test_every_file_renders_with_defaults_and_lists_its_parameters() -> None:
    files = sqlfiles.load(config.DEFAULTS)
    versioned = [f for f in files if f.kind == "versioned"]
    assert [f.version for f in versioned] == sorted(f.version for f in versioned)
    roles = next(f for f in files if f.path == "schema/0001_roles.sql")
    assert roles.params == {k: config.DEFAULTS[k] for k in ("analytics_role", "app_role", "owner_role")}
    # parameters used only inside an imported macro are recorded too
    policy = next(f for f in files if f.path == "policies/users.sql")
    assert {"app_role", "analytics_role"} <= set(policy.params)


def test_checksum_follows_the_rendered_text() -> None:
    a = {f.path: f.checksum for f in sqlfiles.load(config.DEFAULTS)}
    b = {f.path: f.checksum for f in sqlfiles.load({**config.DEFAULTS, "analytics_role": "bi_reader"})}
    changed = {p for p in a if a[p] != b[p]}
    assert "schema/0001_roles.sql" in changed and "policies/users.sql" in changed
    assert "schema/0005_tenants.sql" not in changed


def test_role_parameters_are_validated() -> None:
    with pytest.raises(Dom360Error, match="app_role"):
        config.load_params(None, ["app_role=Robert'); DROP TABLE students;--"])
    with pytest.raises(Dom360Error, match="unknown parameter"):
        config.load_params(None, ["no_such_param=1"])


def test_config_file_then_overrides(tmp_path) -> None:
    cfg = tmp_path / "dom360db.toml"
    cfg.write_text("[params]\nmonths_ahead = 6\nowner_role = 'acme_owner'\n")
    params = config.load_params(cfg, ["months_ahead=2"])
    assert params["months_ahead"] == 2 and params["owner_role"] == "acme_owner"
