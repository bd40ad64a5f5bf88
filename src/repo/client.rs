//! The `clients` table.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgExecutor, Postgres, QueryBuilder};

use super::Page;

use crate::error::Result;

#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct Client {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub company_name: Option<String>,
    pub sales_contact_id: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub struct NewClient<'a> {
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: &'a str,
    pub phone: Option<&'a str>,
    pub company_name: Option<&'a str>,
    pub sales_contact_id: i64,
}

pub async fn insert(db: impl PgExecutor<'_>, c: &NewClient<'_>) -> Result<Client> {
    Ok(sqlx::query_as!(
        Client,
        "insert into clients (first_name, last_name, email, phone, company_name, sales_contact_id)
         values ($1, $2, $3, $4, $5, $6)
         returning id, first_name, last_name, email, phone, company_name, sales_contact_id,
                   created_at, updated_at",
        c.first_name,
        c.last_name,
        c.email,
        c.phone,
        c.company_name,
        c.sales_contact_id
    )
    .fetch_one(db)
    .await?)
}

pub async fn get(db: impl PgExecutor<'_>, id: i64) -> Result<Option<Client>> {
    Ok(sqlx::query_as!(
        Client,
        "select id, first_name, last_name, email, phone, company_name, sales_contact_id,
                created_at, updated_at
         from clients where id = $1",
        id
    )
    .fetch_optional(db)
    .await?)
}

pub async fn get_for_update(db: impl PgExecutor<'_>, id: i64) -> Result<Option<Client>> {
    Ok(sqlx::query_as!(
        Client,
        "select id, first_name, last_name, email, phone, company_name, sales_contact_id,
                created_at, updated_at
         from clients where id = $1 for update",
        id
    )
    .fetch_optional(db)
    .await?)
}

#[derive(Default)]
pub struct ClientFilter<'a> {
    pub sales_contact_id: Option<i64>,
    /// Matched case-insensitively against the name, e-mail and company.
    pub search: Option<&'a str>,
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

/// The list query, after `prefix` (`""`, or `"explain "` for the plan tests).
pub fn list_query(prefix: &str, f: &ClientFilter<'_>, page: Page) -> QueryBuilder<Postgres> {
    let mut qb = QueryBuilder::new(prefix);
    qb.push(
        "select id, first_name, last_name, email, phone, company_name, sales_contact_id, \
         created_at, updated_at from clients where true",
    );
    if let Some(id) = f.sales_contact_id {
        qb.push(" and sales_contact_id = ").push_bind(id);
    }
    if let Some(text) = f.search {
        // the expression of the trigram index clients_search_idx
        qb.push(
            " and (first_name || ' ' || last_name || ' ' || email || ' ' || \
             coalesce(company_name, '')) ilike ",
        )
        .push_bind(like_pattern(text));
    }
    page.push(&mut qb, "id");
    qb
}

pub async fn list(
    db: &mut PgConnection,
    f: &ClientFilter<'_>,
    page: Page,
    sink: impl FnMut(Client) -> Result<bool>,
) -> Result<()> {
    super::stream(db, list_query("", f, page), page, sink).await
}

/// `None` leaves a field as it is; for the optional fields `Some(None)` clears it.
#[derive(Default)]
pub struct ClientChanges<'a> {
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    pub email: Option<&'a str>,
    pub phone: Option<Option<&'a str>>,
    pub company_name: Option<Option<&'a str>>,
}

pub async fn update(
    db: impl PgExecutor<'_>,
    id: i64,
    c: &ClientChanges<'_>,
) -> Result<Option<Client>> {
    Ok(sqlx::query_as!(
        Client,
        "update clients set
             first_name = coalesce($2, first_name),
             last_name = coalesce($3, last_name),
             email = coalesce($4, email),
             phone = case when $5 then $6 else phone end,
             company_name = case when $7 then $8 else company_name end
         where id = $1
         returning id, first_name, last_name, email, phone, company_name, sales_contact_id,
                   created_at, updated_at",
        id,
        c.first_name,
        c.last_name,
        c.email,
        c.phone.is_some(),
        c.phone.flatten(),
        c.company_name.is_some(),
        c.company_name.flatten(),
    )
    .fetch_optional(db)
    .await?)
}

/// Gives the client to another sales contact; its contracts follow (the foreign key
/// cascades the update). Returns how many contracts moved.
pub async fn reassign(
    db: impl PgExecutor<'_>,
    id: i64,
    sales_contact_id: i64,
) -> Result<Option<Client>> {
    Ok(sqlx::query_as!(
        Client,
        "update clients set sales_contact_id = $2 where id = $1
         returning id, first_name, last_name, email, phone, company_name, sales_contact_id,
                   created_at, updated_at",
        id,
        sales_contact_id
    )
    .fetch_optional(db)
    .await?)
}

pub async fn delete(db: impl PgExecutor<'_>, id: i64) -> Result<bool> {
    let r = sqlx::query!("delete from clients where id = $1", id)
        .execute(db)
        .await
        .map_err(super::still_referenced)?;
    Ok(r.rows_affected() == 1)
}
