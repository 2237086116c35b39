//! Command-line arguments (clap derive). Validation happens in `settings`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// evault: a tamper-evident evidence vault for e-commerce disputes.
///
/// Exit codes: 0 ok; 1 an integrity check found a problem; 2 any error (bad input, usage, I/O).
#[derive(Debug, Parser)]
#[command(
    name = "evault",
    version,
    about,
    long_about,
    after_long_help = "A command's own options: `evault COMMAND --help`; its man page: `evault man COMMAND`."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes, shown once under their own heading in
/// every command's help.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// The vault: a directory, or s3://BUCKET/PREFIX or gs://BUCKET/PREFIX
    /// on object storage (credentials, region and endpoint from AWS_* or
    /// GOOGLE_* variables).
    #[arg(long, global = true, env = "EVAULT_VAULT", value_name = "DIR|URL")]
    pub vault: Option<PathBuf>,
    /// The working copy of a vault on object storage: a local directory
    /// the store's logs and the blobs read are kept in (default:
    /// $XDG_CACHE_HOME/evault/SCHEME/BUCKET/PREFIX, else ~/.cache/evault/…).
    #[arg(long, global = true, env = "EVAULT_WORKDIR", value_name = "DIR")]
    pub workdir: Option<PathBuf>,
    /// Who is recording (default: EVAULT_OPERATOR, else the OS user).
    #[arg(long, global = true, value_name = "NAME")]
    pub by: Option<String>,
    /// The recording station (default: EVAULT_STATION, else the host name).
    #[arg(long, global = true, env = "EVAULT_STATION", value_name = "NAME")]
    pub station: Option<String>,
    /// The private key (PKCS#8 PEM) that signs checkpoints, registered in the vault.
    #[arg(long, global = true, env = "EVAULT_KEY", value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Trust anchors for RFC 3161 time-stamps: a PEM file or a folder of
    /// .pem/.crt files (the TSA roots you trust). Without it, valid stamps
    /// show as "valid, TSA not trusted".
    #[arg(long, global = true, env = "EVAULT_TSA_CA", value_name = "PEM|DIR")]
    pub tsa_ca: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new vault in --vault DIR (or s3://…, gs://…).
    Init {
        /// On S3: make the bucket keep every new object in COMPLIANCE mode for
        /// DAYS (Object Lock's default retention; the bucket must have Object
        /// Lock enabled, and it applies to the whole bucket). Nobody, the
        /// account's owner included, can then delete or overwrite evidence for
        /// DAYS days.
        #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..=36500))]
        object_lock_days: Option<u32>,
    },
    /// Record evidence files in an order.
    Add {
        /// The order id exactly as the platform shows it.
        order: String,
        /// The files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Evidence kind (default: from the content type and file name).
        #[arg(long)]
        kind: Option<String>,
        /// A note recorded with each file.
        #[arg(long)]
        note: Option<String>,
    },
    /// Record every file under a folder (a phone or camera dump).
    Import {
        /// The folder.
        dir: PathBuf,
        /// `folder`: one order per first-level folder; `filename:REGEX`: the first capture group of REGEX on the file name.
        #[arg(long, value_name = "folder|filename:REGEX")]
        order_from: String,
        /// Evidence kind for every file (default: per file).
        #[arg(long)]
        kind: Option<String>,
    },
    /// List orders with entry count, bytes and last recorded time.
    Orders {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show an order's entries in order.
    Log {
        /// The order id.
        order: String,
        /// Print every recorded field as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write an entry's original bytes to a file, checked against their hash.
    Get {
        /// The order id.
        order: String,
        /// The entry's sequence number.
        seq: u64,
        /// Where to write the bytes.
        #[arg(short, long, value_name = "PATH")]
        output: PathBuf,
        /// Overwrite PATH if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Check every chain link, sequence number and blob.
    Verify {
        /// Only this order.
        order: Option<String>,
        /// Re-hash blobs with BLAKE3 only.
        #[arg(long)]
        fast: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Copy a whole vault between a directory and object storage (s3://BUCKET/PREFIX,
    /// gs://BUCKET/PREFIX), checking every blob and chain as it goes; running it again resumes.
    Copy {
        /// The vault to copy: a directory or s3://, gs:// (credentials and endpoint from the
        /// usual AWS_* or GOOGLE_* variables).
        src: String,
        /// Where to: a new (or partly copied) directory, or s3://, gs://.
        dst: String,
    },
    /// Cut a torn last line (an interrupted write), and record that it was cut.
    Repair {
        /// The order id.
        order: String,
    },
    /// Signing keys: make one, register a public key, list them.
    #[command(subcommand)]
    Key(KeyCommand),
    /// RFC 3161 time-stamps over the order's latest checkpoint: `stamp ORDER --tsa URL`, or
    /// `stamp request` then `stamp attach` for a TSA reached another way.
    Stamp(StampArgs),
    /// Record a checkpoint: the size and Merkle root of the order's log so far.
    Checkpoint {
        /// The order id.
        order: String,
    },
    /// Record a note in an order.
    Note {
        /// The order id.
        order: String,
        /// The note.
        text: String,
    },
    /// Void an entry (it stays in the log) with a reason.
    Retract {
        /// The order id.
        order: String,
        /// The entry's sequence number.
        seq: u64,
        /// Why it is voided.
        #[arg(long)]
        reason: String,
    },
    /// Record a dispute opened against an order (platform, reason, case, amount, deadline).
    Dispute {
        /// The order id.
        order: String,
        /// The platform profile (see `evault profiles`).
        #[arg(long)]
        platform: String,
        /// not-received, not-as-described, damaged, unauthorized or other.
        #[arg(long)]
        reason: String,
        /// The response deadline (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        due: Option<String>,
        /// The disputed amount as the platform shows it (e.g. "49.90 USD").
        #[arg(long)]
        amount: Option<String>,
        /// The platform's case or dispute id.
        #[arg(long)]
        case_id: Option<String>,
        /// Extra profiles (a JSON array shaped like `evault profiles --json`).
        #[arg(long, value_name = "FILE")]
        profile_file: Option<PathBuf>,
    },
    /// Build a platform-ready evidence bundle (a zip holding a BagIt bag).
    Export {
        /// The order id.
        order: String,
        /// The platform profile (default: the order's latest dispute record).
        #[arg(long)]
        platform: Option<String>,
        /// The reason to argue (default: the order's latest dispute record).
        #[arg(long)]
        reason: Option<String>,
        /// The seller's statement (a UTF-8 text file).
        #[arg(long, value_name = "FILE")]
        statement: Option<PathBuf>,
        /// Leave the original files out of the bundle.
        #[arg(long)]
        no_originals: bool,
        /// Paper size of the PDFs.
        #[arg(long, default_value = "a4", value_parser = ["a4", "letter"])]
        paper: String,
        /// Extra profiles (a JSON array shaped like `evault profiles --json`).
        #[arg(long, value_name = "FILE")]
        profile_file: Option<PathBuf>,
        /// Refuse (and write nothing) when a photo would be left out of the
        /// uploads: one that cannot be decoded, or over the profile's limits.
        /// Without it such photos are left out with a warning each.
        #[arg(long)]
        strict: bool,
        /// The bundle to write (must not exist).
        #[arg(short, long, value_name = "OUT.zip")]
        output: PathBuf,
    },
    /// List the platform profiles and their limits.
    Profiles {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Extra profiles (a JSON array shaped like `evault profiles --json`).
        #[arg(long, value_name = "FILE")]
        profile_file: Option<PathBuf>,
    },
    /// Check a bundle offline, from the zip alone.
    VerifyBundle {
        /// The bundle.
        file: PathBuf,
        /// An earlier bundle of the same order: check that this one's history extends it.
        #[arg(long, value_name = "OLD.zip")]
        previous: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Serve the packing station and the JSON API over HTTP(S).
    ///
    /// Listens on 127.0.0.1:8080 by default. Any other address needs TLS:
    /// --tls-cert/--tls-key, or --self-signed (a certificate kept in the vault,
    /// whose SHA-256 fingerprint is printed so a phone can be checked once).
    /// Accounts come from `evault user add` and `evault token new`. Stops
    /// on Ctrl-C or SIGTERM, letting uploads in flight finish.
    Serve(ServeArgs),
    /// Manage the people who log in to `evault serve` (recorded in the vault's accounts log).
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens for other programs (recorded in the vault's accounts log).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Print a shell completion script to stdout (no vault needed).
    ///
    /// bash: `evault completions bash > ~/.local/share/bash-completion/completions/evault`;
    /// zsh: `evault completions zsh > ~/.zfunc/_evault` (with ~/.zfunc in fpath);
    /// fish: `evault completions fish > ~/.config/fish/completions/evault.fish`;
    /// PowerShell: `evault completions powershell >> $PROFILE`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout (no vault needed).
    ///
    /// `evault man > evault.1 && man ./evault.1`; `evault man verify-bundle` prints the
    /// evault-verify-bundle(1) page, `evault man stamp attach` evault-stamp-attach(1).
    Man {
        /// A command (and subcommand) whose own page to print.
        command: Vec<String>,
    },
}

/// `evault serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
    pub listen: std::net::SocketAddr,
    /// A certificate chain (PEM) for HTTPS.
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_key",
        conflicts_with = "self_signed"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// HTTPS with a self-signed certificate kept in the vault (made on first use).
    #[arg(long)]
    pub self_signed: bool,
    /// The largest packing video accepted, in MiB.
    #[arg(long, default_value_t = 4096, value_name = "MIB")]
    pub max_video_mib: u64,
    /// The largest file of any other kind accepted, in MiB.
    #[arg(long, default_value_t = 64, value_name = "MIB")]
    pub max_file_mib: u64,
    /// How long a login lasts, in hours.
    #[arg(long, default_value_t = 12, value_name = "HOURS")]
    pub session_hours: u64,
    /// The photos the station page asks for, in order, as KIND=Label items
    /// separated by commas (default: label-photo=Shipping label,
    /// packing-photo=Contents, packing-photo=Inner packing,
    /// packing-photo=Sealed outer box).
    #[arg(long, value_delimiter = ',', value_name = "KIND=Label,...")]
    pub checklist: Vec<evault_server::ChecklistItem>,
}

/// `evault user ...`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user (the password is asked for, or read from stdin).
    Add {
        /// The user's name (lowercase letters, digits, '.', '_', '-', '@').
        name: String,
        /// station: records evidence; service: reads every order, notes, disputes, exports;
        /// admin: also manages accounts.
        #[arg(long, value_parser = ["station", "service", "admin"])]
        role: String,
        /// Read the password from the first line of stdin instead of asking.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Replace a user's password (the user's sessions end).
    Passwd {
        /// The user's name.
        name: String,
        /// Read the password from the first line of stdin instead of asking.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Remove a user (the user's sessions end; what they recorded stays).
    Remove {
        /// The user's name.
        name: String,
    },
    /// List users and API tokens.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `evault token ...`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue an API token; it is printed once and stored only as its SHA-256.
    New {
        /// The token's name: recorded as operator and station of what it records.
        name: String,
        /// The role (as for users).
        #[arg(long, value_parser = ["station", "service", "admin"])]
        role: String,
    },
    /// Revoke an API token.
    Revoke {
        /// The token's name.
        name: String,
    },
}

/// `evault key ...`.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Make an ed25519 key pair: the private key goes to a file readable by
    /// you only (never into the vault), the public key into the vault.
    New {
        /// The key's name (lowercase letters, digits, '.', '_', '-').
        name: String,
        /// Where to write the private key (default: ~/.config/evault/keys/NAME.pem).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Register someone's public key (SPKI PEM) in the vault.
    Add {
        /// The name to register it under.
        name: String,
        /// The public key file.
        file: PathBuf,
    },
    /// List the vault's public keys and their fingerprints.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `evault stamp`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct StampArgs {
    #[command(subcommand)]
    pub action: Option<StampCommand>,
    /// The order (with --tsa: request, send over HTTP, check and record the reply).
    #[arg(required = true)]
    pub order: Option<String>,
    /// The time-stamp authority's URL (http://; the reply is signed, so TLS adds nothing to its proof).
    #[arg(long, value_name = "URL", required = true)]
    pub tsa: Option<String>,
}

/// `evault stamp request|attach|check`.
#[derive(Debug, Subcommand)]
pub enum StampCommand {
    /// Check an RFC 3161 token or reply (DER) against the digest of the data it should stamp,
    /// when only that hash is at hand. Exit 0: valid (trusted or not, as --tsa-ca decides);
    /// 1: invalid, with the check that failed named.
    #[command(group(clap::ArgGroup::new("digest").required(true)))]
    Check {
        /// The token (.tst, a CMS ContentInfo) or the TSA's reply (.tsr).
        token: PathBuf,
        /// The SHA-256 of the stamped data, in hex.
        #[arg(long, value_name = "HEX", group = "digest")]
        sha256: Option<String>,
        /// The SHA-384 of the stamped data, in hex.
        #[arg(long, value_name = "HEX", group = "digest")]
        sha384: Option<String>,
        /// The SHA-512 of the stamped data, in hex.
        #[arg(long, value_name = "HEX", group = "digest")]
        sha512: Option<String>,
    },
    /// Write a TimeStampReq (DER, SHA-256, nonce, certReq) over the latest checkpoint, recording
    /// a checkpoint first when entries came after it; the vault keeps the request for `attach`.
    Request {
        /// The order.
        order: String,
        /// Where to write the request (.tsq).
        #[arg(short, long, value_name = "FILE.tsq")]
        output: PathBuf,
    },
    /// Check a TSA's reply (.tsr) against the waiting request and record it.
    Attach {
        /// The order.
        order: String,
        /// The TSA's reply (DER TimeStampResp).
        reply: PathBuf,
    },
}
