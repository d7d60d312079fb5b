//! `mlguard completions SHELL`: a shell completion script on stdout, generated from the same
//! clap definition as the parser (clap_complete), so it never offers a flag that is not there.

use crate::cli::{Cli, Global};
use crate::error::IoContext;
use crate::{Outcome, Result};
use clap::CommandFactory;
use std::io::Write;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Install (the file names each shell looks for):
  bash:  mlguard completions bash > ~/.local/share/bash-completion/completions/mlguard
  zsh:   mlguard completions zsh > \"${fpath[1]}/_mlguard\"
  fish:  mlguard completions fish > ~/.config/fish/completions/mlguard.fish
  powershell, elvish: write the script where your profile loads it.")]
pub struct Args {
    /// The shell to write the completion script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

pub fn run(args: Args, _g: &Global) -> Result<Outcome> {
    let mut cmd = Cli::command();
    // Into memory first: clap_complete panics on a write error (a closed pipe); ours names
    // the output instead.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "mlguard", &mut script);
    let mut out = crate::report::Output::open(None)?;
    match out.write_all(&script) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        r => {
            r.with_path(out.name())?;
            out.finish()?;
        }
    }
    Ok(Outcome::Pass)
}
