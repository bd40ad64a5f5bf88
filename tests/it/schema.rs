//! The repository's table of constraint meanings and the migrated schema agree, both ways:
//! every name the code maps exists, and every named constraint and unique index of the
//! schema has a meaning (so that a violation is never a guess, nor an internal error by
//! oversight).

use std::collections::BTreeSet;

use epicevents::repo::{CONSTRAINTS, REFERENCES};

use crate::common::*;

#[test]
fn every_constraint_of_the_schema_is_mapped_and_every_mapping_exists() {
    let db = TestDb::new();
    let names = db.scalar(
        "select string_agg(name, ',' order by name) from (
           select c.conname as name
           from pg_constraint c join pg_class t on t.oid = c.conrelid
           join pg_namespace n on n.oid = t.relnamespace
           where n.nspname = 'public' and t.relname not like '\\_sqlx%'
           union
           select i.relname
           from pg_index x join pg_class i on i.oid = x.indexrelid
           join pg_class t on t.oid = x.indrelid join pg_namespace n on n.oid = t.relnamespace
           where n.nspname = 'public' and x.indisunique and t.relname not like '\\_sqlx%'
             and not exists (select 1 from pg_constraint c where c.conindid = x.indexrelid)
         ) s",
    );
    let schema: BTreeSet<&str> = names.split(',').collect();
    let mapped: BTreeSet<&str> =
        CONSTRAINTS.iter().map(|(n, ..)| *n).chain(REFERENCES.iter().map(|(n, ..)| *n)).collect();
    let unmapped: Vec<_> = schema.difference(&mapped).collect();
    let missing: Vec<_> = mapped.difference(&schema).collect();
    assert!(unmapped.is_empty(), "constraints of the schema with no meaning: {unmapped:?}");
    assert!(missing.is_empty(), "meanings of constraints the schema does not have: {missing:?}");
    // every foreign key is a reference, every other constraint is in CONSTRAINTS
    let fks = db.scalar(
        "select string_agg(conname, ',' order by conname) from pg_constraint c
         join pg_namespace n on n.oid = c.connamespace where n.nspname = 'public' and contype = 'f'",
    );
    let refs: BTreeSet<&str> = REFERENCES.iter().map(|(n, ..)| *n).collect();
    assert_eq!(fks.split(',').collect::<BTreeSet<_>>(), refs);
}
