//! Types that cannot hold invalid values. Everything that comes from the command line is
//! parsed into one of these before it reaches a service or a repository.

mod email;
mod money;
mod password;
mod role;
mod text;
mod time;

pub use email::Email;
pub use money::{Money, serialize_decimal};
pub use password::Password;
pub use role::Role;
pub use text::{Name, OptionalText};
pub use time::{EventPeriod, Timestamp};
