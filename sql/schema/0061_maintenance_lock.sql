-- The lock `dom360db maintain` holds while it runs (dom360db/runlock.py). It used an advisory lock, which any
-- role may take: an app login that took the key first made every maintain skip its work and exit 0 (issue #16).
-- LOCK TABLE needs privileges on the relation, and this view grants none to anyone: only its owner (the owner
-- role, so its members can run maintain) and superusers can lock it. A view with no table under it: locking it
-- locks nothing else, and it holds no data (doctor's tenant-table checks concern tables).
SET LOCAL ROLE {{ owner_role | ident }};

CREATE VIEW dom360.maintenance_lock AS SELECT NULL::pg_catalog.text AS nothing WHERE false;

COMMENT ON VIEW dom360.maintenance_lock IS 'Not data: `dom360db maintain` holds LOCK TABLE … IN EXCLUSIVE MODE on it while it runs. Only the owner role and superusers may lock it (no privilege for anyone else), so no app login can silence maintenance.';

REVOKE ALL ON dom360.maintenance_lock FROM PUBLIC, {{ app_role | ident }}, {{ analytics_role | ident }};
