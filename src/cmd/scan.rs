//! `mlguard scan` (not implemented yet).

use crate::cli::Global;
use crate::{Error, Outcome, Result};

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args, _g: &Global) -> Result<Outcome> {
    Err(Error::usage("'mlguard scan' is not implemented yet"))
}
