#!/bin/sh
# Runs once, when the postgres container initialises an empty volume, as the superuser, which
# does nothing else: no cartwheel process connects as it.
#
#   cartwheel      the pipeline (receiver, workers, beat, migrations): owns the database and
#                  so its schema, and every table the migrations create. Not a superuser and
#                  cannot bypass row-level security: the migrations give it a policy that lets
#                  it see every tenant's rows (migrations/rls.py).
#   cartwheel_api  the dashboard API: owns nothing, cannot bypass row-level security; the
#                  migrations grant it what it needs.
set -eu
psql -v ON_ERROR_STOP=1 -v pipeline_pw="$CARTWHEEL_DB_PASSWORD" \
    -v api_pw="$CARTWHEEL_API_DB_PASSWORD" \
    --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
CREATE ROLE cartwheel LOGIN PASSWORD :'pipeline_pw'
    NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION NOINHERIT;
CREATE ROLE cartwheel_api LOGIN PASSWORD :'api_pw'
    NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION NOINHERIT;
CREATE DATABASE cartwheel OWNER cartwheel;
-- Only the two roles connect (the migrations grant cartwheel_api CONNECT).
REVOKE ALL ON DATABASE cartwheel FROM PUBLIC;
\connect cartwheel
-- PostgreSQL 15+: public belongs to pg_database_owner, i.e. cartwheel; nobody else creates.
REVOKE ALL ON SCHEMA public FROM PUBLIC;
SQL
