-- One row per customer for the churn model.
SELECT
    c.customer_id,
    c.country,
    c.loyalty_tier,
    c.birth_year,
    count(o.order_id) AS orders,
    coalesce(sum(o.amount_eur), 0) AS spend_eur
FROM customers_clean c
LEFT JOIN orders o ON c.customer_id = o.customer_id
GROUP BY c.customer_id, c.country, c.loyalty_tier, c.birth_year
