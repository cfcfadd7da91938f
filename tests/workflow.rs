//! The maintainer's workflow: `scan --staged` (and the pre-commit hook, run for real when
//! `pre-commit` is installed), baselines, inline `sluice:allow`, `sluice.toml`, and the progress
//! line (on a terminal, driven through `script` from util-linux; never in a pipe).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::util::{self, Rng, jsonl};

fn git(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir) // no user config leaks in (hooks paths, signing)
        .output()
        .expect("run git");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// A fresh repository with an identity.
fn repo() -> tempfile::TempDir {
    let dir = util::tempdir();
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["config", "user.email", "t@example.com"]);
    git(dir.path(), &["config", "user.name", "t"]);
    git(dir.path(), &["config", "commit.gpgsign", "false"]);
    dir
}

fn sluice_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(util::bin()).current_dir(dir).args(args).env("HOME", dir).output().unwrap()
}

fn findings(out: &Output) -> Vec<Value> {
    jsonl(&out.stdout).into_iter().filter(|v| v["kind"] == "finding").collect()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn staged_scans_the_index_not_the_work_tree() {
    let dir = repo();
    let d = dir.path();
    let mut rng = Rng::new(61);
    let token = util::github_token(&mut rng, "ghp_");
    for i in 0..4 {
        write(d, &format!("f{i}.py"), &format!("x = {i}\n"));
    }
    write(d, "src/leak.py", &format!("# config\nT = \"{token}\"\n"));
    git(d, &["add", "."]);
    // The work tree no longer has it; the index (what would be committed) does.
    write(d, "src/leak.py", "T = None\n");
    // And an unstaged secret in the work tree is not the commit's business.
    write(d, "untracked.py", &format!("U = \"{}\"\n", util::github_token(&mut rng, "ghp_")));

    let out = sluice_in(&d.join("src"), &["scan", "--staged", "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let found = findings(&out);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["path"], "src/leak.py", "repo-relative, whatever the cwd");
    assert_eq!(found[0]["rule"], "github.pat");
    assert_eq!((found[0]["line"].as_u64(), found[0]["column"].as_u64()), (Some(2), Some(6)));
    let summary = jsonl(&out.stdout).pop().unwrap();
    assert_eq!(summary["files"], 5);

    // Human output names the place.
    let out = sluice_in(d, &["scan", "--staged", "--color", "never"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("src/leak.py:2:6"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // Staging the fix makes the index clean (the untracked file is not staged).
    git(d, &["add", "src/leak.py"]);
    let out = sluice_in(d, &["scan", "--staged"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn staged_after_a_commit_sees_only_changes_and_skips_what_it_cannot_read() {
    let dir = repo();
    let d = dir.path();
    let mut rng = Rng::new(62);
    write(d, "old.py", &format!("T = \"{}\"\n", util::github_token(&mut rng, "ghp_")));
    git(d, &["add", "."]);
    git(d, &["commit", "-q", "--no-verify", "-m", "old"]);
    // Already committed: not part of the next commit.
    write(d, "new.py", "x = 1\n");
    #[cfg(unix)]
    std::os::unix::fs::symlink("old.py", d.join("link.py")).unwrap();
    git(d, &["add", "."]);
    let out = sluice_in(d, &["scan", "--staged", "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let records = jsonl(&out.stdout);
    #[cfg(unix)]
    assert!(records.iter().any(|r| r["kind"] == "skipped" && r["reason"] == "symlink" && r["path"] == "link.py"));
    assert_eq!(records.last().unwrap()["files"], 1);
}

#[test]
fn staged_outside_a_repository_is_a_usage_error() {
    let dir = util::tempdir();
    let out = sluice_in(dir.path(), &["scan", "--staged"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not inside a git repository") && err.contains("hint:"), "{err}");
    let out = sluice_in(dir.path(), &["scan", "--staged", "x"]);
    assert_eq!(out.status.code(), Some(2), "--staged takes no paths");
}

/// The hook as a user installs it, run by `pre-commit` itself. Skipped (and says so) when
/// `pre-commit` is not installed: cargo test stays offline; .ci/run installs it.
#[test]
fn pre_commit_hook_refuses_a_secret_and_passes_clean_files() {
    if Command::new("pre-commit").arg("--version").output().is_err() {
        eprintln!("skipped: pre-commit is not on PATH (pip install pre-commit)");
        return;
    }
    // The published hook definition is what users get.
    let hooks = std::fs::read_to_string(util::root().join(".pre-commit-hooks.yaml")).unwrap();
    assert!(hooks.contains("id: sluice") && hooks.contains("entry: sluice scan --staged"), "{hooks}");
    assert!(hooks.contains("pass_filenames: false"), "{hooks}");

    let dir = repo();
    let d = dir.path();
    let cache = util::tempdir();
    let config = format!(
        "repos:\n- repo: local\n  hooks:\n  - id: sluice\n    name: sluice\n    entry: {} scan --staged --no-progress\n    language: system\n    pass_filenames: false\n",
        util::bin().display()
    );
    write(d, ".pre-commit-config.yaml", &config);
    let pre_commit = |args: &[&str]| {
        Command::new("pre-commit")
            .current_dir(d)
            .args(args)
            .env("PRE_COMMIT_HOME", cache.path())
            .env("HOME", d)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = pre_commit(&["install"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let commit = |msg: &str| {
        Command::new("git")
            .current_dir(d)
            .args(["commit", "-q", "-m", msg])
            .env("PRE_COMMIT_HOME", cache.path())
            .env("HOME", d)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let mut rng = Rng::new(63);
    write(d, "deploy.sh", &format!("export GITHUB_TOKEN={}\n", util::github_token(&mut rng, "ghp_")));
    git(d, &["add", ".pre-commit-config.yaml", "deploy.sh"]);
    let refused = commit("add deploy script");
    let text = String::from_utf8_lossy(&refused.stdout).into_owned() + &String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "the commit must be refused:\n{text}");
    assert!(text.contains("deploy.sh:1:21") && text.contains("github.pat"), "readable message:\n{text}");
    assert!(text.contains("how to fix:"), "{text}");

    write(d, "deploy.sh", "export GITHUB_TOKEN=\"$(cat /run/secrets/gh)\"\n");
    git(d, &["add", "deploy.sh"]);
    let passed = commit("add deploy script");
    let text = String::from_utf8_lossy(&passed.stdout).into_owned() + &String::from_utf8_lossy(&passed.stderr);
    assert!(passed.status.success(), "a clean commit must pass:\n{text}");
}

#[test]
fn baseline_suppresses_known_secrets_wherever_they_move() {
    let dir = util::tempdir();
    let d = dir.path();
    let mut rng = Rng::new(64);
    let npm = util::npm_token(&mut rng);
    write(d, "src/a.js", &format!("const t = '{npm}';\n"));
    let base = util::tempdir();
    let baseline = base.path().join("baseline.json");
    let b = baseline.to_str().unwrap();
    let out = sluice_in(d, &["baseline", "create", ".", "-o", b]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrote a baseline of 1 findings"));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&baseline).unwrap()).unwrap();
    assert_eq!(doc["findings"].as_array().unwrap().len(), 1);

    // Moved to another file and line: still suppressed; exit 0.
    std::fs::remove_file(d.join("src/a.js")).unwrap();
    write(d, "lib/moved.js", &format!("\n\n// moved\nconst t = '{npm}';\n"));
    let out = sluice_in(d, &["scan", ".", "--format", "jsonl", "--baseline", b]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(findings(&out).is_empty());
    let out = sluice_in(d, &["scan", ".", "--color", "never", "--baseline", b]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 suppressed by the baseline"));

    // A new secret is reported; so is the old one under a jsonl baseline that lacks it.
    let gh = util::github_token(&mut rng, "ghp_");
    write(d, "lib/new.js", &format!("const g = '{gh}';\n"));
    let out = sluice_in(d, &["scan", ".", "--format", "jsonl", "--baseline", b]);
    assert_eq!(out.status.code(), Some(1));
    let found = findings(&out);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["path"], "./lib/new.js");

    // A jsonl or sarif output works as a baseline too.
    for format in ["jsonl", "sarif"] {
        let path = base.path().join(format!("b.{format}"));
        let out = sluice_in(d, &["scan", ".", "--format", format, "-o", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1));
        let out = sluice_in(d, &["scan", ".", "--format", "jsonl", "--baseline", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{format}: {}", String::from_utf8_lossy(&out.stdout));
    }

    // A missing or broken baseline is a usage error, not a silent full report.
    let out = sluice_in(d, &["scan", ".", "--baseline", "/no/such/baseline.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read baseline '/no/such/baseline.json'"));
    let broken = write(base.path(), "broken.json", "{\"kind\":\"finding\"}\nnot json\n");
    let out = sluice_in(d, &["scan", ".", "--baseline", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn inline_allow_suppresses_one_line() {
    let dir = util::tempdir();
    let d = dir.path();
    let mut rng = Rng::new(65);
    let mut tok = || util::github_token(&mut rng, "ghp_");
    let text = format!(
        "a = '{}'  # sluice:allow\nb = '{}'  // sluice:allow github.pat\nc = '{}'  # sluice:allow npm.token\nd = '{}'\n/* sluice:allow */ e = '{}'\n",
        tok(),
        tok(),
        tok(),
        tok(),
        tok()
    );
    write(d, "t.py", &text);
    let out = sluice_in(d, &["scan", ".", "--format", "jsonl"]);
    let lines: Vec<u64> = findings(&out).iter().map(|f| f["line"].as_u64().unwrap()).collect();
    // Bare and same-rule marks allow; a mark for another rule does not; it covers its line only.
    assert_eq!(lines, [3, 4]);

    let only = util::tempdir();
    write(only.path(), "t.py", &format!("K = \"{}\"  # sluice:allow\n", util::github_token(&mut Rng::new(66), "ghp_")));
    assert_eq!(sluice_in(only.path(), &["scan", "."]).status.code(), Some(0));
}

#[test]
fn config_file_is_found_and_applied() {
    let dir = repo();
    let d = dir.path();
    let mut rng = Rng::new(67);
    let gh = util::github_token(&mut rng, "ghp_");
    write(d, "src/a.py", &format!("T = '{gh}'\n"));
    write(d, "vendor/lib/b.py", &format!("T = '{}'\n", util::github_token(&mut rng, "ghp_")));
    write(d, "dist/app.min.js", &format!("var t='{}';\n", util::github_token(&mut rng, "ghp_")));
    write(d, "docs/example.md", "token: ghp_EXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLE12\n");
    write(d, "extra/acme.txt", "acme_0123456789abcdefghijklmn\n");
    let rules = util::root().join("tests/golden/rules.toml");
    write(
        d,
        "sluice.toml",
        &format!(
            "exclude = ['vendor/', '*.min.js']\ndisable_rules = ['github.oauth-token']\nrules = ['{}']\nallow_secrets = ['^{gh}$']\n\n[limits]\nmax_depth = 4\n",
            rules.display()
        ),
    );
    // Found at the scan root, and at the git top level when scanning a subdirectory.
    for (cwd, arg) in [(d.to_path_buf(), "."), (d.join("src"), ".")] {
        let out = sluice_in(&cwd, &["scan", arg, "--format", "jsonl"]);
        let records = jsonl(&out.stdout);
        let found: Vec<&str> =
            records.iter().filter(|r| r["kind"] == "finding").map(|r| r["rule"].as_str().unwrap()).collect();
        if cwd == d {
            // Only the extra rule fires: a.py is allow-listed, vendor/ and *.min.js are excluded.
            assert_eq!(found, ["acme.api-key"], "{records:#?}");
            let skipped: Vec<&str> =
                records.iter().filter(|r| r["reason"] == "excluded").map(|r| r["path"].as_str().unwrap()).collect();
            assert_eq!(skipped.len(), 2, "{skipped:?}");
        } else {
            assert!(found.is_empty(), "{records:#?}");
        }
    }
    // --config names another file; a flag beats it.
    let other = write(d, "ci/strict.toml", "exclude = ['extra']\n");
    let out = sluice_in(d, &["scan", ".", "--format", "jsonl", "--config", other.to_str().unwrap()]);
    let found: Vec<String> = findings(&out).iter().map(|f| f["path"].as_str().unwrap().to_string()).collect();
    assert!(found.contains(&"./src/a.py".to_string()) && !found.iter().any(|p| p.contains("extra/")), "{found:?}");

    // Mistakes are errors with a hint, exit 2.
    let cases: &[(&str, &str)] = &[
        ("no_such_option = 1\n", "unknown field `no_such_option`"),
        ("[limits]\nmax_dpth = 2\n", "unknown field `max_dpth`"),
        ("disable_rules = ['nope.nope']\n", "cannot disable unknown rule 'nope.nope'"),
        ("allow_secrets = ['(']\n", "invalid allow_secrets pattern '('"),
    ];
    for &(text, want) in cases {
        let bad = write(d, "bad.toml", text);
        let out = sluice_in(d, &["scan", ".", "--config", bad.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {err}");
        assert!(err.contains(want), "{text}: {err}");
        assert!(err.contains("hint:") || !want.starts_with("unknown"), "{err}");
    }
    let out = sluice_in(d, &["scan", ".", "--config", "/no/such/sluice.toml"]);
    assert_eq!(out.status.code(), Some(2));
}

/// Runs `cmd` under a pseudo-terminal with `script` (util-linux); `None` when it is missing.
fn under_pty(cmd: &str, env: &[(&str, &str)]) -> Option<String> {
    let mut c = Command::new("script");
    c.args(["-qec", cmd, "/dev/null"]).stdin(Stdio::null()).env_remove("NO_COLOR");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().ok()?;
    if !out.status.success() && out.stdout.is_empty() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn progress_on_a_terminal_only() {
    let dir = crate::human::golden_fixture();
    let rules = util::root().join("tests/golden/rules.toml");
    let base = format!(
        "'{}' scan '{}' --no-builtin-rules --rules '{}'",
        util::bin().display(),
        dir.path().display(),
        rules.display()
    );
    let Some(tty) = under_pty(&base, &[]) else {
        eprintln!("skipped: 'script' (util-linux) is not available to make a terminal");
        return;
    };
    assert!(tty.contains("scanning: "), "progress line expected on a terminal: {tty:?}");
    assert!(tty.contains("\r\x1b[K"), "drawn in place and erased: {tty:?}");
    // Color on a terminal, none under NO_COLOR.
    assert!(tty.contains("\x1b[31mhigh"), "{tty:?}");
    let no_color = under_pty(&base, &[("NO_COLOR", "1")]).unwrap();
    assert!(!no_color.contains("\x1b[31m"), "{no_color:?}");
    for flag in ["--no-progress", "--quiet"] {
        let off = under_pty(&format!("{base} {flag}"), &[]).unwrap();
        assert!(!off.contains("scanning: "), "{flag}: {off:?}");
    }
    // Piped stderr: never.
    let out = Command::new(util::bin())
        .args(["scan", dir.path().to_str().unwrap(), "--no-builtin-rules", "--rules", rules.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("scanning: ") && !err.contains('\r'), "{err:?}");
}
