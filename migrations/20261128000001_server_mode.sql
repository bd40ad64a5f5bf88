-- Server mode, the second hardening round and the working-day features.

-- The audit trail keeps who acted by name as well as by id: the name is a snapshot taken
-- with the change, so it still shows once that employee is deleted.
alter table audit_log add column actor_name text;
update audit_log a set actor_name = e.first_name || ' ' || e.last_name
from employees e where e.id = a.actor_id;

-- UPDATE and DELETE are refused row by row (audit_log_no_update); TRUNCATE has no rows,
-- so it needs a statement-level trigger of its own.
create trigger audit_log_no_truncate before truncate on audit_log
    for each statement execute function audit_log_append_only();

-- This installation's identity: one row, made once. It keeps what must stay stable across
-- runs and across clients (the UIDs of the calendar feed) independent of any host name.
create table installation (
    one_row    boolean     primary key default true,
    id         uuid        not null default gen_random_uuid(),
    created_at timestamptz not null default now(),
    constraint installation_one_row_check check (one_row)
);
insert into installation default values;

-- Failed logins per client address (server mode, the address as text), beside the count per e-mail: after 30
-- failures from one address within 15 minutes, that address is refused for the rest of
-- the window, whatever e-mail it tries.
create table login_failures_by_source (
    source        text        primary key,
    failures      integer     not null,
    window_start  timestamptz not null,
    constraint login_failures_by_source_failures_check check (failures >= 0)
);
create index login_failures_by_source_window_idx on login_failures_by_source (window_start);

-- Rows whose window has passed are pruned on every login; this finds them.
create index login_failures_window_idx on login_failures (window_start);
