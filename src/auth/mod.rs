//! Authentication: password hashing, JWTs, where tokens are kept, the actor a command runs
//! as, and the permission table. Logging in, refreshing and logging out are services
//! (`service::session`); this module holds what they are made of.

pub mod actor;
pub mod jwt;
pub mod password;
pub mod permissions;
pub mod store;

pub use actor::Actor;
