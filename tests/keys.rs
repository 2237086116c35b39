//! Signed checkpoints: keys made by evault and by OpenSSL, signatures
//! checked by `verify` and `verify-bundle`, forgeries named.

use std::fs;
use std::process::Command;

use crate::export::{ORDER, disputed, members, rewrite};
use crate::util::{evault, forge_line, manifest, ok, run};

#[test]
fn checkpoints_are_signed_verified_and_forgeries_named() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = disputed(tmp.path(), 0, "paypal");
    let key = tmp.path().join("station-1.pem");
    let out = ok(evault(&vault)
        .args(["key", "new", "station-1", "--out"])
        .arg(&key));
    assert!(out.contains("fingerprint sha256:"), "{out}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert!(
        fs::read_to_string(&key)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    // OpenSSL reads the private key evault wrote (standard PKCS#8).
    ok(Command::new("openssl")
        .args(["pkey", "-noout", "-in"])
        .arg(&key));
    let list = ok(evault(&vault).args(["key", "list"]));
    assert!(list.contains("station-1"), "{list}");
    // A second key of the same name is refused, and the first stays.
    let (code, _, err) = run(evault(&vault)
        .args(["key", "new", "station-1", "--out"])
        .arg(tmp.path().join("again.pem")));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("already registered"), "{err}");

    // A signed checkpoint verifies and names its signer.
    let out = ok(evault(&vault)
        .arg("--key")
        .arg(&key)
        .args(["checkpoint", ORDER]));
    assert!(out.contains("signed by station-1"), "{out}");
    let out = ok(evault(&vault).arg("verify"));
    assert!(
        out.contains("1 checkpoint signature verified (station-1 sha256:"),
        "{out}"
    );

    // A key made by OpenSSL must be registered before it signs.
    let other = tmp.path().join("ops.pem");
    let other_pub = tmp.path().join("ops.pub.pem");
    ok(Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(&other));
    ok(Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&other)
        .arg("-out")
        .arg(&other_pub));
    let (code, _, err) = run(evault(&vault)
        .arg("--key")
        .arg(&other)
        .args(["checkpoint", ORDER]));
    assert_eq!(code, 2);
    assert!(err.contains("not registered in this vault"), "{err}");
    ok(evault(&vault).args(["key", "add", "ops"]).arg(&other_pub));
    ok(evault(&vault)
        .arg("--key")
        .arg(&other)
        .args(["checkpoint", ORDER]));

    // The bundle carries the signers' public keys; verify-bundle checks the signatures.
    let zip = tmp.path().join("signed.zip");
    let (code, out, err) = run(evault(&vault)
        .arg("--key")
        .arg(&key)
        .args(["export", ORDER, "-o"])
        .arg(&zip)
        .env("SOURCE_DATE_EPOCH", "1764000000"));
    assert_eq!(code, 0, "{out}{err}");
    let names: Vec<String> = members(&zip).into_iter().map(|(n, _)| n).collect();
    assert!(
        names
            .iter()
            .any(|n| n.ends_with("/evault/keys/station-1.pub.pem")),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n.ends_with("/evault/keys/ops.pub.pem")),
        "{names:?}"
    );
    // The summary's integrity appendix names the signer.
    let pdf = members(&zip)
        .into_iter()
        .find(|(n, _)| n.ends_with("/01-summary.pdf"))
        .unwrap()
        .1;
    let pdf_path = tmp.path().join("summary.pdf");
    fs::write(&pdf_path, pdf).unwrap();
    let text = ok(Command::new("pdftotext").arg(&pdf_path).arg("-"));
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(text.contains("signed by station-1 (sha256:"), "{text}");
    let (code, out, _) = run(evault(&vault).args(["verify-bundle", "--json"]).arg(&zip));
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let signers: Vec<&str> = v["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    assert_eq!(signers, ["station-1", "ops", "station-1"]);

    // A bundle whose signer's public key was swapped for another cannot vouch for the signature.
    let ops_pem = fs::read(&other_pub).unwrap();
    let swapped = tmp.path().join("swapped.zip");
    rewrite(
        &zip,
        &swapped,
        |n, b| {
            if n.ends_with("/evault/keys/station-1.pub.pem") {
                *b = ops_pem.clone();
            }
        },
        |_, _| {},
    );
    let (code, out, _) = run(evault(&vault)
        .args(["verify-bundle", "--json"])
        .arg(&swapped));
    assert_eq!(code, 1);
    assert!(out.contains("signature-unknown-key"), "{out}");

    // A signature changed in the vault's log (and the chain redone) is invalid.
    let log = fs::read_to_string(manifest(&vault, ORDER)).unwrap();
    let sig_at = log.find("\"ed25519\":\"").unwrap() + "\"ed25519\":\"".len();
    let old = &log[sig_at..sig_at + 8];
    let new = if old.starts_with('0') { "1" } else { "0" };
    let new = format!("{new}{}", &old[1..]);
    forge_line(&manifest(&vault, ORDER), old, old, &new);
    let (code, out, _) = run(evault(&vault).args(["verify", "--json"]));
    assert_eq!(code, 1);
    assert!(out.contains("signature-invalid"), "{out}");
    // A signer removed from the vault's key list is unknown.
    fs::remove_file(vault.join("keys/ops.pub.pem")).unwrap();
    let (_, out, _) = run(evault(&vault).args(["verify", "--json"]));
    assert!(out.contains("signature-unknown-key"), "{out}");
}
