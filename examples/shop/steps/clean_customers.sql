-- Pseudonymise and coarsen the customer table before analysts see it.
SELECT
    customer_id,
    sha256(email) AS email_hash,
    country,
    left(postcode, 2) AS postcode_area,
    date_part('year', date_of_birth) AS birth_year,
    loyalty_tier
FROM customers
