//! Offline scanning of audit logs, registry exports and inference logs (not implemented yet).
