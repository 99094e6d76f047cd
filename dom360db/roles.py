"""`dom360db roles`: the cluster-wide group roles, created before a restore into a new cluster.

Roles belong to the cluster, not to a database, so `pg_dump` of a dom360 database does not carry them
and `pg_restore` into a new cluster fails on every `OWNER TO` and `GRANT` until they exist. This creates
them exactly as `schema/0001_roles.sql` does (NOLOGIN, none of SUPERUSER, BYPASSRLS, CREATEROLE,
CREATEDB, REPLICATION), plus the backup role: NOLOGIN, BYPASSRLS (a complete `pg_dump` must read every
tenant's rows: row-level security is forced on every table) and a member of `pg_read_all_data`, and
nothing else: it cannot write, create or change roles. Login roles stay yours to create and grant.
Idempotent; an existing role is left as it is (`dom360db doctor` reports a wrong attribute).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg import sql

from dom360db.connect import scalar
from dom360db.errors import Dom360Error

COMMENTS = {
    "owner_role": "dom360: owns the objects of schema dom360. NOLOGIN; migrations act as it.",
    "app_role": "dom360: backend runtime role. Sees only the tenant set by dom360.set_tenant() in the current transaction.",
    "analytics_role": "dom360: read-only, cross-tenant role for BI. Never grant it together with the app role to one login.",
    "backup_role": "dom360: backups (pg_dump --role=this role). NOLOGIN, BYPASSRLS, member of pg_read_all_data; writes nothing.",
}


def ensure(conn: psycopg.Connection, params: Mapping[str, Any]) -> list[str]:
    """Create the missing group roles (autocommit connection); return one line per role created."""
    superuser = scalar(conn, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    if not superuser:
        raise Dom360Error("dom360db roles needs a superuser (the backup role has BYPASSRLS, which only a superuser grants)")
    done: list[str] = []
    for key, comment in COMMENTS.items():
        name = sql.Identifier(params[key])
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [params[key]]).fetchone():
            continue
        with conn.transaction():
            if key == "backup_role":
                conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN BYPASSRLS IN ROLE pg_read_all_data").format(name))
            else:
                conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(name))
            conn.execute(sql.SQL("COMMENT ON ROLE {} IS {}").format(name, sql.Literal(comment)))
        done.append(f"created role {params[key]}")
    return done
