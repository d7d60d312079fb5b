//! The one integration-test binary (ripgrep's layout). Every file under `tests/` is a module
//! of this crate, so `cargo test` compiles and links one test executable instead of one per
//! file: on a loaded 2-core machine the links dominated a clean `cargo test`.
//!
//! Run one file's tests with a filter on the module path, e.g.
//! `cargo test --test tests scan::` or `cargo test --test tests fuzz::fuzz_parquet`.
//! Shared helpers live in `util.rs`.

mod util;

mod aws_detect;
mod chains;
mod cli;
mod config_example;
mod drift;
mod fuzz;
mod hostile;
mod html;
mod inference;
mod inspect;
mod integrity;
mod ml_scenario;
mod profile;
mod readme;
mod scale;
mod scan;
mod scan_exposure;
mod scan_geoip;
mod scan_k8s;
mod scan_k8s_managed;
mod scan_mlplat;
mod scan_severity;
mod scan_views;
mod scan_wandb;
mod sigma;
mod sigma_correlation;
mod sigma_k8s;
mod signing;
mod storage;
