//! Transports that carry MCP between clients and the shared [`crate::protocol::BerthServer`]:
//! stdio (one client, the one that launched the process) and Streamable HTTP (many
//! remote clients, behind the [`gate`]). Each owns its I/O and nothing else.

pub mod gate;
pub mod http;
pub mod sessions;
pub mod stdio;
