-- Roles of dom360 (cluster-wide, NOLOGIN group roles; login roles are granted them):
--   {{ owner_role }}      owns every object of the schema; not a superuser, no BYPASSRLS.
--   {{ app_role }}        the backend's runtime role: no superuser, no BYPASSRLS, owns nothing, creates nothing.
--   {{ analytics_role }}  read-only, cross-tenant, for BI.
-- Created when missing; their security attributes are (re)asserted either way, so a role that existed
-- with a dangerous attribute is corrected here (and `dom360db doctor` reports it if it drifts later).
DO $roles$
DECLARE
    v_role text;
BEGIN
    FOREACH v_role IN ARRAY ARRAY[{{ owner_role | literal }}, {{ app_role | literal }}, {{ analytics_role | literal }}] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = v_role) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', v_role);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created meanwhile by a migrate of another database of this cluster
            END;
        END IF;
        IF EXISTS (SELECT FROM pg_catalog.pg_roles
                    WHERE rolname = v_role
                      AND (rolsuper OR rolbypassrls OR rolcreatedb OR rolcreaterole OR rolreplication)) THEN
            EXECUTE format('ALTER ROLE %I NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION', v_role);
        END IF;
    END LOOP;
END
$roles$;

-- The migrating role must be able to act as the owner (a superuser already can).
DO $grant$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)
       AND NOT pg_catalog.pg_has_role(current_user, {{ owner_role | literal }}, 'MEMBER') THEN
        EXECUTE format('GRANT %I TO %I', {{ owner_role | literal }}, current_user);
    END IF;
END
$grant$;

COMMENT ON ROLE {{ owner_role | ident }} IS 'dom360: owns the objects of schema dom360. NOLOGIN; migrations act as it.';
COMMENT ON ROLE {{ app_role | ident }} IS 'dom360: backend runtime role. Sees only the tenant set by dom360.set_tenant() in the current transaction.';
COMMENT ON ROLE {{ analytics_role | ident }} IS 'dom360: read-only, cross-tenant role for BI. Never grant it together with the app role to one login.';
