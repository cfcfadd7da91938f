//! Git objects (issue 13): a token committed then deleted in a `git gc`-ed (packed) `.git`
//! shipped in a package is found with its commit and path, in a directory and inside a `.tgz`
//! (with or without the pack's `.idx`); `scan --git` reports every reachable blob once under the
//! commit that introduced it, with `--since` / `--range`; corrupt, truncated and shallow
//! repositories and missing objects give error records (or none), never a crash.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::util::{self, Rng, jsonl};

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env("GIT_AUTHOR_DATE", "2024-05-01T09:30:00+02:00")
        .output()
        .expect("run git");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn commit_all(dir: &Path, message: &str) -> String {
    git(dir, &["add", "-A", "."]);
    git(dir, &["-c", "commit.gpgsign=false", "commit", "-q", "--no-verify", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

/// A package repository: a token committed in `config.js`, deleted, then more commits; packed.
/// Returns (repository dir, token, commit that added it).
fn packed_package(root: &Path, rng: &mut Rng) -> (std::path::PathBuf, String, String) {
    let dir = root.join("package");
    std::fs::create_dir_all(&dir).unwrap();
    git(&dir, &["init", "-q"]);
    std::fs::write(dir.join("index.js"), "module.exports = 1;\n").unwrap();
    commit_all(&dir, "init");
    let token = util::github_token(rng, "ghp_");
    std::fs::write(dir.join("config.js"), format!("// config\nmodule.exports = {{ token: \"{token}\" }};\n")).unwrap();
    let bad = commit_all(&dir, "add config");
    std::fs::remove_file(dir.join("config.js")).unwrap();
    commit_all(&dir, "remove config");
    for i in 0..5 {
        std::fs::write(dir.join(format!("f{i}.js")), format!("module.exports = {i};\n")).unwrap();
        commit_all(&dir, &format!("c{i}"));
    }
    git(&dir, &["gc", "-q"]);
    (dir, token, bad)
}

fn findings(out: &Output) -> Vec<Value> {
    jsonl(&out.stdout).into_iter().filter(|v| v["kind"] == "finding").collect()
}

fn of_kind(out: &Output, kind: &str) -> Vec<Value> {
    jsonl(&out.stdout).into_iter().filter(|v| v["kind"] == kind).collect()
}

fn github(out: &Output) -> Vec<Value> {
    findings(out).into_iter().filter(|f| f["rule"].as_str().unwrap_or("").starts_with("github.")).collect()
}

fn scan(args: &[&str]) -> Output {
    let mut all = vec!["scan", "--format", "jsonl", "--no-progress"];
    all.extend_from_slice(args);
    let out = util::sluice(&all);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"), "{}", String::from_utf8_lossy(&out.stderr));
    out
}

fn tgz(dir: &Path, skip_idx: bool) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut b = tar::Builder::new(gz);
    let mut files: Vec<_> = walk(dir);
    files.sort();
    for path in files {
        if skip_idx && path.extension().is_some_and(|e| e == "idx") {
            continue;
        }
        let name = Path::new("package").join(path.strip_prefix(dir).unwrap());
        b.append_path_with_name(&path, name).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    for file in walk(from) {
        let dest = to.join(file.strip_prefix(from).unwrap());
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&file, &dest).unwrap();
    }
}

#[test]
fn a_deleted_token_in_a_packed_shipped_git_names_its_commit_and_path() {
    let tmp = util::tempdir();
    let (dir, token, bad) = packed_package(tmp.path(), &mut Rng::new(13));
    let packs = walk(&dir.join(".git/objects")).into_iter().filter(|p| p.extension().is_some_and(|e| e == "pack"));
    assert_eq!(packs.count(), 1, "the repository is packed");

    let out = scan(&[tmp.path().to_str().unwrap()]);
    let hits = github(&out);
    assert_eq!(hits.len(), 1, "{hits:#?}");
    let f = &hits[0];
    assert_eq!(f["commit"], bad.as_str());
    assert_eq!(f["tree_path"], "config.js");
    assert_eq!(f["author_date"], "2024-05-01T09:30:00+02:00");
    assert_eq!(f["line"], 2);
    assert_eq!(f["chain"], serde_json::json!([format!("{bad}:config.js")]));
    assert!(f["path"].as_str().unwrap().ends_with("package/.git"), "{f}");
    assert!(of_kind(&out, "skipped").is_empty() && of_kind(&out, "error").is_empty(), "{out:?}");
    assert_eq!(out.status.code(), Some(1));

    // Inside a .tgz, with the .idx (wherever the tar puts it) and without it.
    for skip_idx in [false, true] {
        let archive = tmp.path().join("pkg-1.0.0.tgz");
        std::fs::write(&archive, tgz(&dir, skip_idx)).unwrap();
        let out = scan(&[archive.to_str().unwrap()]);
        let hits = github(&out);
        assert_eq!(hits.len(), 1, "{hits:#?}");
        assert_eq!(hits[0]["chain"], serde_json::json!(["package/.git", format!("{bad}:config.js")]));
        assert_eq!(hits[0]["commit"], bad.as_str());
        // The same secret, the same fingerprint as a plain file scan would give.
        let plain = tmp.path().join("plain.js");
        std::fs::write(&plain, format!("t = \"{token}\"\n")).unwrap();
        assert_eq!(github(&scan(&[plain.to_str().unwrap()]))[0]["fingerprint"], hits[0]["fingerprint"]);
    }
}

#[test]
fn history_scans_report_each_blob_once_under_the_commit_that_introduced_it() {
    let tmp = util::tempdir();
    let dir = tmp.path();
    let mut rng = Rng::new(7);
    git(dir, &["init", "-q", "-b", "main"]);
    std::fs::write(dir.join("README.md"), "hello\n").unwrap();
    let first = commit_all(dir, "init");
    let t1 = util::github_token(&mut rng, "ghp_");
    std::fs::create_dir(dir.join("src")).unwrap();
    std::fs::write(dir.join("src/a.js"), format!("const t = \"{t1}\";\n")).unwrap();
    let added = commit_all(dir, "add a");
    // The same blob under a second name, then both deleted: still one finding.
    std::fs::copy(dir.join("src/a.js"), dir.join("b.js")).unwrap();
    commit_all(dir, "copy");
    std::fs::remove_file(dir.join("src/a.js")).unwrap();
    std::fs::remove_file(dir.join("b.js")).unwrap();
    let removed = commit_all(dir, "remove");
    // A token on a side branch only.
    git(dir, &["checkout", "-q", "-b", "side"]);
    let t2 = util::npm_token(&mut rng);
    std::fs::write(dir.join(".npmrc"), format!("//registry.npmjs.org/:_authToken={t2}\n")).unwrap();
    let side = commit_all(dir, "side");
    git(dir, &["checkout", "-q", "main"]);
    git(dir, &["gc", "-q"]);
    let repo = dir.to_str().unwrap();

    let out = scan(&["--git", repo]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let gh = github(&out);
    assert_eq!(gh.len(), 1, "{gh:#?}");
    assert_eq!((gh[0]["commit"].as_str(), gh[0]["tree_path"].as_str()), (Some(added.as_str()), Some("src/a.js")));
    assert_eq!(gh[0]["path"], format!("{added}:src/a.js"));
    assert_eq!(gh[0]["line"], 1);
    let npm: Vec<_> = findings(&out).into_iter().filter(|f| f["rule"].as_str().unwrap().starts_with("npm.")).collect();
    assert!(!npm.is_empty() && npm.iter().all(|f| f["commit"] == side.as_str()), "{npm:#?}");
    assert!(of_kind(&out, "error").is_empty(), "{out:?}");
    let summary = of_kind(&out, "summary");
    assert_eq!(summary[0]["files"], 3, "README, a.js (= b.js) and .npmrc: {summary:?}");

    // The same findings as a scan of the extracted blobs, in every output format.
    for format in ["json", "sarif"] {
        let out = util::sluice(&["scan", "--git", repo, "--format", format, "--no-progress"]);
        assert!(String::from_utf8_lossy(&out.stdout).contains(&added), "{format}");
    }
    // --range and --since: only what the range adds.
    let out = scan(&["--git", repo, "--range", &format!("{added}..main")]);
    assert!(findings(&out).is_empty(), "{:#?}", findings(&out));
    assert_eq!(out.status.code(), Some(0));
    let out = scan(&["--git", repo, "--range", &format!("{first}..{removed}")]);
    assert_eq!(github(&out).len(), 1);
    assert!(!findings(&out).iter().any(|f| f["commit"] == side.as_str()));
    let out = scan(&["--git", repo, "--since", "main"]);
    assert!(findings(&out).is_empty());
    let out = scan(&["--git", repo, "--since", &first]);
    assert_eq!(github(&out).len(), 1);
    // A baseline made from the history suppresses the same secrets.
    let base = tmp.path().join("base.jsonl");
    std::fs::write(&base, scan(&["--git", repo]).stdout).unwrap();
    let out = scan(&["--git", repo, "--baseline", base.to_str().unwrap()]);
    assert_eq!((findings(&out).len(), out.status.code()), (0, Some(0)));
    // Usage errors.
    let out = util::sluice(&["scan", "--git", repo, "--since", "no-such-ref"]);
    assert_eq!(out.status.code(), Some(2));
    let out = util::sluice(&["scan", "--git", tmp.path().join("nope").to_str().unwrap(), "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn hostile_repositories_are_error_records_not_crashes() {
    let tmp = util::tempdir();
    let (dir, _, _) = packed_package(&tmp.path().join("good"), &mut Rng::new(21));
    let pack =
        walk(&dir.join(".git/objects/pack")).into_iter().find(|p| p.extension().is_some_and(|e| e == "pack")).unwrap();
    let bytes = std::fs::read(&pack).unwrap();

    // Corrupt in the middle, and truncated: an error record, exit 1 or 2, never a panic.
    for (name, damaged) in [
        ("corrupt", {
            let mut b = bytes.clone();
            let mid = b.len() / 3;
            for x in &mut b[mid..mid + 64] {
                *x ^= 0x5a;
            }
            b
        }),
        ("truncated", bytes[..bytes.len() / 2].to_vec()),
    ] {
        let copy = tmp.path().join(name).join("package");
        copy_dir(&dir, &copy);
        std::fs::write(copy.join(".git/objects/pack").join(pack.file_name().unwrap()), &damaged).unwrap();
        let out = scan(&[copy.parent().unwrap().to_str().unwrap()]);
        let errors = of_kind(&out, "error");
        assert!(!errors.is_empty(), "{name}: {out:?}");
        assert!(errors.iter().all(|e| e["message"].as_str().unwrap().starts_with("git packfile")), "{errors:#?}");
        assert!(matches!(out.status.code(), Some(1 | 2)), "{name}");
        // The same pack as the only pack of a repository scanned with --git.
        let out = scan(&["--git", copy.to_str().unwrap()]);
        assert!(matches!(out.status.code(), Some(1 | 2)), "{name}: {out:?}");
    }

    // A shallow clone: its boundary is not an error.
    let shallow = tmp.path().join("shallow");
    let url = format!("file://{}", dir.display());
    git(tmp.path(), &["clone", "-q", "--depth", "2", &url, shallow.to_str().unwrap()]);
    let out = scan(&["--git", shallow.to_str().unwrap()]);
    assert!(of_kind(&out, "error").is_empty(), "{out:?}");
    assert_eq!(out.status.code(), Some(0));

    // A missing blob (loose objects, one deleted): an error naming it, the rest scanned.
    let loose = tmp.path().join("loose");
    std::fs::create_dir(&loose).unwrap();
    git(&loose, &["init", "-q"]);
    let token = util::github_token(&mut Rng::new(3), "ghp_");
    std::fs::write(loose.join("a.js"), format!("t = \"{token}\"\n")).unwrap();
    std::fs::write(loose.join("b.js"), "gone\n").unwrap();
    commit_all(&loose, "one");
    let gone = git(&loose, &["rev-parse", "HEAD:b.js"]);
    std::fs::remove_file(loose.join(".git/objects").join(&gone[..2]).join(&gone[2..])).unwrap();
    let out = scan(&["--git", loose.to_str().unwrap()]);
    let errors = of_kind(&out, "error");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0]["message"].as_str().unwrap().contains(&gone), "{errors:#?}");
    assert_eq!(github(&out).len(), 1);
    assert_eq!(out.status.code(), Some(1));
}

/// Entries of garbage after a valid pack header: one error record (unit tests in
/// `src/git/pack.rs` cover deep and looping delta chains and oversized objects).
#[test]
fn a_pack_of_garbage_after_a_valid_header_is_an_error() {
    let tmp = util::tempdir();
    let pack_dir = tmp.path().join("p/.git/objects/pack");
    std::fs::create_dir_all(&pack_dir).unwrap();
    let mut f = std::fs::File::create(pack_dir.join("pack-1.pack")).unwrap();
    f.write_all(b"PACK\0\0\0\x02\0\0\0\x03").unwrap();
    f.write_all(&[0xff; 200]).unwrap();
    drop(f);
    let out = scan(&[tmp.path().to_str().unwrap()]);
    assert_eq!(of_kind(&out, "error").len(), 1, "{out:?}");
    assert_eq!(out.status.code(), Some(1), "git.repository is a finding");
}
