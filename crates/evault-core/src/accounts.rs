//! The vault's accounts: the people (users, with a password) and programs
//! (API tokens) that `evault serve` admits, each with one [`Role`].
//!
//! Accounts live in `accounts.jsonl`, an append-only, hash-chained log at the
//! vault's root with the same line discipline as an order's manifest: every
//! line carries the hash of the line before it, and adding, re-keying or
//! removing an account is a new line, never an edit. Passwords are stored as
//! argon2id PHC strings and tokens as their SHA-256; neither is ever stored
//! or returned in clear. [`Vault::verify`] checks the chain.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::str::FromStr;

use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::actor::Actor;
use crate::durable::{barrier, sync_dir};
use crate::entry::Timestamp;
use crate::error::{Error, IoContext, Result};
use crate::id::{EntryHash, hex};
use crate::manifest::{LOCK_WAIT, lines, lock_file};
use crate::merkle::leaf_hash;
use crate::vault::Vault;

/// The accounts log, at the vault's root.
pub(crate) const ACCOUNTS_LOG: &str = "accounts.jsonl";
pub(crate) const ACCOUNTS_LOCK: &str = "accounts.lock";
/// The prefix of every API token (so a leaked one is recognisable in logs and scanners).
pub const TOKEN_PREFIX: &str = "evt_";
/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
const MAX_PASSWORD_BYTES: usize = 1024;

/// What an account may do on `evault serve`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Records evidence and sees the orders it recorded in the last 24 hours.
    Station,
    /// Reads every order; notes, disputes and exports.
    Service,
    /// Everything `service` may, and manages accounts.
    Admin,
}

impl Role {
    /// The role's name (`station`, `service`, `admin`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Station => "station",
            Self::Service => "service",
            Self::Admin => "admin",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "station" => Ok(Self::Station),
            "service" => Ok(Self::Service),
            "admin" => Ok(Self::Admin),
            _ => Err(Error::InvalidText {
                field: "role",
                why: "a role is station, service or admin",
            }),
        }
    }
}

/// Whether an account logs in with a password or presents a bearer token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccountKind {
    /// A person, with a password.
    User,
    /// A program, with a bearer token.
    Token,
}

/// One line of `accounts.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountEntry {
    /// Line format version (1).
    pub v: u32,
    /// Sequence number, 1-based and contiguous.
    pub seq: u64,
    /// Hash of the previous line; `null` for seq 1.
    pub prev: Option<EntryHash>,
    /// When the change was recorded.
    pub recorded_at: Timestamp,
    /// Who made it.
    pub recorded_by: String,
    /// Where.
    pub station: String,
    /// The change.
    #[serde(flatten)]
    pub change: Change,
}

/// A change to the accounts (`"type"` field).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Change {
    /// A user was added.
    UserAdd {
        /// The user's name.
        name: String,
        /// The role.
        role: Role,
        /// The password as an argon2id PHC string.
        password: String,
    },
    /// A user's password was replaced (earlier sessions end).
    UserPasswd {
        /// The user's name.
        name: String,
        /// The new password as an argon2id PHC string.
        password: String,
    },
    /// An API token was issued.
    TokenAdd {
        /// The token's name (recorded as operator and station of what it records).
        name: String,
        /// The role.
        role: Role,
        /// SHA-256 of the token, hex.
        token_sha256: String,
    },
    /// A user or token was removed (its sessions end; the name may be added again).
    Remove {
        /// The account's name.
        name: String,
    },
}

impl Change {
    fn name(&self) -> &str {
        match self {
            Self::UserAdd { name, .. }
            | Self::UserPasswd { name, .. }
            | Self::TokenAdd { name, .. }
            | Self::Remove { name } => name,
        }
    }
}

/// A live account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Account {
    /// Its name.
    pub name: String,
    /// User or token.
    pub kind: AccountKind,
    /// Its role.
    pub role: Role,
    /// When it was added.
    pub added_at: Timestamp,
    /// The entry that set its current password or token: a session made
    /// before a later change of credential is no longer valid.
    pub credential_seq: u64,
    #[serde(skip)]
    secret: String,
}

/// The accounts as the log leaves them.
#[derive(Clone, Debug, Default)]
pub struct Accounts {
    live: BTreeMap<String, Account>,
    by_token: BTreeMap<String, String>,
    /// Entries read (the log's length).
    pub len: u64,
}

/// A PHC string for a password nobody has, checked when the name is unknown
/// so that a login takes as long for a wrong name as for a wrong password.
fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("", "decoy password").unwrap_or_default())
}

fn hash_password(name: &str, password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| Error::Account {
        name: name.to_owned(),
        why: format!("no randomness from the OS: {e}"),
    })?;
    let hash = argon2::Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map_err(|e| Error::Account {
            name: name.to_owned(),
            why: format!("cannot hash the password ({e})"),
        })?;
    Ok(hash.to_string())
}

impl Accounts {
    /// Every live account, by name.
    pub fn list(&self) -> impl Iterator<Item = &Account> {
        self.live.values()
    }

    /// The live account called `name`.
    pub fn get(&self, name: &str) -> Option<&Account> {
        self.live.get(name)
    }

    /// The user whose password this is, if any. Takes an argon2 hash's time
    /// whether or not the name exists.
    pub fn check_password(&self, name: &str, password: &str) -> Option<&Account> {
        let account = self.live.get(name).filter(|a| a.kind == AccountKind::User);
        let phc: &str = match account {
            Some(a) => &a.secret,
            None => decoy(),
        };
        let ok = PasswordHash::new(phc).is_ok_and(|h| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        });
        account.filter(|_| ok)
    }

    /// The token account this bearer token belongs to, if any.
    pub fn check_token(&self, token: &str) -> Option<&Account> {
        let digest = hex(&Sha256::digest(token.as_bytes()));
        self.by_token.get(&digest).and_then(|n| self.live.get(n))
    }

    /// Applies one change; `Err` says why it does not apply to these accounts.
    fn apply(&mut self, e: &AccountEntry) -> std::result::Result<(), String> {
        let name = e.change.name();
        let live = self.live.get(name);
        match &e.change {
            Change::UserAdd { role, password, .. }
            | Change::TokenAdd {
                role,
                token_sha256: password,
                ..
            } => {
                if live.is_some() {
                    return Err(format!("{name:?} is added again while it exists"));
                }
                let kind = if matches!(e.change, Change::UserAdd { .. }) {
                    AccountKind::User
                } else {
                    self.by_token.insert(password.clone(), name.to_owned());
                    AccountKind::Token
                };
                self.live.insert(
                    name.to_owned(),
                    Account {
                        name: name.to_owned(),
                        kind,
                        role: *role,
                        added_at: e.recorded_at,
                        credential_seq: e.seq,
                        secret: password.clone(),
                    },
                );
            }
            Change::UserPasswd { password, .. } => match self.live.get_mut(name) {
                Some(a) if a.kind == AccountKind::User => {
                    a.secret = password.clone();
                    a.credential_seq = e.seq;
                }
                _ => {
                    return Err(format!(
                        "the password of {name:?} is changed, but no such user exists"
                    ));
                }
            },
            Change::Remove { .. } => match self.live.remove(name) {
                Some(a) => {
                    if a.kind == AccountKind::Token {
                        self.by_token.remove(&a.secret);
                    }
                }
                None => return Err(format!("{name:?} is removed, but no such account exists")),
            },
        }
        Ok(())
    }
}

/// Account names: 1 to 64 of `a-z`, `0-9`, `.`, `_`, `-`, `@`, starting with a letter or digit.
fn check_name(name: &str) -> Result<()> {
    let ok = name.len() <= 64
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-@".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::Account {
            name: name.to_owned(),
            why: "a name is 1 to 64 lowercase letters, digits, '.', '_', '-' or '@', starting with a letter or digit".into(),
        })
    }
}

fn check_password(name: &str, password: &str) -> Result<()> {
    let why = if password.chars().count() < MIN_PASSWORD_CHARS {
        format!("the password is shorter than {MIN_PASSWORD_CHARS} characters; choose a longer one")
    } else if password.len() > MAX_PASSWORD_BYTES {
        format!("the password is longer than {MAX_PASSWORD_BYTES} bytes")
    } else if password.chars().any(char::is_control) {
        "the password contains a control character (a pasted line break?)".into()
    } else {
        return Ok(());
    };
    Err(Error::Account {
        name: name.to_owned(),
        why,
    })
}

/// What verification found wrong in `accounts.jsonl`: (code, entry, message).
pub(crate) type LogFinding = (&'static str, u64, String);

/// Checks every line of the accounts log: readable, contiguous, chained,
/// and each change applicable to the accounts before it.
pub(crate) fn check_log(bytes: &[u8]) -> (u64, Vec<LogFinding>) {
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut found = Vec::new();
    let mut accounts = Accounts::default();
    let mut prev = None;
    let mut n = 0;
    for (i, line) in lines(&bytes[..complete]).enumerate() {
        n = i as u64 + 1;
        let hash = leaf_hash(line);
        match serde_json::from_slice::<AccountEntry>(line) {
            Err(e) => found.push(("unreadable-entry", n, format!("line {n} is not a valid account change ({e}): it was edited or damaged; restore the file from a backup"))),
            Ok(entry) => {
                if entry.v != 1 {
                    found.push(("unknown-version", n, format!("line {n} has version {}: it was edited, or written by a newer evault (upgrade evault)", entry.v)));
                }
                if entry.seq != n {
                    found.push(("wrong-seq", n, format!("line {n} has sequence number {}: lines were deleted, inserted or reordered", entry.seq)));
                }
                if entry.prev != prev {
                    found.push(("broken-link", n, format!("line {n} records a different hash for the line before it: that line was changed, or lines were deleted, inserted or reordered")));
                }
                if let Err(why) = accounts.apply(&entry) {
                    found.push(("account-conflict", n, format!("{why}: the log was edited")));
                }
            }
        }
        prev = Some(hash);
    }
    if complete < bytes.len() {
        found.push(("torn-last-line", n + 1, format!("{} bytes after the last line break are an incomplete change (a crash while it was written; it was never acknowledged): remove them", bytes.len() - complete)));
    }
    (n, found)
}

impl Vault {
    /// The accounts log (`accounts.jsonl`; it may not exist yet).
    pub fn accounts_path(&self) -> PathBuf {
        self.root.join(ACCOUNTS_LOG)
    }

    fn read_accounts(&self) -> Result<(Accounts, Option<EntryHash>, Vec<u8>)> {
        let path = self.accounts_path();
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e).ctx("reading", path),
        };
        let damaged = |why: String| Error::AccountsDamaged {
            path: path.clone(),
            why,
        };
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let mut accounts = Accounts::default();
        let mut prev = None;
        for line in lines(&bytes[..complete]) {
            let n = accounts.len + 1;
            let entry: AccountEntry =
                serde_json::from_slice(line).map_err(|e| damaged(format!("line {n} ({e})")))?;
            if entry.v != 1 {
                return Err(damaged(format!(
                    "line {n} has version {}; this evault reads version 1 (upgrade evault)",
                    entry.v
                )));
            }
            if entry.prev != prev || entry.seq != n {
                return Err(damaged(format!(
                    "line {n} does not follow the one before it"
                )));
            }
            accounts
                .apply(&entry)
                .map_err(|why| damaged(format!("line {n}: {why}")))?;
            accounts.len = n;
            prev = Some(leaf_hash(line));
        }
        Ok((accounts, prev, bytes))
    }

    /// The accounts as recorded (an empty set when none were ever added).
    pub fn accounts(&self) -> Result<Accounts> {
        Ok(self.read_accounts()?.0)
    }

    /// Adds a user with a password (argon2id-hashed before it is recorded).
    pub fn user_add(
        &self,
        name: &str,
        role: Role,
        password: &str,
        actor: &Actor,
    ) -> Result<Account> {
        check_name(name)?;
        check_password(name, password)?;
        let password = hash_password(name, password)?;
        self.append_live(
            Change::UserAdd {
                name: name.to_owned(),
                role,
                password,
            },
            actor,
        )
    }

    /// Replaces a user's password; the user's earlier sessions end.
    pub fn user_passwd(&self, name: &str, password: &str, actor: &Actor) -> Result<Account> {
        check_password(name, password)?;
        let password = hash_password(name, password)?;
        self.append_live(
            Change::UserPasswd {
                name: name.to_owned(),
                password,
            },
            actor,
        )
    }

    /// Issues an API token with a role and returns the token, which is not
    /// stored (only its SHA-256 is): show it once.
    pub fn token_new(&self, name: &str, role: Role, actor: &Actor) -> Result<(Account, String)> {
        check_name(name)?;
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw).map_err(|e| Error::Account {
            name: name.to_owned(),
            why: format!("no randomness from the OS: {e}"),
        })?;
        let token = format!(
            "{TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
        );
        let account = self.append_live(
            Change::TokenAdd {
                name: name.to_owned(),
                role,
                token_sha256: hex(&Sha256::digest(token.as_bytes())),
            },
            actor,
        )?;
        Ok((account, token))
    }

    /// Removes a user or token; its sessions end.
    pub fn account_remove(&self, name: &str, actor: &Actor) -> Result<()> {
        self.append_account(
            Change::Remove {
                name: name.to_owned(),
            },
            actor,
        )
        .map(drop)
    }

    /// Appends one change under the accounts lock, durably, and returns the
    /// accounts it leaves.
    fn append_account(&self, change: Change, actor: &Actor) -> Result<Accounts> {
        let lock_path = self.root.join(ACCOUNTS_LOCK);
        let Some(_lock) = lock_file(&lock_path)? else {
            return Err(Error::Account {
                name: change.name().to_owned(),
                why: format!(
                    "another evault holds {} for more than {} s; try again",
                    lock_path.display(),
                    LOCK_WAIT.as_secs()
                ),
            });
        };
        // On object storage another station may have added lines: the
        // working copy takes them first, and a line another writer took
        // first is built again on it.
        for lost_races in 0..64 {
            self.pull_accounts()?;
            let (mut accounts, prev, bytes) = self.read_accounts()?;
            let path = self.accounts_path();
            if bytes.last().is_some_and(|&b| b != b'\n') {
                return Err(Error::Account {
                    name: change.name().to_owned(),
                    why: format!(
                        "the last line of {} was not completely written (a crash during an earlier change, which was never acknowledged); \
                         remove the bytes after its last line break, then run `evault verify`",
                        path.display()
                    ),
                });
            }
            let entry = AccountEntry {
                v: 1,
                seq: accounts.len + 1,
                prev,
                recorded_at: Timestamp::from_datetime((self.clock)()),
                recorded_by: actor.operator().to_owned(),
                station: actor.station().to_owned(),
                change: change.clone(),
            };
            let name = entry.change.name().to_owned();
            accounts.apply(&entry).map_err(|why| Error::Account {
                name: name.clone(),
                why: why.replace(
                    &format!("{name:?} is added again while it exists"),
                    "it exists already; remove it first, or use passwd to change its password",
                ),
            })?;
            let mut line = serde_json::to_vec(&entry)?;
            // On object storage the line is created there first (the record);
            // the working copy, which holds exactly the lines before it
            // (taken above, under the lock), then appends it as below.
            if self.object_store_url().is_some() && !self.push_account(entry.seq, &line)? {
                std::thread::sleep(crate::manifest::backoff(lost_races));
                continue;
            }
            line.push(b'\n');
            let new = bytes.is_empty();
            let file = crate::durable::append_to(&path, &line)?;
            barrier(&self.root, &[(&file, &path)], &[])?;
            if new {
                sync_dir(&self.root)?;
            }
            return Ok(accounts);
        }
        Err(Error::Account {
            name: change.name().to_owned(),
            why: "other stations changed the accounts 64 times in a row; try again".into(),
        })
    }

    /// Appends a change that leaves `name` live, and returns that account.
    fn append_live(&self, change: Change, actor: &Actor) -> Result<Account> {
        let name = change.name().to_owned();
        let accounts = self.append_account(change, actor)?;
        accounts.get(&name).cloned().ok_or_else(|| Error::Account {
            name,
            why: "it was not live after the change".into(),
        })
    }
}
