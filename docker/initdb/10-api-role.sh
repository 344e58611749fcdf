#!/bin/sh
# Runs once, when the postgres container initialises an empty volume: the dashboard API's
# row-level-security role with a password, so it can log in over the network. The migrations
# find the role and grant it what it needs; they never make it a superuser or owner.
set -eu
psql -v ON_ERROR_STOP=1 -v pw="$CARTWHEEL_API_DB_PASSWORD" \
    --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
CREATE ROLE cartwheel_api LOGIN PASSWORD :'pw'
    NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION NOINHERIT;
SQL
