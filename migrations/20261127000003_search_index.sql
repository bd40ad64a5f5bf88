-- `client list --search` matches a substring of name, e-mail and company, in any case: a
-- trigram index on exactly that expression keeps it off a sequential scan at any size.
-- pg_trgm ships with PostgreSQL and is a trusted extension: the database owner may create it.
create extension if not exists pg_trgm;

create index clients_search_idx on clients using gin (
    (first_name || ' ' || last_name || ' ' || email || ' ' || coalesce(company_name, ''))
    gin_trgm_ops
);
