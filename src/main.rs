//! The `mlguard` binary: parse, dispatch, map the result to the exit-code contract
//! (0 pass, 1 gate failed, 2 usage/input error, 3 signature/trust failure).

use clap::Parser;

fn main() {
    let cli = mlguard::cli::Cli::parse();
    let code = match mlguard::cmd::run(cli) {
        Ok(outcome) => outcome.exit_code(),
        Err(e) => {
            // Errors quote file names and input: control characters are shown escaped.
            eprintln!(
                "mlguard: error: {}",
                mlguard::report::text::clean(&e.to_string())
            );
            e.exit_code()
        }
    };
    std::process::exit(code);
}
