-- The "shop" MariaDB database of the compose stack's mariadb profile: an alternative SOURCE,
-- verified against the same "modern" PostgreSQL (config/compose/mariadb.yaml). Run once by the
-- image's entrypoint in database shop (MARIADB_DATABASE); the users come from mariadb-init.sh.
CREATE TABLE customers (
  id         BIGINT PRIMARY KEY,
  name       VARCHAR(200) NOT NULL,
  email      VARCHAR(320) NOT NULL,
  created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) CHARACTER SET utf8mb4;

CREATE TABLE orders (
  id          BIGINT PRIMARY KEY,
  customer_id BIGINT NOT NULL,
  total       DECIMAL(12, 2) NOT NULL,
  status      VARCHAR(20) NOT NULL,
  placed_at   DATETIME(6) NOT NULL,
  attributes  JSON
) CHARACTER SET utf8mb4;

-- Capture's heartbeat table (see legacy.sql), in a database of its own, apart from the
-- application's tables, and named like the one in modern's "verifier" schema: one
-- capture.heartbeat-table setting (verifier.heartbeat) serves both sides of the deployment.
-- Created by the owner, so the capture user needs CREATE on this one table only.
CREATE DATABASE verifier CHARACTER SET utf8mb4;
CREATE TABLE verifier.heartbeat (
  id   VARCHAR(200) PRIMARY KEY,
  beat DATETIME(3) NOT NULL
) CHARACTER SET utf8mb4;

-- The same rows as legacy and modern (TIMESTAMP values are given in the session zone, UTC here).
SET time_zone = '+00:00';
INSERT INTO customers (id, name, email, created_at) VALUES
  (1, 'Ada Lovelace', 'ada@example.com', '2026-01-05 09:00:00'),
  (2, 'Grace Hopper', 'grace@example.com', '2026-01-06 10:30:00'),
  (3, 'Edsger Dijkstra', 'edsger@example.com', '2026-01-07 11:45:00');

INSERT INTO orders (id, customer_id, total, status, placed_at, attributes) VALUES
  (1, 1, 19.90, 'paid', '2026-02-01 08:15:30.123456', '{"channel": "web", "items": 2}'),
  (2, 2, 250.00, 'shipped', '2026-02-02 12:00:00.5', '{"channel": "store"}'),
  (3, 3, 7.25, 'new', '2026-02-03 17:20:10', NULL);
