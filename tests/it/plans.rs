//! Every list query, at a few thousand rows, is planned without a sequential scan of a big
//! table: the queries are the binary's own (`repo::*::list_query`), prefixed with EXPLAIN, in
//! a transaction begun as the binary begins a list's (`db::begin_stream`, its planner settings).

use epicevents::api::{
    AuditQuery, ClientQuery, ContractQuery, EmployeeQuery, Entity, EventQuery, EventSort, Page,
};
use epicevents::domain::{Role, Timestamp};
use epicevents::repo::{self, event::Mine};
use serde_json::Value;
use sqlx::{Connection, PgConnection, Postgres, QueryBuilder};

use crate::common::*;

const BIG: [&str; 5] = ["clients", "contracts", "events", "audit_log", "payments"];

const SEED: &str = "
insert into employees (first_name, last_name, email, role, password_hash)
select 'E' || i, 'X', 'e' || i || '@example.com',
       (array['MANAGEMENT','SALES','SUPPORT'])[1 + i % 3], 'x'
from generate_series(1, 300) i;
insert into clients (first_name, last_name, email, company_name, sales_contact_id)
select 'C' || i, 'Client', 'c' || i || '@example.com', 'Company ' || (i % 500), 3 * (i % 100) + 1
from generate_series(1, 20000) i;
insert into contracts (client_id, sales_contact_id, total_amount, amount_due, is_signed, signed_at)
select c.id, c.sales_contact_id, 1000, case when g % 4 = 0 then 500 else 0 end,
       g % 5 <> 0, case when g % 5 <> 0 then now() end
from clients c cross join generate_series(1, 3) g;
insert into events (contract_id, client_id, name, start_at, end_at, location, attendees, support_contact_id)
select k.id, k.client_id, 'Event ' || k.id, now() + (k.id % 400 - 200) * interval '1 day',
       now() + (k.id % 400 - 200) * interval '1 day' + interval '4 hours', 'Paris', 10,
       case when k.id % 7 = 0 then null else 3 * (k.id % 100) + 2 end
from contracts k where k.is_signed;
insert into audit_log (actor_id, action, entity, entity_id)
select 1 + i % 50, 'client.create', 'client', i from generate_series(1, 5000) i;
insert into payments (contract_id, amount, paid_on, recorded_by_id)
select k.id, 10, now(), 1 from contracts k cross join generate_series(1, 2) g;
analyze;
";

fn seq_scans(plan: &Value, found: &mut Vec<String>) {
    match plan {
        Value::Object(m) => {
            if m.get("Node Type").and_then(Value::as_str) == Some("Seq Scan") {
                let rel = m.get("Relation Name").and_then(Value::as_str).unwrap_or("");
                if BIG.contains(&rel) {
                    found.push(rel.to_owned());
                }
            }
            m.values().for_each(|v| seq_scans(v, found));
        }
        Value::Array(a) => a.iter().for_each(|v| seq_scans(v, found)),
        _ => {}
    }
}

#[test]
fn no_list_query_scans_a_big_table_sequentially() {
    let db = TestDb::new();
    db.sql(SEED);
    let page = Page::first(50);
    let deep = Page { after: Some(55_000), ..Page::first(50) };
    let x = "explain (format json) ";
    let client =
        |search: Option<&str>| ClientQuery { mine: false, search: search.map(str::to_owned) };
    let queries: Vec<(String, QueryBuilder<Postgres>)> = vec![
        ("employee list".into(), repo::employee::list_query(x, &EmployeeQuery::default(), page)),
        (
            "employee list --role SALES".into(),
            repo::employee::list_query(
                x,
                &EmployeeQuery { role: Some(Role::Sales), ..Default::default() },
                page,
            ),
        ),
        ("client list".into(), repo::client::list_query(x, &client(None), None, page)),
        ("client list --after".into(), repo::client::list_query(x, &client(None), None, deep)),
        ("client list --mine".into(), repo::client::list_query(x, &client(None), Some(4), page)),
        (
            "client list --search".into(),
            repo::client::list_query(x, &client(Some("c4242@")), None, page),
        ),
        (
            "client list --search (rare)".into(),
            repo::client::list_query(x, &client(Some("nobody-has-this")), None, page),
        ),
        (
            "contract list".into(),
            repo::contract::list_query(x, &ContractQuery::default(), None, page),
        ),
        (
            "contract list --after".into(),
            repo::contract::list_query(x, &ContractQuery::default(), None, deep),
        ),
        (
            "contract list --unsigned".into(),
            repo::contract::list_query(
                x,
                &ContractQuery { unsigned: true, ..Default::default() },
                None,
                page,
            ),
        ),
        (
            "contract list --unpaid".into(),
            repo::contract::list_query(
                x,
                &ContractQuery { unpaid: true, ..Default::default() },
                None,
                page,
            ),
        ),
        (
            "contract list --mine".into(),
            repo::contract::list_query(x, &ContractQuery::default(), Some(4), page),
        ),
        (
            "contract list --client".into(),
            repo::contract::list_query(
                x,
                &ContractQuery { client: Some(42), ..Default::default() },
                None,
                page,
            ),
        ),
        ("event list".into(), repo::event::list_query(x, &EventQuery::default(), None, page)),
        (
            "event list --after".into(),
            repo::event::list_query(x, &EventQuery::default(), None, deep),
        ),
        (
            "event list --no-support".into(),
            repo::event::list_query(
                x,
                &EventQuery { no_support: true, ..Default::default() },
                None,
                page,
            ),
        ),
        (
            "event list --mine (SUPPORT)".into(),
            repo::event::list_query(x, &EventQuery::default(), Some(Mine::Support(5)), page),
        ),
        (
            "event list --mine (SALES)".into(),
            repo::event::list_query(x, &EventQuery::default(), Some(Mine::Sales(4)), page),
        ),
        (
            "event list --upcoming".into(),
            repo::event::list_query(
                x,
                &EventQuery { upcoming: true, ..Default::default() },
                None,
                page,
            ),
        ),
        (
            "event list --contract".into(),
            repo::event::list_query(
                x,
                &EventQuery { contract: Some(42), ..Default::default() },
                None,
                page,
            ),
        ),
        ("audit list".into(), repo::audit::list_query(x, &AuditQuery::default(), page)),
        (
            "audit list --after".into(),
            repo::audit::list_query(x, &AuditQuery::default(), Page { after: Some(2500), ..page }),
        ),
        (
            "audit list --entity --id".into(),
            repo::audit::list_query(
                x,
                &AuditQuery { entity: Some(Entity::Client), id: Some(42), ..Default::default() },
                page,
            ),
        ),
        (
            "audit list --actor".into(),
            repo::audit::list_query(x, &AuditQuery { actor: Some(7), ..Default::default() }, page),
        ),
        (
            "audit list --since".into(),
            repo::audit::list_query(
                x,
                &AuditQuery {
                    since: Some(Timestamp::from_utc(chrono::Utc::now())),
                    ..Default::default()
                },
                page,
            ),
        ),
        (
            "event list --upcoming --after (start order)".into(),
            repo::event::list_query(
                x,
                &EventQuery { upcoming: true, ..Default::default() },
                None,
                Page { after: Some(30_000), ..page },
            ),
        ),
        (
            "event list --from --to --sort start".into(),
            repo::event::list_query(
                x,
                &EventQuery {
                    from: Some(Timestamp::from_utc(chrono::Utc::now())),
                    to: Some(Timestamp::from_utc(chrono::Utc::now() + chrono::Duration::days(30))),
                    sort: Some(EventSort::Start),
                    ..Default::default()
                },
                None,
                deep,
            ),
        ),
        (
            "event list --client (start order)".into(),
            repo::event::list_query(
                x,
                &EventQuery {
                    client: Some(42),
                    sort: Some(EventSort::Start),
                    ..Default::default()
                },
                None,
                page,
            ),
        ),
        (
            "event list --mine --upcoming (SALES)".into(),
            repo::event::list_query(
                x,
                &EventQuery { upcoming: true, ..Default::default() },
                Some(Mine::Sales(4)),
                page,
            ),
        ),
        (
            "event list --mine --upcoming (SUPPORT)".into(),
            repo::event::list_query(
                x,
                &EventQuery { upcoming: true, ..Default::default() },
                Some(Mine::Support(5)),
                page,
            ),
        ),
        ("contract payments".into(), repo::payment::list_query(x, 42, page)),
    ];
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut bad = Vec::new();
    rt.block_on(async {
        let mut conn = PgConnection::connect(&db.url).await.unwrap();
        for (name, mut qb) in queries {
            // planned as the binary plans it: inside a list's transaction, with its settings
            let mut tx = epicevents::db::begin_stream(&mut conn).await.unwrap();
            let plan: Value = qb.build_query_scalar().fetch_one(&mut *tx).await.unwrap();
            tx.rollback().await.unwrap();
            let mut found = Vec::new();
            seq_scans(&plan, &mut found);
            if !found.is_empty() {
                bad.push(format!("{name}: seq scan of {found:?}\n{plan:#}"));
            }
        }
    });
    assert!(bad.is_empty(), "{}", bad.join("\n\n"));
}
