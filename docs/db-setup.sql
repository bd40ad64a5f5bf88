-- Least-privilege PostgreSQL set-up for epicevents (see README, "A database of your own").
--
-- Two roles:
--   epic_owner  owns the database and its schema; the only role that runs `epicevents db migrate`.
--   epic_app    what everyday commands connect as: reads and writes rows, no DDL, and on the
--               audit trail only INSERT and SELECT, so the trail is append-only by privilege.
--
-- Part 1, as a superuser (e.g. `sudo -u postgres psql -f docs/db-setup.sql`), then set the
-- passwords with `\password epic_owner` and `\password epic_app`:

create role epic_owner login;
create role epic_app login;
create database epic_crm owner epic_owner;
revoke all on database epic_crm from public;
grant connect on database epic_crm to epic_app;
-- psql stops here: part 2 needs the schema, which `db migrate` creates.
\quit

-- Part 2, connected to epic_crm as epic_owner, after `epicevents db migrate` (run it again
-- after any later migration that adds a table):
--   psql "postgres://epic_owner@localhost/epic_crm" -f docs/db-setup.sql  (from the marker on)
-- @grants
revoke create on schema public from public;
grant usage on schema public to epic_app;
grant select, insert, update, delete
    on employees, clients, contracts, events, sessions, refresh_tokens, login_failures,
       login_failures_by_source, idempotency_keys
    to epic_app;
grant select on installation to epic_app;
grant select, insert on audit_log to epic_app;
-- payments are records, never changed (a contract's go with it: the foreign key's cascade
-- runs as the table's owner)
grant select, insert on payments to epic_app;
grant usage, select on all sequences in schema public to epic_app;
grant select on _sqlx_migrations to epic_app;
