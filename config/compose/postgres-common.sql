-- What the "legacy" and "modern" PostgreSQL databases of the compose stack have in common, run
-- first in each (then legacy.sql or modern.sql) by config/compose/postgres-init.sh, as the
-- superuser (postgres), once, when the postgres image initializes an empty data directory.
\set ON_ERROR_STOP on

-- Unchanged by the migration: same table, same columns on both sides (modern stores e-mails
-- upper-cased, which config/compose.yaml compares case-insensitively).
CREATE TABLE public.customers (
  id         BIGINT PRIMARY KEY,
  name       TEXT NOT NULL,
  email      TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- UPDATE and DELETE events carry the whole old row (before-images), not just the key.
ALTER TABLE public.customers REPLICA IDENTITY FULL;

-- Capture updates one row per deployment in a heartbeat table every capture.heartbeat-interval:
-- the change comes back through the change stream and keeps the watermark moving while the
-- database is idle. It lives in its own schema, apart from the application's tables: capture runs
-- CREATE TABLE IF NOT EXISTS at start, which PostgreSQL refuses without CREATE on the schema even
-- when the table exists, and CREATE on this schema lets it create nothing among the application's
-- tables. Created here by the owner, so that the publications can include it.
CREATE SCHEMA verifier;
CREATE TABLE verifier.heartbeat (
  id   VARCHAR(200) PRIMARY KEY,
  beat TIMESTAMPTZ NOT NULL
);

-- Capture: LOGIN REPLICATION (logical decoding) and SELECT on the compared tables (the initial
-- snapshot, granted by legacy.sql / modern.sql); writes only its heartbeat row. No superuser, no
-- ownership of any table, no CREATE anywhere (the heartbeat table is pre-created above). The passwords are psql variables
-- set by postgres-init.sh from the environment: no file of the repository holds them.
CREATE ROLE mv_capture LOGIN REPLICATION PASSWORD :'capture_password';
GRANT USAGE ON SCHEMA public TO mv_capture;
GRANT USAGE ON SCHEMA verifier TO mv_capture;
GRANT SELECT, INSERT, UPDATE ON verifier.heartbeat TO mv_capture;

-- Repair: no replication, no DDL; what it may read and write is granted per database.
CREATE ROLE mv_repair LOGIN PASSWORD :'repair_password';
GRANT USAGE ON SCHEMA public TO mv_repair;
