"""Mutants of the defences against a hostile app login (issue #16, docs/security.md), for `make mutation`.

Each undoes one defence in the migrated template (`DOM360_MUTATION=defence.<name>`); the tests in
DEFENCE_SUITE must then fail. Database-level privileges are not copied to the clones, so the TEMP mutant
breaks `dom360.secure_database()`, which the `db` fixture (like `migrate`) runs on every clone.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from support import scalar

#: Tests that must kill every defence mutant.
DEFENCE_SUITE = ["tests/test_hostile.py", "tests/test_partitions.py"]


@dataclass(frozen=True)
class Rewrite:
    """Re-create a function from its own definition with some text replaced."""

    function: str
    replace: tuple[tuple[str, str], ...]


def unqualify(function: str, *types: str) -> Rewrite:
    return Rewrite(function, tuple((f"pg_catalog.{t}", t) for t in types))


DEFENCES: dict[str, str | Rewrite] = {
    "temp_granted": "CREATE OR REPLACE FUNCTION dom360.secure_database() RETURNS boolean LANGUAGE sql AS 'SELECT true'",
    "unqualified_current_tenant_id": unqualify("dom360.current_tenant_id()", "uuid", "text"),
    "unqualified_append_message": unqualify(
        "dom360.append_message(uuid, text, text, integer, integer, jsonb, jsonb, text)", "uuid", "timestamptz"),
    "unqualified_set_tenant": unqualify("dom360.set_tenant(uuid)", "text"),
    "message_id_insert": "GRANT INSERT (id) ON dom360.messages TO dom360_app",
    "table_update": "GRANT UPDATE ON dom360.account_vars TO dom360_app",
    "table_delete": "GRANT DELETE ON dom360.conversations TO dom360_app",
    "maintenance_lock_for_app": "GRANT UPDATE ON dom360.maintenance_lock TO dom360_app",
    "unbounded_parked_months": Rewrite("dom360.missing_month_partitions(regclass, integer)",
                                       (("LIMIT 12", "LIMIT ALL"),)),
    "unbounded_partition_locks": Rewrite("dom360.ensure_month_partitions(regclass, integer)",
                                         (("PERFORM set_config('lock_timeout', v_timeout, true);", ""),)),
    "extension_in_public": "ALTER EXTENSION btree_gist SET SCHEMA public",
}


def apply(dsn: str, mutation: str) -> None:
    """Apply `defence.<name>` to the database at `dsn` (as a superuser)."""
    mutant = DEFENCES[mutation.removeprefix("defence.")]
    with psycopg.connect(dsn, autocommit=True) as c:
        if isinstance(mutant, str):
            c.execute(sql.SQL(mutant))  # type: ignore[arg-type]
            return
        text = scalar(c, "SELECT pg_get_functiondef(%s::regprocedure)", [mutant.function])
        for old, new in mutant.replace:
            if old not in text:
                raise RuntimeError(f"{mutation}: {old!r} is not in {mutant.function}: update the mutant")
            text = text.replace(old, new)
        c.execute(sql.SQL(text))  # type: ignore[arg-type]
