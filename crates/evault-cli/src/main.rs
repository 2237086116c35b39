//! The `evault` command: thin entry point over [`run`].

mod cli;
mod commands;
mod output;
mod progress;
mod settings;

use std::process::ExitCode;

use clap::Parser;

/// How a command ended (also the process exit code).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Everything is fine.
    Ok = 0,
    /// An integrity check found a problem.
    Problem = 1,
    /// Bad input, usage or I/O error.
    Error = 2,
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let status = match commands::run(cli) {
        Ok(status) => status,
        Err(err) if output::is_broken_pipe(&err) => Status::Ok,
        Err(err) => {
            output::error(&err);
            Status::Error
        }
    };
    ExitCode::from(status as u8)
}
