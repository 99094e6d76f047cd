SET LOCAL ROLE {{ owner_role | ident }};

-- Cost, computed when read: usage of each day times the price in force that day. Nothing is stored,
-- so correcting a row of dom360.token_prices corrects every figure. A day with no price in force has
-- NULL prices and costs (unpriced), never a silent zero.
CREATE VIEW dom360.analytics_cost_daily WITH (security_invoker = true) AS
SELECT u.tenant_id,
       u.day,
       u.inbox_id,
       u.agent_type,
       u.input_tokens,
       u.output_tokens,
       p.currency,
       p.input_price_per_1k,
       p.output_price_per_1k,
       u.input_tokens * p.input_price_per_1k / 1000                                        AS input_cost,
       u.output_tokens * p.output_price_per_1k / 1000                                      AS output_cost,
       (u.input_tokens * p.input_price_per_1k + u.output_tokens * p.output_price_per_1k) / 1000 AS cost
  FROM dom360.analytics_usage_daily AS u
  LEFT JOIN dom360.token_prices AS p
         ON p.tenant_id = u.tenant_id AND p.agent_type = u.agent_type
        AND p.valid_from <= u.day AND (p.valid_to IS NULL OR u.day < p.valid_to);

COMMENT ON VIEW dom360.analytics_cost_daily IS 'Cost per tenant, UTC day, inbox and agent type: the day''s tokens times the dom360.token_prices row in force that day (price per 1,000 tokens), computed when read. NULL prices and costs: no price in force (unpriced). security_invoker; for the analytics role (the app calls dom360.tenant_cost_daily()).';
