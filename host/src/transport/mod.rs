//! Transports that carry MCP between clients and the shared [`crate::protocol::BerthServer`].
//! Only stdio for now; each transport owns its I/O and nothing else.

pub mod stdio;
