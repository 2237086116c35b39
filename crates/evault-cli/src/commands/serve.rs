//! `evault serve`, `evault user …`, `evault token …`.

use std::io::BufRead;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use evault_core::{AccountKind, Role};
use evault_server::{ChecklistItem, Limits, ServeConfig, Server, Tls};

use crate::cli::{Global, ServeArgs};
use crate::{Status, out, settings};

pub fn serve(g: &Global, args: &ServeArgs) -> Result<Status> {
    let vault = settings::open(g)?;
    let tls = match (&args.tls_cert, &args.tls_key, args.self_signed) {
        (Some(cert), Some(key), _) => Tls::Files {
            cert: cert.clone(),
            key: key.clone(),
        },
        (_, _, true) => {
            let host = gethostname::gethostname().to_string_lossy().into_owned();
            let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), host.clone()];
            if !host.contains('.') {
                names.push(format!("{host}.local"));
            }
            if !args.listen.ip().is_unspecified() {
                names.push(args.listen.ip().to_string());
            }
            Tls::SelfSigned(names)
        }
        _ => Tls::Off,
    };
    let config = ServeConfig {
        listen: args.listen,
        tls,
        limits: Limits {
            video_bytes: args.max_video_mib << 20,
            file_bytes: args.max_file_mib << 20,
        },
        session_ttl: Duration::from_secs(args.session_hours.max(1) * 3600),
        checklist: if args.checklist.is_empty() {
            ChecklistItem::defaults()
        } else {
            args.checklist.clone()
        },
    };
    let accounts = vault.accounts()?;
    let server = Server::bind(vault, config)?;
    out!("evault serve: {} (Ctrl-C stops)", server.url());
    if args.listen.ip().is_unspecified() {
        let host = gethostname::gethostname().to_string_lossy().into_owned();
        let scheme = if server.fingerprint().is_some() {
            "https"
        } else {
            "http"
        };
        out!(
            "on this network: {scheme}://{host}:{}/ (or this machine's address)",
            server.local_addr().port()
        );
    }
    if let Some(fp) = server.fingerprint() {
        out!("certificate SHA-256 fingerprint: {fp}");
    }
    if let Some(path) = server.self_signed_cert() {
        out!(
            "self-signed certificate: {} (check the fingerprint on each device once, when it warns)",
            path.display()
        );
    }
    if accounts.list().next().is_none() {
        crate::output::warn(
            "no accounts yet: nobody can log in until you add one with `evault user add NAME --role station`",
        );
    }
    server.run_until_signal()?;
    out!("evault serve: stopped");
    Ok(Status::Ok)
}

/// The password from stdin's first line, or asked twice at the terminal.
fn password(stdin: bool) -> Result<String> {
    if stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from stdin")?;
        return Ok(line.trim_end_matches(['\n', '\r']).to_owned());
    }
    let first = rpassword::prompt_password("password: ")
        .context("reading the password (no terminal? use --password-stdin)")?;
    let again = rpassword::prompt_password("again: ").context("reading the password")?;
    if first != again {
        bail!("the two passwords differ; nothing was changed");
    }
    Ok(first)
}

pub fn user_add(g: &Global, name: &str, role: &str, stdin: bool) -> Result<Status> {
    let vault = settings::open(g)?;
    let role: Role = role.parse()?;
    let actor = settings::actor(g)?;
    let account = vault.user_add(name, role, &password(stdin)?, &actor)?;
    out!("user {} added with role {}", account.name, account.role);
    Ok(Status::Ok)
}

pub fn user_passwd(g: &Global, name: &str, stdin: bool) -> Result<Status> {
    let vault = settings::open(g)?;
    let actor = settings::actor(g)?;
    vault.user_passwd(name, &password(stdin)?, &actor)?;
    out!("password of {name} changed; its earlier sessions have ended");
    Ok(Status::Ok)
}

pub fn token_new(g: &Global, name: &str, role: &str) -> Result<Status> {
    let vault = settings::open(g)?;
    let role: Role = role.parse()?;
    let (account, token) = vault.token_new(name, role, &settings::actor(g)?)?;
    crate::output::warn(&format!(
        "token {} (role {}) issued; it is shown only now, and the vault keeps only its SHA-256: send it as `Authorization: Bearer TOKEN`",
        account.name, account.role
    ));
    out!("{token}");
    Ok(Status::Ok)
}

pub fn remove(g: &Global, name: &str, kind: AccountKind) -> Result<Status> {
    let vault = settings::open(g)?;
    let (what, other) = match kind {
        AccountKind::User => ("user", "evault token revoke"),
        AccountKind::Token => ("token", "evault user remove"),
    };
    match vault.accounts()?.get(name) {
        None => bail!("there is no {what} {name:?} (see `evault user list`)"),
        Some(a) if a.kind != kind => bail!("{name:?} is not a {what}; use `{other}`"),
        Some(_) => {}
    }
    vault.account_remove(name, &settings::actor(g)?)?;
    out!("{what} {name} removed; its sessions have ended (what it recorded stays)");
    Ok(Status::Ok)
}

pub fn list(g: &Global, json: bool) -> Result<Status> {
    let accounts = settings::open(g)?.accounts()?;
    if json {
        let all: Vec<_> = accounts.list().collect();
        out!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(Status::Ok);
    }
    if accounts.list().next().is_none() {
        out!("no accounts; add one with `evault user add NAME --role station|service|admin`");
    }
    for a in accounts.list() {
        let kind = match a.kind {
            AccountKind::User => "user",
            AccountKind::Token => "token",
        };
        out!(
            "{:<24} {:<6} {:<8} added {}",
            a.name,
            kind,
            a.role,
            a.added_at
        );
    }
    Ok(Status::Ok)
}
