//! One function per command.

mod copy;
mod dispute;
mod generate;
mod import;
mod keys;
mod read;
mod record;
mod serve;
mod stamp;
mod verify;

use anyhow::Result;

use crate::Status;
use crate::cli::{Cli, Command, KeyCommand, StampCommand, TokenCommand, UserCommand};

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<Status> {
    let g = &cli.global;
    match cli.command {
        Command::Init { object_lock_days } => record::init(g, object_lock_days),
        Command::Add {
            order,
            files,
            kind,
            note,
        } => record::add(g, &order, &files, kind.as_deref(), note),
        Command::Import {
            dir,
            order_from,
            kind,
        } => import::import(g, &dir, &order_from, kind.as_deref()),
        Command::Orders { json } => read::orders(g, json),
        Command::Log { order, json } => read::log(g, &order, json),
        Command::Get {
            order,
            seq,
            output,
            force,
        } => read::get(g, &order, seq, &output, force),
        Command::Verify { order, fast, json } => verify::verify(g, order.as_deref(), fast, json),
        Command::Repair { order } => record::repair(g, &order),
        Command::Copy { src, dst } => copy::copy(&src, &dst),
        Command::Note { order, text } => record::note(g, &order, &text),
        Command::Checkpoint { order } => record::checkpoint(g, &order),
        Command::Stamp(s) => match (s.action, s.order, s.tsa) {
            (Some(StampCommand::Request { order, output }), _, _) => {
                stamp::request(g, &order, &output)
            }
            (Some(StampCommand::Attach { order, reply }), _, _) => stamp::attach(g, &order, &reply),
            (
                Some(StampCommand::Check {
                    token,
                    sha256,
                    sha384,
                    sha512,
                }),
                _,
                _,
            ) => stamp::check(g, &token, sha256, sha384, sha512),
            (None, Some(order), Some(url)) => stamp::over_http(g, &order, &url),
            (None, _, _) => Err(anyhow::anyhow!(
                "usage: evault stamp ORDER --tsa URL, or evault stamp request|attach (see --help)"
            )),
        },
        Command::Key(k) => match k {
            KeyCommand::New { name, out } => keys::new(g, &name, out.as_deref()),
            KeyCommand::Add { name, file } => keys::add(g, &name, &file),
            KeyCommand::List { json } => keys::list(g, json),
        },
        Command::Retract { order, seq, reason } => record::retract(g, &order, seq, &reason),
        Command::Dispute {
            order,
            platform,
            reason,
            due,
            amount,
            case_id,
            profile_file,
        } => dispute::dispute(
            g,
            &order,
            &platform,
            &reason,
            due,
            amount,
            case_id,
            profile_file.as_deref(),
        ),
        Command::Export {
            order,
            platform,
            reason,
            statement,
            no_originals,
            paper,
            profile_file,
            strict,
            output,
        } => dispute::export(
            g,
            &order,
            dispute::ExportArgs {
                platform: platform.as_deref(),
                reason: reason.as_deref(),
                statement: statement.as_deref(),
                originals: !no_originals,
                letter: paper == "letter",
                profile_file: profile_file.as_deref(),
                strict,
            },
            &output,
        ),
        Command::Profiles { json, profile_file } => {
            dispute::profiles(json, profile_file.as_deref())
        }
        Command::VerifyBundle {
            file,
            previous,
            json,
        } => verify::verify_bundle(g, &file, previous.as_deref(), json),
        Command::Serve(args) => serve::serve(g, &args),
        Command::User(u) => match u {
            UserCommand::Add {
                name,
                role,
                password_stdin,
            } => serve::user_add(g, &name, &role, password_stdin),
            UserCommand::Passwd {
                name,
                password_stdin,
            } => serve::user_passwd(g, &name, password_stdin),
            UserCommand::Remove { name } => serve::remove(g, &name, evault_core::AccountKind::User),
            UserCommand::List { json } => serve::list(g, json),
        },
        Command::Token(t) => match t {
            TokenCommand::New { name, role } => serve::token_new(g, &name, &role),
            TokenCommand::Revoke { name } => {
                serve::remove(g, &name, evault_core::AccountKind::Token)
            }
        },
        Command::Completions { shell } => generate::completions(shell),
        Command::Man { command } => generate::man(&command),
    }
}
