"""Citus: what `migrate` does only where the target database has the citus extension (docs/citus.md).

- `present`: the extension exists in the database (the catalog decides, never a flag).
- `prepare`: before any file, as a superuser: the package's roles able to log in to the workers (Citus
  connects as the current user) and distributed objects of this database, and the database settings the
  schema relies on (sql/citus/prepare.sql). Refuses up front, one line, what the package cannot fix.
- `distribute`: after the versioned files and at the end of every run: tenants a reference table, every
  other tenant table hash-distributed by tenant_id in one colocation group (sql/citus/distribute.sql).

The SQL files render with the parameter `citus` set from the catalog, so the Citus variants of a few
functions (set_tenant's `SET LOCAL`) exist only there; on a single server the rendered text is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import psycopg
from psycopg import conninfo

from dom360db import config, sqlfiles
from dom360db.connect import connect, scalar
from dom360db.errors import Dom360Error
from dom360db.queries import named_queries, query

Progress = Callable[[str], None]


def _q(name: str) -> str:
    return query(f"citus.{name}")


def present(conn: psycopg.Connection) -> bool:
    """True when the citus extension exists in the connected database."""
    return bool(scalar(conn, _q("citus_present")))


def detect(dsn: str) -> bool:
    """Whether the target has Citus, for rendering; False when it cannot be reached (the command's own
    connection then reports why)."""
    try:
        with psycopg.connect(dsn, connect_timeout=10) as conn:
            return present(conn)
    except psycopg.Error:
        return False


def with_citus(params: Mapping[str, Any], dsn: str | None) -> dict[str, Any]:
    """The parameters with `citus` set from the target's catalog (False without a target)."""
    out = dict(params)
    out["citus"] = bool(dsn) and detect(dsn)  # type: ignore[arg-type]
    return out


def migrate_dsn(dsn: str) -> str:
    """The DSN of migrate's connection on Citus: DDL in sequential mode for the whole session (a startup option,
    so that the reset between no-transaction files keeps it). A versioned file that alters a distributed table
    and then creates one referencing the reference table (or mixes DDL on several) is refused by Citus in the
    default parallel mode ("parallel DDL access … in the same transaction")."""
    params = conninfo.conninfo_to_dict(dsn)
    params["options"] = (params.get("options", "") + " -c citus.multi_shard_modify_mode=sequential").strip()
    return conninfo.make_conninfo(**params)


def _run(conn: psycopg.Connection, path: str, params: Mapping[str, Any]) -> None:
    text, _ = sqlfiles.render(sqlfiles.environment(), path, params)
    with conn.transaction():
        for st in sqlfiles.split_statements(text):
            try:
                conn.execute(st.sql)
            except psycopg.Error as exc:
                raise Dom360Error(f"sql/{path}:{st.line}: {str(exc).splitlines()[0]}; nothing from it was applied") from exc


def prepare(dsn: str, params: Mapping[str, Any], progress: Progress = lambda s: None) -> bool:
    """On Citus: check what the package cannot fix, then prepare roles and settings. Returns whether the
    target has Citus (False: nothing done)."""
    with connect(dsn, application_name="dom360db migrate (citus)") as conn:
        if not present(conn):
            return False
        superuser, workers, version = conn.execute(_q("citus_preflight")).fetchone()  # type: ignore[misc]
        if not superuser:
            raise Dom360Error(
                "Citus: migrate must connect to the coordinator as a superuser (it creates the package's roles "
                "on every node, sets citus.enable_unsafe_triggers and citus.propagate_set_commands for this "
                "database and distributes the tables); nothing was applied")
        if workers < 1:
            raise Dom360Error(
                "Citus: the coordinator has no worker node in this database: add them first "
                "(SELECT citus_add_node(host, port) per worker); nothing was applied")
        progress(f"Citus {version}, {workers} worker(s): preparing roles and database settings")
        _run(conn, "citus/prepare.sql", params)
    return True


def distribute(conn: psycopg.Connection, params: Mapping[str, Any], progress: Progress = lambda s: None) -> None:
    """Distribute every tenant table not distributed yet (idempotent)."""
    _run(conn, "citus/drop_foreign_keys.sql", params)
    _run(conn, "citus/distribute.sql", params)


def doctor(conn: psycopg.Connection, params: Mapping[str, Any]) -> list[Any]:
    """Doctor's Citus checks (sql/queries/citus_doctor.sql) as findings."""
    from dom360db.doctor import Finding

    out: list[Finding] = []
    for name, text in named_queries("citus_doctor").items():
        out += [Finding(name, *row) for row in conn.execute(text, dict(params)).fetchall()]
    return out


def finish(conn: psycopg.Connection, params: Mapping[str, Any]) -> None:
    """At the end of every run: distribute what is left, then the shard-level grants (sql/citus/shard_grants.sql)."""
    distribute(conn, params)
    _run(conn, "citus/shard_grants.sql", params)


def isolate(dsn: str, slug: str, progress: Progress = lambda s: None) -> tuple[int, str, int]:
    """Give tenant SLUG shards of its own in every tenant table (isolate_tenant_to_new_shard … CASCADE);
    returns (shard id of its dom360.users shard, node host, node port). Idempotent: an isolated tenant is left
    as it is."""
    with connect(dsn, application_name="dom360db tenant isolate", autocommit=True) as conn:
        if not present(conn):
            raise Dom360Error("tenant isolate: this database has no citus extension (it is for Citus clusters)")
        row = conn.execute(_q("citus_tenant_by_slug"), {"slug": slug}).fetchone()
        if row is None:
            raise Dom360Error(f"tenant isolate: no tenant with slug {slug!r}")
        tenant = row[0]
        shard = conn.execute(_q("citus_tenant_shard"), {"tenant": tenant}).fetchone()
        if shard is not None and shard[3]:
            progress(f"tenant {slug!r} already has shards of its own")
            return int(shard[0]), str(shard[1]), int(shard[2])
        progress(f"isolating tenant {slug!r} ({tenant}): copying its rows to new shards (its writes wait meanwhile)")
        try:
            conn.execute(_q("citus_isolate"), {"tenant": tenant})
        except psycopg.Error as exc:
            raise Dom360Error(f"tenant isolate: {str(exc).splitlines()[0]}") from exc
        _run(conn, "citus/shard_grants.sql", config.DEFAULTS | {"citus": True})  # the new shards have the shell's
        shardid, host, port, _ = conn.execute(_q("citus_tenant_shard"), {"tenant": tenant}).fetchone()  # type: ignore[misc]
        return int(shardid), str(host), int(port)


def isolated_text(slug: str, shardid: int, host: str, port: int) -> str:
    """`tenant isolate`: where the tenant's shard is now, and the statement that moves it to another node."""
    return (f"tenant {slug!r}: shard {shardid} of dom360.users (and its colocated shards) on {host}:{port}\n"
            f"move it: SELECT citus_move_shard_placement({shardid}, '{host}', {port}, '<host>', <port>, "
            "shard_transfer_mode => 'block_writes');")
