-- Revenue per country for the finance dashboard.
SELECT country, count(*) AS orders, sum(amount_eur) AS revenue_eur
FROM orders
GROUP BY country
