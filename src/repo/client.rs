//! The `clients` table, read with its sales contact's name.

use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::UnnamedExt;
use super::{RowSink, on_delete, on_write, push_page};
use crate::api::{Client, ClientDetail, ClientQuery, Page};
use crate::domain::{Email, Name, OptionalText};
use crate::error::{Error, Result};

pub struct NewClientRow<'a> {
    pub first_name: &'a Name,
    pub last_name: &'a Name,
    pub email: &'a Email,
    pub phone: &'a OptionalText,
    pub company_name: &'a OptionalText,
    pub sales_contact_id: i64,
}

pub async fn insert(db: &mut PgConnection, c: &NewClientRow<'_>) -> Result<Client> {
    sqlx::query_as!(
        Client,
        r#"with c as (
               insert into clients
                   (first_name, last_name, email, phone, company_name, sales_contact_id)
               values ($1, $2, $3, $4, $5, $6) returning *)
           select c.id, c.first_name, c.last_name, c.email, c.phone, c.company_name,
                  c.sales_contact_id, s.first_name || ' ' || s.last_name as "sales_contact_name!",
                  c.created_at, c.updated_at
           from c join employees s on s.id = c.sales_contact_id"#,
        c.first_name.as_str(),
        c.last_name.as_str(),
        c.email.as_str(),
        c.phone.as_deref(),
        c.company_name.as_deref(),
        c.sales_contact_id
    )
    .unnamed()
    .fetch_one(db)
    .await
    .map_err(on_write)
}

pub async fn get(db: &mut PgConnection, id: i64) -> Result<Option<Client>> {
    Ok(sqlx::query_as!(
        Client,
        r#"select c.id, c.first_name, c.last_name, c.email, c.phone, c.company_name,
                  c.sales_contact_id, s.first_name || ' ' || s.last_name as "sales_contact_name!",
                  c.created_at, c.updated_at
           from clients c join employees s on s.id = c.sales_contact_id
           where c.id = $1"#,
        id
    )
    .unnamed()
    .fetch_optional(db)
    .await?)
}

/// Locks the client row for the rest of the transaction.
pub async fn get_for_update(db: &mut PgConnection, id: i64) -> Result<Option<Client>> {
    Ok(sqlx::query_as!(
        Client,
        r#"select c.id, c.first_name, c.last_name, c.email, c.phone, c.company_name,
                  c.sales_contact_id, s.first_name || ' ' || s.last_name as "sales_contact_name!",
                  c.created_at, c.updated_at
           from clients c join employees s on s.id = c.sales_contact_id
           where c.id = $1 for update of c"#,
        id
    )
    .unnamed()
    .fetch_optional(db)
    .await?)
}

/// `%text%` for ILIKE, with the pattern characters of `text` escaped.
pub fn like_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// The list query, after `prefix` (`""`, or `"explain "` for the plan tests). `mine` is the
/// caller's id when the query asks for their clients only.
pub fn list_query(
    prefix: &str,
    q: &ClientQuery,
    mine: Option<i64>,
    page: Page,
) -> QueryBuilder<Postgres> {
    let mut qb = QueryBuilder::new(prefix);
    qb.push(
        "select c.id, c.first_name, c.last_name, c.email, c.phone, c.company_name, \
         c.sales_contact_id, s.first_name || ' ' || s.last_name as sales_contact_name, \
         c.created_at, c.updated_at \
         from clients c join employees s on s.id = c.sales_contact_id where true",
    );
    if let Some(id) = mine {
        qb.push(" and c.sales_contact_id = ").push_bind(id);
    }
    if let Some(text) = q.search.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        // the expression of the trigram index clients_search_idx
        qb.push(
            " and (c.first_name || ' ' || c.last_name || ' ' || c.email || ' ' || \
             coalesce(c.company_name, '')) ilike ",
        )
        .push_bind(like_pattern(text));
    }
    push_page(&mut qb, "c.id", false, page);
    qb
}

pub async fn list(
    db: &mut PgConnection,
    q: &ClientQuery,
    mine: Option<i64>,
    page: Page,
    sink: &mut impl RowSink<Client>,
) -> Result<()> {
    super::stream(db, list_query("", q, mine, page), sink).await
}

/// `None` leaves a field as it is; for the optional fields `Some(None)` clears it.
pub struct ClientChanges<'a> {
    pub first_name: Option<&'a Name>,
    pub last_name: Option<&'a Name>,
    pub email: Option<&'a Email>,
    pub phone: Option<&'a OptionalText>,
    pub company_name: Option<&'a OptionalText>,
}

pub async fn update(
    db: &mut PgConnection,
    id: i64,
    c: &ClientChanges<'_>,
) -> Result<Option<Client>> {
    sqlx::query_as!(
        Client,
        r#"with c as (
               update clients set
                   first_name = coalesce($2, first_name),
                   last_name = coalesce($3, last_name),
                   email = coalesce($4, email),
                   phone = case when $5 then $6 else phone end,
                   company_name = case when $7 then $8 else company_name end
               where id = $1 returning *)
           select c.id, c.first_name, c.last_name, c.email, c.phone, c.company_name,
                  c.sales_contact_id, s.first_name || ' ' || s.last_name as "sales_contact_name!",
                  c.created_at, c.updated_at
           from c join employees s on s.id = c.sales_contact_id"#,
        id,
        c.first_name.map(Name::as_str),
        c.last_name.map(Name::as_str),
        c.email.map(Email::as_str),
        c.phone.is_some(),
        c.phone.and_then(OptionalText::as_deref),
        c.company_name.is_some(),
        c.company_name.and_then(OptionalText::as_deref),
    )
    .unnamed()
    .fetch_optional(db)
    .await
    .map_err(on_write)
}

/// Gives the client to another sales contact; its contracts follow (the foreign key
/// cascades the update).
pub async fn reassign(
    db: &mut PgConnection,
    id: i64,
    sales_contact_id: i64,
) -> Result<Option<Client>> {
    sqlx::query_as!(
        Client,
        r#"with c as (update clients set sales_contact_id = $2 where id = $1 returning *)
           select c.id, c.first_name, c.last_name, c.email, c.phone, c.company_name,
                  c.sales_contact_id, s.first_name || ' ' || s.last_name as "sales_contact_name!",
                  c.created_at, c.updated_at
           from c join employees s on s.id = c.sales_contact_id"#,
        id,
        sales_contact_id
    )
    .unnamed()
    .fetch_optional(db)
    .await
    .map_err(on_write)
}

pub async fn delete(db: &mut PgConnection, id: i64) -> Result<bool> {
    let r = sqlx::query!("delete from clients where id = $1", id)
        .persistent(false)
        .execute(db)
        .await
        .map_err(on_delete(id))?;
    Ok(r.rows_affected() == 1)
}

/// How many clients this employee is the sales contact of.
pub async fn count_of_owner(db: &mut PgConnection, sales_contact_id: i64) -> Result<i64> {
    Ok(sqlx::query_scalar!(
        r#"select count(*) as "n!" from clients where sales_contact_id = $1"#,
        sales_contact_id
    )
    .persistent(false)
    .fetch_one(db)
    .await?)
}

/// Gives every client of `from` to `to` (their contracts follow); the ids moved, in order.
pub async fn reassign_all(db: &mut PgConnection, from: i64, to: i64) -> Result<Vec<i64>> {
    let mut ids = sqlx::query_scalar!(
        "update clients set sales_contact_id = $2 where sales_contact_id = $1 returning id",
        from,
        to
    )
    .persistent(false)
    .fetch_all(db)
    .await
    .map_err(on_write)?;
    ids.sort_unstable();
    Ok(ids)
}

/// `client show` for people: the client, its contracts (by id) and their events (in start
/// order) in one statement — one round trip, one snapshot — as JSON in the shape of
/// [`ClientDetail`]. `None`: no such client.
pub async fn overview(db: &mut PgConnection, id: i64) -> Result<Option<ClientDetail>> {
    let json = sqlx::query_scalar!(
        r#"with c as (
               select c.id, c.first_name, c.last_name, c.email, c.phone, c.company_name,
                      c.sales_contact_id, s.first_name || ' ' || s.last_name as sales_contact_name,
                      c.created_at, c.updated_at
               from clients c join employees s on s.id = c.sales_contact_id
               where c.id = $1)
           select json_build_object(
               'client', (select row_to_json(c) from c),
               'contracts', coalesce((
                   select json_agg(k order by k.id) from (
                       select k.id, k.client_id, c.first_name || ' ' || c.last_name as client_name,
                              k.sales_contact_id,
                              s.first_name || ' ' || s.last_name as sales_contact_name,
                              k.total_amount::text as total_amount,
                              k.amount_due::text as amount_due,
                              k.is_signed, k.signed_at, k.created_at, k.updated_at
                       from contracts k join c on c.id = k.client_id
                            join employees s on s.id = k.sales_contact_id
                       where k.client_id = $1) k), '[]'),
               'events', coalesce((
                   select json_agg(e order by e.start_at, e.id) from (
                       select e.id, e.contract_id, e.client_id,
                              c.first_name || ' ' || c.last_name as client_name, e.name,
                              e.start_at, e.end_at, e.location, e.attendees, e.notes,
                              e.support_contact_id,
                              s.first_name || ' ' || s.last_name as support_contact_name,
                              e.created_at, e.updated_at
                       from events e join c on c.id = e.client_id
                            left join employees s on s.id = e.support_contact_id
                       where e.client_id = $1) e), '[]')
           ) as "detail!"
           from c"#,
        id
    )
    .persistent(false)
    .fetch_optional(db)
    .await?;
    json.map(|j| {
        serde_json::from_value(j).map_err(|e| Error::internal("BUG: a client overview's JSON", e))
    })
    .transpose()
}
