//! The `clients` table.
