//! `demo`: fills an empty database with a realistic sample, in one transaction.

use chrono::{Duration, Local, NaiveTime, TimeZone, Utc};
use rand::Rng;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::json;
use sqlx::PgConnection;

use super::{Change, Tx};
use crate::auth::password;
use crate::domain::{Email, Money, Name, Notes, OptionalText, Password, Role};
use crate::error::{Error, Result};
use crate::repo::{self, client::NewClientRow, employee::NewEmployeeRow, event::NewEventRow};

/// A demo account and its throwaway password (shown once).
#[derive(Serialize)]
pub struct DemoAccount {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub password: String,
}

#[derive(Serialize)]
pub struct DemoSummary {
    pub accounts: Vec<DemoAccount>,
    pub clients: usize,
    pub contracts: usize,
    pub events: usize,
}

const STAFF: [(&str, &str, &str, Role); 6] = [
    ("Ada", "Lovelace", "ada.lovelace@epicevents.demo", Role::Management),
    ("Grace", "Hopper", "grace.hopper@epicevents.demo", Role::Management),
    ("Bill", "Boquet", "bill.boquet@epicevents.demo", Role::Sales),
    ("Camille", "Durand", "camille.durand@epicevents.demo", Role::Sales),
    ("Kate", "Hastroff", "kate.hastroff@epicevents.demo", Role::Support),
    ("Aliénor", "Vichum", "alienor.vichum@epicevents.demo", Role::Support),
];

// (first, last, email, phone, company, sales index into STAFF)
const CLIENTS: [(&str, &str, &str, &str, &str, usize); 8] = [
    ("Kevin", "Casey", "kevin@startup.io", "+33 6 12 34 56 78", "Cool Startup LLC", 2),
    ("John", "Ouick", "john.ouick@wedding.fr", "+33 6 98 76 54 32", "Ouick Family", 2),
    ("Lou", "Bouzin", "lou.bouzin@mail.fr", "+33 7 11 22 33 44", "Bouzin & Fils", 2),
    ("Zoë", "Ñandú", "zoe@societe-generale.example", "+33 1 40 00 00 00", "Société Générale", 3),
    ("Patrick", "O'Brien", "patrick.obrien@pub.ie", "+353 1 234 5678", "O'Brien's Pub", 3),
    ("Mei", "Tanaka", "mei.tanaka@tokyo.example", "+81 3 1234 5678", "東京 Events KK", 3),
    ("Hans", "Müller", "hans.mueller@autohaus.de", "+49 30 123456", "Autohaus Müller GmbH", 2),
    ("Fatou", "Diop", "fatou.diop@dakar.example", "+221 33 123 45 67", "Diop Conseil", 3),
];

fn throwaway_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    let mut part = || -> String {
        (0..4).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
    };
    format!("demo-{}-{}-{}", part(), part(), part())
}

fn parse<T>(r: std::result::Result<T, String>) -> Result<T> {
    r.map_err(|e| Error::internal("BUG: invalid demo data", anyhow::anyhow!(e)))
}

type Hashed = (&'static str, &'static str, &'static str, Role, String);

/// A new throwaway password for each demo account, hashed (side by side, one per core).
async fn new_passwords() -> Result<(Vec<DemoAccount>, Vec<Hashed>)> {
    let mut accounts = Vec::new();
    let mut hashing = Vec::new();
    for (first, last, email, role) in STAFF {
        let pw = throwaway_password();
        let p = parse(Password::parse(&pw))?;
        hashing.push((
            first,
            last,
            email,
            role,
            tokio::spawn(async move { password::hash(&p).await }),
        ));
        accounts.push(DemoAccount {
            id: 0,
            name: format!("{first} {last}"),
            email: email.into(),
            role,
            password: pw,
        });
    }
    let mut hashed = Vec::new();
    for (first, last, email, role, hash) in hashing {
        let hash = hash.await.map_err(|e| Error::internal("password hashing failed", e))??;
        hashed.push((first, last, email, role, hash));
    }
    Ok((accounts, hashed))
}

/// `demo --reset`: new throwaway passwords for the demo accounts still there (their sessions
/// end, their lockouts are lifted), the data left as it is — only in a database `demo`
/// filled (exit 6 otherwise), in one transaction, audited.
pub async fn reset(conn: &mut PgConnection) -> Result<Vec<DemoAccount>> {
    let (accounts, hashed) = new_passwords().await?;
    let mut tx = Tx::begin(conn).await?;
    if !repo::installation::made_by_demo(&mut tx).await? {
        return Err(Error::conflict(
            "this database was not filled by `demo`: --reset only resets a demo's passwords",
        )
        .with_hint("to change a real account's password: `epicevents employee set-password ID`"));
    }
    let mut reset = Vec::new();
    for (mut account, (_, _, email, _, hash)) in accounts.into_iter().zip(hashed) {
        let email = parse(Email::parse(email))?;
        let Some(found) = repo::employee::credentials_by_email(&mut tx, &email).await? else {
            continue;
        };
        repo::employee::set_password_hash(&mut tx, found.id, &hash).await?;
        repo::session::revoke_all_of(&mut tx, found.id, None).await?;
        repo::throttle::reset(&mut tx, email.as_str()).await?;
        account.id = found.id;
        reset.push(account);
    }
    let ids: Vec<i64> = reset.iter().map(|a| a.id).collect();
    tx.audit(None, Change::DemoReset, 0, json!({ "employees": ids })).await?;
    tx.commit(None).await?;
    Ok(reset)
}

/// Fills an empty database; exit 6 when there is anything in it already.
pub async fn seed(conn: &mut PgConnection) -> Result<DemoSummary> {
    let (mut accounts, hashed) = new_passwords().await?;
    let mut tx = Tx::begin(conn).await?;
    repo::employee::lock_bootstrap(&mut tx).await?;
    if repo::employee::any_exists(&mut tx).await? {
        return Err(Error::conflict("the database is not empty: `demo` only fills an empty one")
            .with_hint("use a fresh database (or EPICCRM_DATA_DIR) for the demo"));
    }
    let mut ids = Vec::new();
    for (i, (first, last, email, role, hash)) in hashed.iter().enumerate() {
        let e = repo::employee::insert(
            &mut tx,
            &NewEmployeeRow {
                first_name: &parse(Name::parse("first name", first))?,
                last_name: &parse(Name::parse("last name", last))?,
                email: &parse(Email::parse(email))?,
                role: *role,
                password_hash: hash,
            },
        )
        .await?;
        accounts[i].id = e.id;
        ids.push(e.id);
    }
    let supports = [ids[4], ids[5]];
    let today = Local::now().date_naive();
    let (mut n_contracts, mut n_events) = (0, 0);
    for (i, (first, last, email, phone, company, sales)) in CLIENTS.into_iter().enumerate() {
        let client = repo::client::insert(
            &mut tx,
            &NewClientRow {
                first_name: &parse(Name::parse("first name", first))?,
                last_name: &parse(Name::parse("last name", last))?,
                email: &parse(Email::parse(email))?,
                phone: &parse(OptionalText::parse("phone", phone))?,
                company_name: &parse(OptionalText::parse("company", company))?,
                sales_contact_id: ids[sales],
            },
        )
        .await?;
        // two contracts per client: one signed (partly paid or not), one not always signed
        for k in 0..2 {
            let total = Decimal::new(((i as i64 + 1) * 2500 + k * 1200) * 100 + 50, 2);
            let signed = k == 0 || i % 3 == 0;
            let due = match (signed, i % 4) {
                (true, 0) => Decimal::ZERO,
                (true, 1) => total / Decimal::TWO,
                _ => total,
            }
            .round_dp(2);
            let (total, due) =
                (parse(Money::from_decimal(total))?, parse(Money::from_decimal(due))?);
            let contract = repo::contract::insert(&mut tx, client.id, total, due, signed)
                .await?
                .ok_or_else(|| Error::internal("BUG: demo client vanished", anyhow::anyhow!("")))?;
            n_contracts += 1;
            if signed && k == 0 {
                // past and upcoming events, every other one without support yet, at the
                // hours such events keep (local time): a launch party at 18:00, a wedding
                // at 14:00, a gala at 19:30, a seminar at 09:00
                let kind = ["launch party", "wedding", "gala", "seminar"][i % 4];
                let (hour, minute, hours) =
                    [(18, 0, 5), (14, 0, 10), (19, 30, 5), (9, 0, 8)][i % 4];
                let day = today + Duration::days(i as i64 * 21 - 60);
                let at = NaiveTime::from_hms_opt(hour, minute, 0).unwrap_or_default();
                let start = Local
                    .from_local_datetime(&day.and_time(at))
                    .earliest()
                    .map_or_else(Utc::now, |t| t.with_timezone(&Utc));
                let event = repo::event::insert(
                    &mut tx,
                    &NewEventRow {
                        contract_id: contract.id,
                        client_id: client.id,
                        name: &parse(Name::parse("name", &format!("{company} — {kind}")))?,
                        start_at: start,
                        end_at: start + Duration::hours(hours),
                        location: &parse(Name::parse(
                            "location",
                            ["Paris", "Candé-sur-Beuvron", "Lyon", "Bordeaux"][i % 4],
                        ))?,
                        attendees: 20 + (i as i32) * 15,
                        notes: &parse(Notes::parse(
                            "notes",
                            if i % 2 == 0 { "Catering confirmed." } else { "" },
                        ))?,
                    },
                )
                .await?;
                if i % 2 == 0 {
                    repo::event::assign(&mut tx, event.id, Some(supports[i / 2 % 2])).await?;
                }
                n_events += 1;
            }
        }
    }
    let details = json!({
        "employees": ids.len(), "clients": CLIENTS.len(), "contracts": n_contracts, "events": n_events,
    });
    tx.audit(None, Change::Demo, 0, details).await?;
    tx.commit(None).await?;
    Ok(DemoSummary { accounts, clients: CLIENTS.len(), contracts: n_contracts, events: n_events })
}
