#!/bin/bash
# Runs /mv-init/common.sql (postgres-common.sql), then /mv-init/init.sql (legacy.sql or modern.sql),
# both mounted by docker-compose.yml, once, when the postgres image initializes an empty data
# directory, in one transaction. The users' passwords come from the environment and reach the SQL
# as psql variables (:'capture_password'), quoted by psql.
set -eo pipefail
for var in MV_CAPTURE_PASSWORD MV_REPAIR_PASSWORD; do
  if [ -z "${!var}" ]; then
    echo "postgres-init.sh: ${var} is not set (see docker-compose.yml)" >&2
    exit 1
  fi
done
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER}" --dbname "${POSTGRES_DB}" \
  -v capture_password="${MV_CAPTURE_PASSWORD}" -v repair_password="${MV_REPAIR_PASSWORD}" \
  --single-transaction -f /mv-init/common.sql -f /mv-init/init.sql
