-- pgcrypto: encryption helpers (pgp_sym_encrypt) and random bytes. gen_random_uuid() is built in (PG 13+).
-- Installed in schema public when missing; the functions that use it call it schema-qualified.
CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA public;

-- No role may create objects in public (PostgreSQL 15 already defaults to this; older clusters upgraded
-- in place may not).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
