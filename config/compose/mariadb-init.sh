#!/bin/bash
# Creates the least-privilege capture user of the MariaDB "shop" database. Run once by the mariadb
# image's entrypoint (mounted into /docker-entrypoint-initdb.d, after the schema), while the
# server is still local-only; the password comes from the environment, never from a file here.
set -eo pipefail
if [ -z "${MV_CAPTURE_PASSWORD}" ]; then
  echo "mariadb-init.sh: MV_CAPTURE_PASSWORD is not set (see docker-compose.yml)" >&2
  exit 1
fi
# quotes doubled: the password is a SQL string literal below
capture_password=${MV_CAPTURE_PASSWORD//\'/\'\'}

mariadb --protocol=socket --user=root --password="${MARIADB_ROOT_PASSWORD}" "${MARIADB_DATABASE}" <<SQL
-- Capture reads the binlog as a replica (REPLICATION SLAVE), asks where it ends and which binlogs
-- exist (REPLICATION CLIENT, called BINLOG MONITOR since MariaDB 10.5), and reads the compared
-- tables for the initial snapshot (SELECT). No RELOAD or LOCK TABLES: the compose config snapshots
-- without locks (snapshot.locking.mode: none), which is consistent as long as no DDL runs meanwhile.
CREATE USER 'mv_capture'@'%' IDENTIFIED BY '${capture_password}';
GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'mv_capture'@'%';
GRANT SELECT ON ${MARIADB_DATABASE}.customers TO 'mv_capture'@'%';
GRANT SELECT ON ${MARIADB_DATABASE}.orders TO 'mv_capture'@'%';
-- Its heartbeat row, nothing else is written (the table is pre-created: capture creates it only when missing).
GRANT SELECT, INSERT, UPDATE ON verifier.heartbeat TO 'mv_capture'@'%';
SQL
