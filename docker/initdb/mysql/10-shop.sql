-- The sample shop the mysql service creates on its first start (docker-entrypoint-initdb.d), in
-- MYSQL_DATABASE, which MYSQL_USER (the account Countersign logs in as) owns. Fake data.
CREATE TABLE customers (
    id         INT PRIMARY KEY,
    name       VARCHAR(100) NOT NULL,
    email      VARCHAR(190) NOT NULL UNIQUE,
    phone      VARCHAR(40),
    ssn        VARCHAR(20),
    created_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE orders (
    id          INT PRIMARY KEY,
    customer_id INT NOT NULL,
    total       DECIMAL(10,2) NOT NULL,
    status      VARCHAR(20) NOT NULL,
    created_at  DATETIME(6) NOT NULL,
    KEY orders_customer (customer_id),
    FOREIGN KEY (customer_id) REFERENCES customers(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE payments (
    id          INT PRIMARY KEY,
    order_id    INT NOT NULL,
    card_number VARCHAR(19) NOT NULL,
    amount      DECIMAL(10,2) NOT NULL,
    paid_at     DATETIME(6) NOT NULL,
    KEY payments_order (order_id),
    FOREIGN KEY (order_id) REFERENCES orders(id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO customers VALUES
    (1, 'Ada Byron', 'ada@example.com', '+1-555-0101', '900-12-0001', '2025-01-05 10:00:00'),
    (2, 'Grace Hopper', 'grace@example.com', '+1-555-0102', '900-12-0002', '2025-02-11 11:30:00'),
    (3, 'Alan Turing', 'alan@example.com', NULL, '900-12-0003', '2025-03-20 09:15:00');
INSERT INTO orders VALUES
    (1, 1, 42.50, 'settled', '2025-04-01 12:00:00'),
    (2, 1, 17.00, 'open', '2025-04-02 12:00:00'),
    (3, 2, 99.99, 'settled', '2025-04-03 12:00:00'),
    (4, 3, 5.25, 'cancelled', '2025-04-04 12:00:00');
INSERT INTO payments VALUES
    (1, 1, '4111111111111111', 42.50, '2025-04-01 12:05:00'),
    (2, 3, '5555555555554444', 99.99, '2025-04-03 12:05:00');
