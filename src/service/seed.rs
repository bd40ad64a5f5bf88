//! `db seed --scale F`: a large synthetic company for benchmarks, made with set-based SQL
//! (generate_series) in one transaction. At scale 1: 1,000 employees, 100,000 clients,
//! 300,000 contracts, 1,000,000 events. Every account gets the same throwaway password.

use serde::Serialize;
use sqlx::PgConnection;

use crate::auth::password;
use crate::domain::Password;
use crate::error::{Error, Result};
use crate::repo;

#[derive(Serialize)]
pub struct SeedSummary {
    pub employees: i64,
    pub clients: i64,
    pub contracts: i64,
    pub events: i64,
    /// The password of every seeded account.
    pub password: String,
    /// Ids of sample accounts: a manager, a salesperson, a support employee.
    pub management_id: i64,
    pub sales_id: i64,
    pub support_id: i64,
    pub email_pattern: &'static str,
}

/// Roles by `id % 20`: 0-1 MANAGEMENT (10%), 2-10 SALES (45%), 11-19 SUPPORT (45%).
/// $1 password hash, $2 number of employees.
const EMPLOYEES: &str = "
insert into employees (first_name, last_name, email, role, password_hash)
select 'Employee', 'N' || i, 'employee' || i || '@bench.example',
       case when i % 20 < 2 then 'MANAGEMENT' when i % 20 < 11 then 'SALES' else 'SUPPORT' end,
       $1
from generate_series(1, $2::int) i";

/// $1 number of clients, $2 number of SALES employees (ids 20k + 2 … 20k + 10).
const CLIENTS: &str = "
insert into clients (first_name, last_name, email, phone, company_name, sales_contact_id)
select 'Client', 'N' || j, 'client' || j || '@bench.example', '+33 1 00 00 00 00',
       'Company ' || (j % 5000),
       20 * ((j % $2::int) / 9) + 2 + (j % $2::int) % 9
from generate_series(1, $1::int) j";

const CONTRACTS: &str = "
insert into contracts (client_id, sales_contact_id, total_amount, amount_due, is_signed, signed_at)
select c.id, c.sales_contact_id, 1000 + (c.id * 7 + g) % 9000,
       case when (c.id + g) % 10 < 3 then 500 else 0 end,
       (c.id * 3 + g) % 6 <> 0, case when (c.id * 3 + g) % 6 <> 0 then now() end
from clients c cross join generate_series(1, 3) g";

/// $1 number of SUPPORT employees (ids 20k + 11 … 20k + 19).
const EVENTS: &str = "
insert into events (contract_id, client_id, name, start_at, end_at, location, attendees, notes,
                    support_contact_id)
select k.id, k.client_id, 'Event ' || k.id || '-' || g,
       now() + ((k.id * 4 + g) % 1460 - 730) * interval '1 day',
       now() + ((k.id * 4 + g) % 1460 - 730) * interval '1 day' + interval '5 hours',
       'Venue ' || (k.id % 300), 10 + (k.id + g) % 490, null,
       case when (k.id * 7 + g * 3) % 10 = 0 then null
            else 20 * (((k.id + g) % $1::int) / 9) + 11 + ((k.id + g) % $1::int) % 9 end
from contracts k cross join generate_series(1, 4) g
where k.is_signed";

pub async fn seed(conn: &mut PgConnection, scale: f64) -> Result<SeedSummary> {
    if !(0.0001..=10.0).contains(&scale) {
        return Err(Error::usage("--scale must be between 0.0001 and 10"));
    }
    let employees = ((1000.0 * scale).round() as i64).max(20);
    let clients = ((100_000.0 * scale).round() as i64).max(1);
    // SALES and SUPPORT employees (9 of every 20 ids each), counted whole groups only
    let groups = employees / 20;
    let per_role = groups * 9;
    let pw = format!("bench-{}", uuid::Uuid::new_v4().simple());
    let hash = password::hash(&Password::parse(&pw).map_err(Error::usage)?).await?;
    let mut tx = crate::db::begin(conn).await?;
    repo::employee::lock_bootstrap(&mut tx).await?;
    if repo::employee::any_exists(&mut tx).await? {
        return Err(Error::conflict(
            "the database is not empty: `db seed` only fills an empty one",
        ));
    }
    // the formulas below number employees from 1: an earlier, rolled-back seed may have
    // advanced the identity sequences (the tables are empty, so restarting them is safe)
    sqlx::raw_sql(
        "select setval(pg_get_serial_sequence(t, 'id'), 1, false)
         from unnest(array['employees', 'clients', 'contracts', 'events']) t",
    )
    .execute(&mut *tx)
    .await?;
    // one big set-based statement per table: the everyday statement timeout does not apply
    sqlx::query("set local statement_timeout = 0").persistent(false).execute(&mut *tx).await?;
    // Foreign keys hold by construction; skipping their per-row triggers (superusers only,
    // as in the zero-config database) makes seeding several times faster.
    let _ = sqlx::query("savepoint fast").persistent(false).execute(&mut *tx).await;
    if sqlx::query("set local session_replication_role = replica")
        .persistent(false)
        .execute(&mut *tx)
        .await
        .is_err()
    {
        sqlx::query("rollback to savepoint fast").persistent(false).execute(&mut *tx).await?;
    }
    // bound, never spliced into the SQL text
    sqlx::query(EMPLOYEES).bind(&hash).bind(employees).persistent(false).execute(&mut *tx).await?;
    sqlx::query(CLIENTS).bind(clients).bind(per_role).persistent(false).execute(&mut *tx).await?;
    sqlx::query(CONTRACTS).persistent(false).execute(&mut *tx).await?;
    sqlx::query(EVENTS).bind(per_role).persistent(false).execute(&mut *tx).await?;
    let counts: (i64, i64) =
        sqlx::query_as("select (select count(*) from contracts), (select count(*) from events)")
            .persistent(false)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    // as autovacuum would leave a live database: statistics and the visibility map. VACUUM
    // cannot run in a transaction; it is one statement, with no timeout of its own.
    sqlx::raw_sql("vacuum (analyze)").execute(&mut *conn).await?;
    Ok(SeedSummary {
        employees,
        clients,
        contracts: counts.0,
        events: counts.1,
        password: pw,
        management_id: 1,
        sales_id: 2,
        support_id: 11,
        email_pattern: "employee{ID}@bench.example",
    })
}
