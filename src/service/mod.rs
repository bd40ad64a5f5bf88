//! Business rules, one module per entity. A service opens the transaction, states the facts
//! the permission table needs, checks it through the actor, and calls the repositories.

pub mod employee;
