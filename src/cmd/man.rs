//! `mlguard man`: manual pages (roff) generated from the same clap definition as the parser
//! (clap_mangen), so a page never documents a flag that is not there.

use crate::cli::{Cli, Global};
use crate::error::{Error, IoContext};
use crate::{Outcome, Result};
use clap::CommandFactory;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Read one:        mlguard man | man -l -
                 mlguard man profile merge | man -l -
Install them:    mlguard man --dir ~/.local/share/man/man1   (mlguard.1, mlguard-hash.1, ...)")]
pub struct Args {
    /// The command whose page to print (`profile merge`) [default: mlguard(1), which lists
    /// every command].
    #[arg(value_name = "COMMAND", conflicts_with = "dir")]
    pub command: Vec<String>,
    /// Write every page (mlguard.1 and one mlguard-COMMAND.1 per command and subcommand)
    /// into this directory instead of printing one.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The clap command at `path` (`["profile", "merge"]`), built, with its display name
/// (`mlguard-profile-merge`) as the page title.
fn find(path: &[String]) -> Result<clap::Command> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    for (i, name) in path.iter().enumerate() {
        let next = cmd
            .get_subcommands()
            .find(|s| s.get_name() == name && !s.is_hide_set())
            .cloned();
        cmd = next.ok_or_else(|| {
            let here = std::iter::once("mlguard")
                .chain(path[..i].iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" ");
            Error::usage(format!(
                "'{}' is not a command of '{here}' (see '{here} --help')",
                crate::report::text::clean(name)
            ))
        })?;
    }
    Ok(cmd)
}

/// The page of `cmd` (its footer names mlguard and its version, on subcommand pages too).
fn page(cmd: clap::Command) -> Result<(String, Vec<u8>)> {
    let man = clap_mangen::Man::new(cmd)
        .source(format!("mlguard {}", env!("CARGO_PKG_VERSION")))
        .manual("mlguard manual");
    let mut page = Vec::new();
    man.render(&mut page)
        .map_err(|e| Error::usage(format!("cannot render the man page: {e}")))?;
    Ok((man.get_filename(), page))
}

/// Every page under `cmd` (itself and each visible subcommand, recursively).
fn all_pages(cmd: &clap::Command, out: &mut Vec<(String, Vec<u8>)>) -> Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        all_pages(sub, out)?;
    }
    out.push(page(cmd.clone())?);
    Ok(())
}

pub fn run(args: Args, g: &Global) -> Result<Outcome> {
    if let Some(dir) = &args.dir {
        let mut cmd = Cli::command().disable_help_subcommand(true);
        cmd.build();
        let mut pages = Vec::new();
        all_pages(&cmd, &mut pages)?;
        std::fs::create_dir_all(dir).with_path(dir)?;
        for (name, bytes) in &pages {
            let f = dir.join(name);
            std::fs::write(&f, bytes).with_path(&f)?;
        }
        g.note(format!(
            "{} man pages written to {}",
            pages.len(),
            dir.display()
        ));
        return Ok(Outcome::Pass);
    }
    // Into memory first, so a write error names the output.
    let (_, page) = page(find(&args.command)?)?;
    let mut out = crate::report::Output::open(None)?;
    match out.write_all(&page) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        r => {
            r.with_path(out.name())?;
            out.finish()?;
        }
    }
    Ok(Outcome::Pass)
}
