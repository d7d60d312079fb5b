//! Audit-log readers normalising CloudTrail, GCP, Azure, MLflow and inference logs into one event model (not implemented yet).
