//! `evault completions SHELL` and `evault man`: generated from the command
//! line definition, so they never drift from it. Neither needs a vault.

use std::io::Write;

use anyhow::{Result, bail};
use clap::CommandFactory;
use clap_complete::Shell;

use crate::Status;
use crate::cli::Cli;

/// Prints the completion script for `shell`.
pub fn completions(shell: Shell) -> Result<Status> {
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    // Generated into memory: clap_complete panics when its writer fails
    // (e.g. `evault completions bash | head`), a closed stdout must not.
    clap_complete::generate(shell, &mut cmd, "evault", &mut script);
    print(&script)
}

/// Prints evault(1), or the page of the command `path` names
/// (`["stamp", "attach"]`: evault-stamp-attach(1)).
pub fn man(path: &[String]) -> Result<Status> {
    // As clap_mangen's own generate_to: no `help` command, and built, so
    // subcommands have their full names and the global options.
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    for name in path {
        let Some(sub) = cmd.find_subcommand(name) else {
            let names: Vec<&str> = cmd.get_subcommands().map(clap::Command::get_name).collect();
            if names.is_empty() {
                bail!("`{}` has no subcommands", cmd.get_name());
            }
            bail!(
                "no command {name:?} in `{}`; one of: {}",
                cmd.get_bin_name().unwrap_or(cmd.get_name()),
                names.join(", ")
            );
        };
        cmd = sub.clone();
    }
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd)
        .source(format!("evault {}", env!("CARGO_PKG_VERSION")))
        .render(&mut page)?;
    print(&page)
}

fn print(bytes: &[u8]) -> Result<Status> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()?;
    Ok(Status::Ok)
}
