//! The `contracts` table.
