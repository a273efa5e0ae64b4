#!/usr/bin/env bash
# Runs once, when the postgres image creates its data directory: lets the replica stream WAL
# with the superuser's password.
set -euo pipefail
echo "host replication postgres all scram-sha-256" >>"$PGDATA/pg_hba.conf"
