-- A server that stays up for everyone (spec §15): exactly-once writes, logins that only count
-- real failures, and session events in the audit trail.

-- Exactly once: the `Idempotency-Key` of each write sent to a server, per employee, with a
-- fingerprint of the request (method, path, body: SHA-256) and the answer it got (status and
-- body). The row is written in the write's own transaction, so the answer kept is the one
-- that was committed; the server deletes rows older than 24 hours. `status` and `body` are
-- empty only inside that transaction, between the claim of the key and the answer. No foreign
-- key on the employee: a key outlives nothing, and a reference would refuse deleting an
-- employee who wrote something in the last day.
create table idempotency_keys (
    employee_id  bigint      not null,
    key          text        not null,
    fingerprint  bytea       not null,
    status       smallint,
    body         bytea,
    created_at   timestamptz not null default now(),
    constraint idempotency_keys_pkey primary key (employee_id, key),
    constraint idempotency_keys_key_check check (length(key) between 1 and 255),
    constraint idempotency_keys_answer_check check ((status is null) = (body is null))
);
create index idempotency_keys_created_at_idx on idempotency_keys (created_at);

-- Logins: a failure is counted once its password was checked and found wrong, never before;
-- `pending` holds the attempts being checked right now, so that parallel guesses cannot slip
-- past the limit (failures + pending never exceed it) while parallel correct logins, which
-- end as successes, never count at all. `pending_since` lets attempts of a server that died
-- mid-check be forgotten. A row may now hold no failure yet (its first attempt is pending).
alter table login_failures
    add column pending integer not null default 0,
    add column pending_since timestamptz,
    drop constraint login_failures_failures_check,
    add constraint login_failures_counts_check check (failures >= 0 and pending >= 0);
alter table login_failures_by_source
    add column pending integer not null default 0,
    add column pending_since timestamptz,
    drop constraint login_failures_by_source_failures_check,
    add constraint login_failures_by_source_counts_check check (failures >= 0 and pending >= 0);

-- The audit trail records session events (`session.login_failed`, `session.lockout`,
-- `session.login`, `session.logout`); a failed login with an unknown e-mail is about no
-- employee at all, so an entry may have no entity.
alter table audit_log
    alter column entity drop not null,
    alter column entity_id drop not null,
    add constraint audit_log_entity_check check ((entity is null) = (entity_id is null));
