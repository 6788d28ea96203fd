-- The sample shop the postgres service creates on its first start (docker-entrypoint-initdb.d),
-- in the database POSTGRES_DB as POSTGRES_USER (the role Countersign logs in as). Fake data.
CREATE TABLE customers (
    id         integer PRIMARY KEY,
    name       text NOT NULL,
    email      text NOT NULL UNIQUE,
    phone      text,
    ssn        text,
    created_at timestamptz NOT NULL
);
CREATE TABLE orders (
    id          integer PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES customers(id),
    total       numeric(10,2) NOT NULL,
    status      text NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE TABLE payments (
    id          integer PRIMARY KEY,
    order_id    integer NOT NULL REFERENCES orders(id),
    card_number text NOT NULL,
    amount      numeric(10,2) NOT NULL,
    paid_at     timestamptz NOT NULL
);
INSERT INTO customers VALUES
    (1, 'Ada Byron', 'ada@example.com', '+1-555-0101', '900-12-0001', '2025-01-05 10:00:00+00'),
    (2, 'Grace Hopper', 'grace@example.com', '+1-555-0102', '900-12-0002', '2025-02-11 11:30:00+00'),
    (3, 'Alan Turing', 'alan@example.com', NULL, '900-12-0003', '2025-03-20 09:15:00+00');
INSERT INTO orders VALUES
    (1, 1, 42.50, 'settled', '2025-04-01 12:00:00+00'),
    (2, 1, 17.00, 'open', '2025-04-02 12:00:00+00'),
    (3, 2, 99.99, 'settled', '2025-04-03 12:00:00+00'),
    (4, 3, 5.25, 'cancelled', '2025-04-04 12:00:00+00');
INSERT INTO payments VALUES
    (1, 1, '4111111111111111', 42.50, '2025-04-01 12:05:00+00'),
    (2, 3, '5555555555554444', 99.99, '2025-04-03 12:05:00+00');
