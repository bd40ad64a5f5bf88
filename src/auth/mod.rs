//! Authentication: password hashing, JWTs, where tokens are kept, and the guard that turns
//! stored tokens into the employee running the command.

pub mod guard;
pub mod jwt;
pub mod password;
pub mod permissions;
pub mod store;
