//! Business rules, one module per entity. A service opens the transaction, reads (and locks)
//! the target row, states the facts the permission table needs, checks it through the
//! actor, writes with guarded statements and records the audit row in the same transaction.

pub mod audit;
pub mod client;
pub mod contract;
pub mod demo;
pub mod employee;
pub mod event;
pub mod seed;
