//! Reading the world. Nothing here decides anything; it turns bytes on disk into typed
//! items for the cores: directory entries (`walk`), Arrow record batches (`table`), and
//! normalised audit events (`logs`).

pub mod logs;
pub mod table;
pub mod walk;
