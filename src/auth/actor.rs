//! The authenticated employee a command runs as.

use uuid::Uuid;

use super::permissions::{self, Action, Facts};
use crate::api::Me;
use crate::domain::Role;
use crate::error::Result;

/// An active employee with a live session, as the database had them when the command began.
/// Writes check again, inside their own transaction, that this still holds.
#[derive(Clone, Debug)]
pub struct Actor {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub role: Role,
    pub session: Uuid,
}

impl Actor {
    /// The permission table (see `permissions.rs`) for this actor.
    pub fn authorize(&self, action: Action, facts: Facts) -> Result<()> {
        permissions::check(self.role, self.id, action, facts)
    }

    pub fn name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    pub fn me(&self) -> Me {
        Me {
            id: self.id,
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            email: self.email.clone(),
            role: self.role,
        }
    }
}
