-- The working day, second round (spec §16).

-- Payments are records: who paid what and when. `contract pay` inserts one in the same
-- transaction as it lowers `contracts.amount_due`, which stays the balance everything else
-- reads. Contracts paid before this migration have no rows: their history starts empty (the
-- audit trail still holds their `contract.pay` entries). A payment goes with its contract
-- (`contract delete` is refused only for events, spec §4). No foreign key on the employee who
-- recorded it, as in the audit trail: the record outlives a deleted employee.
create table payments (
    id              bigint generated always as identity,
    contract_id     bigint        not null,
    amount          numeric(12,2) not null,
    paid_on         timestamptz   not null,
    recorded_by_id  bigint        not null,
    recorded_at     timestamptz   not null default now(),
    constraint payments_pkey primary key (id),
    constraint payments_amount_check check (amount > 0),
    constraint payments_contract_fk foreign key (contract_id)
        references contracts (id) on delete cascade
);
create index payments_contract_idx on payments (contract_id, id);

-- Events in start order (`--upcoming`, `--from`), by client (`--client`, `client show`), by
-- contract (`contract show`) and by support contact (`--mine`): `(start_at, id)` is the
-- keyset cursor, so a page deep in the list is an index seek like the first
-- (`events_start_at_idx` already covers the unfiltered list).
create index events_client_start_idx on events (client_id, start_at, id);
create index events_contract_start_idx on events (contract_id, start_at, id);
create index events_support_start_idx on events (support_contact_id, start_at, id);

-- `audit list --entity … --id …`, `--actor`, `--since` (newest first, like the list).
create index audit_log_entity_idx on audit_log (entity, entity_id, id desc);
create index audit_log_actor_idx on audit_log (actor_id, id desc);
create index audit_log_since_idx on audit_log (at);
