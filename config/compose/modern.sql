-- The "modern" PostgreSQL database of the compose stack: the TARGET, verified against legacy. Run
-- once after postgres-common.sql (customers, the heartbeat table, the users) by postgres-init.sh.
--
-- The schema differs from legacy the way a migrated schema does, and none of it is a difference
-- (config/compose.yaml maps it): orders became purchase_orders, total became total_amount with
-- another scale, placed_at keeps milliseconds, attributes is JSON instead of JSONB.
\set ON_ERROR_STOP on

CREATE TABLE public.purchase_orders (
  id           BIGINT PRIMARY KEY,
  -- no foreign key to customers here: repair fixes one row at a time, in the order discrepancies
  -- arrive, and a purchase order may be repaired before its customer
  customer_id  BIGINT NOT NULL,
  total_amount NUMERIC(14, 4) NOT NULL,
  status       TEXT NOT NULL,
  placed_at    TIMESTAMP(3) NOT NULL,
  attributes   JSON
);
ALTER TABLE public.purchase_orders REPLICA IDENTITY FULL;

-- The same rows as legacy, in the modern representation: equal for the verifier.
INSERT INTO public.customers (id, name, email, created_at) VALUES
  (1, 'Ada Lovelace', 'ADA@EXAMPLE.COM', '2026-01-05 09:00:00+00'),
  (2, 'Grace Hopper', 'GRACE@EXAMPLE.COM', '2026-01-06 10:30:00+00'),
  (3, 'Edsger Dijkstra', 'EDSGER@EXAMPLE.COM', '2026-01-07 11:45:00+00');

INSERT INTO public.purchase_orders (id, customer_id, total_amount, status, placed_at, attributes) VALUES
  (1, 1, 19.9000, 'paid', '2026-02-01 08:15:30.123', '{"items": 2, "channel": "web"}'),
  (2, 2, 250.0000, 'shipped', '2026-02-02 12:00:00.500', '{"channel": "store"}'),
  (3, 3, 7.2500, 'new', '2026-02-03 17:20:10', NULL);

GRANT SELECT ON public.customers, public.purchase_orders TO mv_capture;

-- One publication per deployment that captures this database: "compose" (legacy -> modern) and
-- "compose-mariadb" (the mariadb profile: MariaDB shop -> modern). Names: mv_<name>_target.
CREATE PUBLICATION mv_compose_target
  FOR TABLE public.customers, public.purchase_orders, verifier.heartbeat;
CREATE PUBLICATION mv_compose_mariadb_target
  FOR TABLE public.customers, public.purchase_orders, verifier.heartbeat;

-- Repair reads the compared tables (and POST /check of its container reads them too), and writes
-- only the tables whose repair is enabled in config/compose.yaml (orders -> purchase_orders;
-- customers is detect-only). Every write it makes is fenced and logged to <name>.repairs.log with
-- the row it replaced.
GRANT SELECT ON public.customers, public.purchase_orders TO mv_repair;
GRANT INSERT, UPDATE, DELETE ON public.purchase_orders TO mv_repair;
