-- pgcrypto and btree_gist leave schema public for a schema of their own, dom360_ext (issue #16; Supabase splinter
-- lint extension_in_public): in public their functions and operators sit on every role's default search_path,
-- where an unqualified call anywhere could resolve to them, and a name in public is one a careless later grant
-- of CREATE would let others shadow. dom360_ext is on nobody's search_path: callers qualify
-- (dom360_ext.pgp_sym_encrypt). Objects that use them keep working: constraints and indexes refer to functions
-- and operator classes by OID. Both extensions are relocatable; an installation in another schema than public
-- (chosen by a DBA) is left alone.
CREATE SCHEMA IF NOT EXISTS dom360_ext AUTHORIZATION {{ owner_role | ident }};  -- not the migrating login: a restore into another cluster must find its owner (dom360db roles)
COMMENT ON SCHEMA dom360_ext IS 'The extensions dom360 uses (pgcrypto, btree_gist), out of public and of every search_path; callers qualify their names.';
REVOKE ALL ON SCHEMA dom360_ext FROM PUBLIC;
-- USAGE for the roles whose functions call pgcrypto (encrypt/decrypt_sensitive_field run as the caller); no CREATE.
GRANT USAGE ON SCHEMA dom360_ext TO {{ owner_role | ident }}, {{ app_role | ident }};

DO $move$
DECLARE
    v_ext text;
BEGIN
    FOREACH v_ext IN ARRAY ARRAY['pgcrypto', 'btree_gist'] LOOP
        IF EXISTS (SELECT FROM pg_catalog.pg_extension AS e
                    WHERE e.extname = v_ext AND e.extnamespace = 'public'::pg_catalog.regnamespace) THEN
            EXECUTE format('ALTER EXTENSION %I SET SCHEMA dom360_ext', v_ext);
        END IF;
    END LOOP;
END
$move$;
