-- The analytics views (schema/0043-0047) are for the analytics role, which reads every tenant through
-- its analytics_read policies (the views are security_invoker). The app reads its own tenant's figures
-- through the dom360.tenant_* analytics functions instead.
REVOKE ALL ON dom360.analytics_usage_daily, dom360.analytics_cost_daily, dom360.analytics_response_turns,
              dom360.analytics_response_daily, dom360.analytics_lead_funnel
    FROM PUBLIC, {{ app_role | ident }};
GRANT SELECT ON dom360.analytics_usage_daily, dom360.analytics_cost_daily, dom360.analytics_response_turns,
                dom360.analytics_response_daily, dom360.analytics_lead_funnel
    TO {{ analytics_role | ident }};
