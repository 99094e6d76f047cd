-- name: usage --
-- The app login reads the lookup tables of the pgbench scripts…
GRANT USAGE ON SCHEMA {twin} TO {app}

-- name: select --
-- … all of them,
GRANT SELECT ON ALL TABLES IN SCHEMA {twin} TO {app}

-- name: not_the_twin --
-- … but not the twin, which only (a) writes, as the superuser.
REVOKE ALL ON {twin}.messages FROM {app}
