-- The "legacy" PostgreSQL database of the compose stack: the SOURCE (the truth). Run once after
-- postgres-common.sql (customers, the heartbeat table, the users) by postgres-init.sh.
\set ON_ERROR_STOP on

CREATE TABLE public.orders (
  id          BIGINT PRIMARY KEY,
  customer_id BIGINT NOT NULL REFERENCES public.customers (id),
  total       NUMERIC(12, 2) NOT NULL,
  status      TEXT NOT NULL,
  placed_at   TIMESTAMP(6) NOT NULL,
  attributes  JSONB
);
ALTER TABLE public.orders REPLICA IDENTITY FULL;

INSERT INTO public.customers (id, name, email, created_at) VALUES
  (1, 'Ada Lovelace', 'ada@example.com', '2026-01-05 09:00:00+00'),
  (2, 'Grace Hopper', 'grace@example.com', '2026-01-06 10:30:00+00'),
  (3, 'Edsger Dijkstra', 'edsger@example.com', '2026-01-07 11:45:00+00');

INSERT INTO public.orders (id, customer_id, total, status, placed_at, attributes) VALUES
  (1, 1, 19.90, 'paid', '2026-02-01 08:15:30.123456', '{"channel": "web", "items": 2}'),
  (2, 2, 250.00, 'shipped', '2026-02-02 12:00:00.5', '{"channel": "store"}'),
  (3, 3, 7.25, 'new', '2026-02-03 17:20:10', NULL);

GRANT SELECT ON public.customers, public.orders TO mv_capture;

-- The publication capture reads, created here by the owner of the tables (a non-owner cannot add
-- tables to a publication). Its name is the one capture derives: mv_<name>_<side>, name
-- "compose", side "source". The compose config sets publication.autocreate.mode: disabled, so
-- capture uses it as it is and never tries to create or alter it.
CREATE PUBLICATION mv_compose_source FOR TABLE public.customers, public.orders, verifier.heartbeat;

-- Repair never writes the source: it re-reads the source row (the truth now) before it judges.
GRANT SELECT ON public.customers, public.orders TO mv_repair;
