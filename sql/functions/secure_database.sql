{% from "functions/_privileges.jinja" import privileges with context -%}
CREATE OR REPLACE FUNCTION dom360.secure_database()
    RETURNS boolean
    LANGUAGE plpgsql
    VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
/* The database-level privileges of dom360 (docs/security.md): no TEMPORARY for PUBLIC or the app role, so no
   app login can create temporary tables, types, domains or functions (objects in pg_temp are found before
   pg_catalog for relation and type names, and survive on a pooled server connection into other clients'
   transactions). Granted explicitly to the owner role (administrators) and to the analytics role, which owns
   mv_tenant_consumption_summary: REFRESH … CONCURRENTLY builds its diff in a temporary table as the view's
   owner. An analytics login never shares a server connection with an app login (pools are per login), and
   doctor refuses a login that is both.
   Database privileges live in pg_database, which CREATE DATABASE … TEMPLATE and pg_restore do not copy:
   so this is not a versioned file but a function that every `dom360db migrate` calls. Runs as the caller,
   who must own the database (or be a superuser): otherwise PostgreSQL revokes nothing (a WARNING). Returns
   whether the app role is now without TEMPORARY (dom360db doctor checks it too). */
BEGIN
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC, %I', current_database(), {{ app_role | literal }});
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO %I, %I',
                   current_database(), {{ owner_role | literal }}, {{ analytics_role | literal }});
    RETURN NOT has_database_privilege({{ app_role | literal }}, current_database(), 'TEMPORARY');
END
$$;

{% call privileges('dom360.secure_database()') -%}
COMMENT ON FUNCTION dom360.secure_database() IS 'Re-applies the database-level privileges that CREATE DATABASE … TEMPLATE and pg_restore do not carry: no TEMPORARY for PUBLIC or the app role (granted to the owner and analytics roles). Called by every dom360db migrate; run by the database owner or a superuser. Returns true when the app role has no TEMPORARY left.';
{%- endcall %}
