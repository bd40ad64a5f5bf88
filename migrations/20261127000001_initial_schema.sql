-- Initial schema of the Epic Events CRM (behaviour contract §2).
--
-- The database enforces the data rules itself: named unique indexes on lower(email),
-- foreign keys that refuse (never cascade) deletion of referenced rows, and checks on
-- amounts, periods and attendees. Composite foreign keys also pin the roles: a client's
-- sales contact is a SALES employee, an event's support contact a SUPPORT employee, a
-- contract's sales contact is always its client's, an event's client always its contract's.

create function set_updated_at() returns trigger
language plpgsql as $$
begin
    new.updated_at = now();
    return new;
end
$$;

create table employees (
    id             bigint generated always as identity primary key,
    first_name     text        not null,
    last_name      text        not null,
    email          text        not null,
    role           text        not null,
    password_hash  text        not null,
    is_active      boolean     not null default true,
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now(),
    deactivated_at timestamptz,
    constraint employees_role_check check (role in ('MANAGEMENT', 'SALES', 'SUPPORT')),
    constraint employees_first_name_check check (btrim(first_name) <> ''),
    constraint employees_last_name_check check (btrim(last_name) <> ''),
    constraint employees_email_check check (position('@' in email) > 1),
    constraint employees_deactivated_at_check check (is_active = (deactivated_at is null)),
    -- target of the role-pinning composite foreign keys below
    constraint employees_id_role_key unique (id, role)
);
create unique index employees_email_key on employees (lower(email));
create index employees_role_idx on employees (role, id);
create trigger employees_set_updated_at before update on employees
    for each row execute function set_updated_at();

create table clients (
    id                 bigint generated always as identity primary key,
    first_name         text        not null,
    last_name          text        not null,
    email              text        not null,
    phone              text,
    company_name       text,
    sales_contact_id   bigint      not null,
    sales_contact_role text        not null default 'SALES',
    created_at         timestamptz not null default now(),
    updated_at         timestamptz not null default now(),
    constraint clients_first_name_check check (btrim(first_name) <> ''),
    constraint clients_last_name_check check (btrim(last_name) <> ''),
    constraint clients_email_check check (position('@' in email) > 1),
    constraint clients_sales_contact_role_check check (sales_contact_role = 'SALES'),
    constraint clients_sales_contact_fk foreign key (sales_contact_id, sales_contact_role)
        references employees (id, role) on delete restrict on update restrict,
    -- target of contracts_client_fk: a contract's sales contact is its client's
    constraint clients_id_sales_contact_key unique (id, sales_contact_id)
);
create unique index clients_email_key on clients (lower(email));
create index clients_sales_contact_idx on clients (sales_contact_id, id);
create trigger clients_set_updated_at before update on clients
    for each row execute function set_updated_at();

create table contracts (
    id               bigint generated always as identity primary key,
    client_id        bigint        not null,
    sales_contact_id bigint        not null,
    total_amount     numeric(12,2) not null,
    amount_due       numeric(12,2) not null,
    is_signed        boolean       not null default false,
    signed_at        timestamptz,
    created_at       timestamptz   not null default now(),
    updated_at       timestamptz   not null default now(),
    constraint contracts_total_amount_check check (total_amount > 0),
    constraint contracts_amount_due_check check (amount_due >= 0 and amount_due <= total_amount),
    constraint contracts_signed_at_check check (is_signed = (signed_at is not null)),
    -- reassigning a client moves its contracts with it (an update, never a delete cascade)
    constraint contracts_client_fk foreign key (client_id, sales_contact_id)
        references clients (id, sales_contact_id) on delete restrict on update cascade,
    constraint contracts_sales_contact_fk foreign key (sales_contact_id)
        references employees (id) on delete restrict,
    -- target of events_contract_fk: an event's client is its contract's
    constraint contracts_id_client_key unique (id, client_id)
);
create index contracts_client_idx on contracts (client_id, id);
create index contracts_sales_contact_idx on contracts (sales_contact_id, id);
create index contracts_unsigned_idx on contracts (id) where not is_signed;
create index contracts_unpaid_idx on contracts (id) where amount_due > 0;
create trigger contracts_set_updated_at before update on contracts
    for each row execute function set_updated_at();

create table events (
    id                   bigint generated always as identity primary key,
    contract_id          bigint      not null,
    client_id            bigint      not null,
    name                 text        not null,
    start_at             timestamptz not null,
    end_at               timestamptz not null,
    location             text        not null,
    attendees            integer     not null,
    notes                text,
    support_contact_id   bigint,
    support_contact_role text        not null default 'SUPPORT',
    created_at           timestamptz not null default now(),
    updated_at           timestamptz not null default now(),
    constraint events_name_check check (btrim(name) <> ''),
    constraint events_location_check check (btrim(location) <> ''),
    constraint events_attendees_check check (attendees >= 0),
    constraint events_period_check check (start_at < end_at),
    constraint events_support_contact_role_check check (support_contact_role = 'SUPPORT'),
    constraint events_contract_fk foreign key (contract_id, client_id)
        references contracts (id, client_id) on delete restrict on update restrict,
    constraint events_support_contact_fk foreign key (support_contact_id, support_contact_role)
        references employees (id, role) on delete restrict on update restrict
);
create index events_contract_idx on events (contract_id, id);
create index events_client_idx on events (client_id, id);
create index events_support_contact_idx on events (support_contact_id, id);
create index events_no_support_idx on events (id) where support_contact_id is null;
create index events_start_at_idx on events (start_at, id);
create trigger events_set_updated_at before update on events
    for each row execute function set_updated_at();

-- One row per login: every access and refresh token carries its id, so revoking the
-- session (logout, replayed refresh token) kills every token descended from that login.
create table sessions (
    id          uuid        primary key,
    employee_id bigint      not null,
    created_at  timestamptz not null default now(),
    revoked_at  timestamptz,
    constraint sessions_employee_fk foreign key (employee_id)
        references employees (id) on delete restrict
);
create index sessions_employee_idx on sessions (employee_id);

-- One row per refresh token issued; rotation marks the old one used.
create table refresh_tokens (
    jti         uuid        primary key,
    session_id  uuid        not null,
    issued_at   timestamptz not null default now(),
    expires_at  timestamptz not null,
    used_at     timestamptz,
    constraint refresh_tokens_session_fk foreign key (session_id)
        references sessions (id) on delete restrict
);
create index refresh_tokens_session_idx on refresh_tokens (session_id);

-- Append-only audit trail (§7), written in the same transaction as the change it records.
-- No foreign key on the actor: the trail must outlive a deleted employee.
create table audit_log (
    id          bigint generated always as identity primary key,
    at          timestamptz not null default now(),
    actor_id    bigint,
    action      text        not null,
    entity      text        not null,
    entity_id   bigint      not null,
    changes     jsonb       not null default '{}'::jsonb
);
create index audit_log_at_idx on audit_log (id desc);

create function audit_log_append_only() returns trigger
language plpgsql as $$
begin
    raise exception 'audit_log is append-only' using errcode = 'insufficient_privilege';
end
$$;
create trigger audit_log_no_update before update or delete on audit_log
    for each row execute function audit_log_append_only();
