//! Artifact checks (issue 5): credential files, source maps (files and inline) and `.git`
//! directories, on plain directories, inside a `.tgz` and a zip, and in a real `npm pack` output.
//! Every fixture is generated here; secrets are fake values built at test time.

use std::io::Write;
use std::path::Path;

use base64::Engine as _;
use sluicebox::config::Config;
use sluicebox::input::SkipReason;
use sluicebox::report::Record;

use crate::util::{self, Collect, Rng};

/// `(rule id, location, line)` of every finding.
fn found(c: &Collect) -> Vec<(String, String, Option<u64>)> {
    util::locations(c).into_iter().map(|(rule, loc, line, _)| (rule, loc, line)).collect()
}

fn has(c: &Collect, rule_prefix: &str, location_suffix: &str, line: Option<u64>) -> bool {
    found(c).iter().any(|(r, l, n)| r.starts_with(rule_prefix) && l.ends_with(location_suffix) && *n == line)
}

fn count(c: &Collect, rule: &str) -> usize {
    found(c).iter().filter(|(r, _, _)| r == rule).count()
}

fn skipped(c: &Collect, reason: SkipReason, location_suffix: &str) -> bool {
    c.records.iter().any(|r| {
        matches!(r, Record::Skipped { chain, reason: why, .. } if *why == reason && chain.to_string().ends_with(location_suffix))
    })
}

fn write_tree(root: &Path, files: &[(String, Vec<u8>)]) {
    for (name, bytes) in files {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

fn tgz(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    crate::util::tgz(files)
}

fn zip(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in files {
        z.start_file(name.as_str(), zip::write::SimpleFileOptions::default()).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap().into_inner()
}

fn zlib(bytes: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(bytes).unwrap();
    z.finish().unwrap()
}

/// A loose git object for `blob` and its `objects/ab/cdef…` path.
fn loose_blob(blob: &[u8]) -> (String, Vec<u8>) {
    use sha2::Digest;
    let mut raw = format!("blob {}\0", blob.len()).into_bytes();
    raw.extend_from_slice(blob);
    let oid = sha2::Sha256::digest(&raw)[..20].iter().fold(String::new(), |mut s, b| {
        let _ = std::fmt::Write::write_fmt(&mut s, format_args!("{b:02x}"));
        s
    });
    (format!("objects/{}/{}", &oid[..2], &oid[2..]), zlib(&raw))
}

fn source_map(sources: &[(&str, &str)]) -> String {
    let names: Vec<&str> = sources.iter().map(|s| s.0).collect();
    let contents: Vec<&str> = sources.iter().map(|s| s.1).collect();
    serde_json::json!({"version": 3, "file": "index.js", "sources": names, "sourcesContent": contents, "names": [], "mappings": "AAAA"})
        .to_string()
}

/// The fake package every layout test ships: what each check must find, with its secrets.
struct Fixture {
    files: Vec<(String, Vec<u8>)>,
    object: String,
}

fn fixture(rng: &mut Rng) -> Fixture {
    let (t1, t2, t3, t4, npm) = (
        util::github_token(rng, "ghp_"),
        util::github_token(rng, "ghp_"),
        util::github_token(rng, "ghp_"),
        util::github_token(rng, "ghp_"),
        util::npm_token(rng),
    );
    let orig = format!("export const a = 1;\n\n\nexport const key = '{t1}';\n");
    let inline_src = format!("// util\nconst t = '{t2}';\n");
    let inline_map = source_map(&[("../src/util.ts", &inline_src)]);
    let inline_js = format!(
        "console.log(1);\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,{}\n",
        base64::engine::general_purpose::STANDARD.encode(&inline_map)
    );
    let (object, obj_bytes) = loose_blob(format!("line1\nline2\nTOKEN={t3}\n").as_bytes());
    let config = format!(
        "[core]\n\tbare = false\n[remote \"origin\"]\n\turl = https://deployer:{t4}@github.com/acme/widget.git\n"
    );
    let files = vec![
        ("package.json".into(), br#"{"name":"widget","version":"1.0.0"}"#.to_vec()),
        (".env".into(), b"NODE_ENV=production\nDEBUG=0\n".to_vec()),
        (".npmrc".into(), format!("//registry.npmjs.org/:_authToken={npm}\n").into_bytes()),
        ("dist/index.js".into(), b"export const a=1;\n//# sourceMappingURL=index.js.map\n".to_vec()),
        ("dist/index.js.map".into(), source_map(&[("../src/config.ts", &orig)]).into_bytes()),
        ("dist/util.js".into(), inline_js.into_bytes()),
        ("dist/other.js".into(), b"x();\n//# sourceMappingURL=other.js.map\n".to_vec()),
        (".git/HEAD".into(), b"ref: refs/heads/main\n".to_vec()),
        (".git/config".into(), config.into_bytes()),
        (format!(".git/{object}"), obj_bytes),
        // An empty (but valid) pack: decoded, nothing in it (issue 13).
        (".git/objects/pack/pack-0123.pack".into(), [&b"PACK\0\0\0\x02\0\0\0\0"[..], &[0; 20]].concat()),
    ];
    Fixture { files, object }
}

/// The assertions shared by every layout: `at` is the location prefix of the package root
/// (`dir/` for a tree, `pkg.tgz!package/` for an archive).
fn assert_fixture(c: &Collect, at: &str, object: &str) {
    let all = found(c);
    let want: &[(&str, String, Option<u64>)] = &[
        ("credential-file.dotenv", format!("{at}.env"), None),
        ("credential-file.npmrc", format!("{at}.npmrc"), None),
        ("npm.", format!("{at}.npmrc"), Some(1)),
        ("source-map.file", format!("{at}dist/index.js.map"), None),
        ("github.", format!("{at}dist/index.js.map!../src/config.ts"), Some(4)),
        ("source-map.inline", format!("{at}dist/util.js"), None),
        ("github.", format!("{at}dist/util.js!../src/util.ts"), Some(2)),
        ("git.repository", format!("{at}.git"), None),
        ("github.", format!("{at}.git/config"), Some(4)),
        ("github.", format!("{at}.git/{object}"), Some(3)),
    ];
    for (rule, loc, line) in want {
        assert!(
            all.iter().any(|(r, l, n)| r.starts_with(rule) && l.ends_with(loc.as_str()) && n == line),
            "missing {rule} at {loc}:{line:?} in\n{all:#?}"
        );
    }
    assert_eq!(all.iter().filter(|(r, l, _)| r == "git.repository" && l.contains(at)).count(), 1, "{all:#?}");
    // One finding per secret: the map itself is not reported again, the config URL once.
    assert!(!all.iter().any(|(r, l, _)| r.starts_with("github.") && l.ends_with("dist/index.js.map")), "{all:#?}");
    assert_eq!(all.iter().filter(|(_, l, _)| l.ends_with(&format!("{at}.git/config"))).count(), 1, "{all:#?}");
    assert!(!all.iter().any(|(_, l, _)| l.contains("other.js")), "an external map that is not shipped is no finding");
    assert!(!skipped(c, SkipReason::Unsupported, ".git/objects/pack/pack-0123.pack"), "packs are decoded");
}

#[test]
fn every_check_on_a_plain_directory() {
    let dir = util::tempdir();
    let f = fixture(&mut Rng::new(5));
    let pkg = dir.path().join("widget");
    write_tree(&pkg, &f.files);
    let c = util::scan_paths(&[dir.path()]);
    assert_fixture(&c, "widget/", &f.object);
}

/// Streamed units (a large file, an archive member read from a decompressor) get the same checks.
#[test]
fn every_check_on_streamed_files() {
    let dir = util::tempdir();
    let f = fixture(&mut Rng::new(15));
    write_tree(&dir.path().join("widget"), &f.files);
    let io = sluicebox::config::IoOptions { read_max: 0, ..Default::default() };
    let config = Config { inputs: vec![dir.path().to_path_buf()], threads: 2, io, ..Config::default() };
    assert_fixture(&util::scan_with(&config), "widget/", &f.object);
}

#[test]
fn every_check_inside_a_tgz_and_a_zip() {
    let dir = util::tempdir();
    let f = fixture(&mut Rng::new(6));
    let prefixed: Vec<(String, Vec<u8>)> = f.files.iter().map(|(n, b)| (format!("package/{n}"), b.clone())).collect();
    std::fs::write(dir.path().join("widget-1.0.0.tgz"), tgz(&prefixed)).unwrap();
    std::fs::write(dir.path().join("widget-1.0.0.zip"), zip(&prefixed)).unwrap();
    let c = util::scan_paths(&[dir.path()]);
    assert_fixture(&c, "widget-1.0.0.tgz!package/", &f.object);
    assert_fixture(&c, "widget-1.0.0.zip!package/", &f.object);
    // One repository per top-level input.
    assert_eq!(count(&c, "git.repository"), 2);
}

#[test]
fn a_clean_package_is_quiet() {
    let dir = util::tempdir();
    let files: Vec<(String, Vec<u8>)> = vec![
        ("package/package.json".into(), br#"{"name":"ok","files":["dist"]}"#.to_vec()),
        ("package/dist/index.js".into(), b"module.exports=1;\n".to_vec()),
        ("package/.env.example".into(), b"API_KEY=your-key-here\n".to_vec()),
        ("package/.npmrc".into(), b"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n".to_vec()),
        ("package/.github/workflows/ci.yml".into(), b"on: push\n".to_vec()),
        ("package/.gitignore".into(), b"node_modules\n".to_vec()),
        ("package/certs/ca.pem".into(), b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".to_vec()),
        ("package/docs/linker.map".into(), b"Memory map\n.text 0x0000 0x100\n".to_vec()),
    ];
    write_tree(dir.path(), &files);
    std::fs::write(dir.path().join("ok-1.0.0.tgz"), tgz(&files)).unwrap();
    let c = util::scan_paths(&[dir.path()]);
    assert!(found(&c).is_empty(), "{:#?}", found(&c));
}

#[test]
fn credential_files_by_name_and_content() {
    let mut rng = Rng::new(7);
    let pem_body = rng.alnum(64);
    let key = format!("-----BEGIN OPENSSH PRIVATE KEY-----\n{pem_body}\n-----END OPENSSH PRIVATE KEY-----\n");
    let gcp = serde_json::json!({"type": "service_account", "private_key": key.replace("OPENSSH ", "")}).to_string();
    let pw = rng.alnum(16);
    let cases: &[(&str, String, &str)] = &[
        (".env.production", "DB_HOST=db\n".into(), "credential-file.dotenv"),
        (".pypirc", format!("[pypi]\nusername = __token__\npassword = {pw}\n"), "credential-file.pypirc"),
        (".netrc", format!("machine example.com login bob password {pw}\n"), "credential-file.netrc"),
        (".git-credentials", format!("https://bob:{pw}@example.com\n"), "credential-file.git-credentials"),
        (".ssh/id_ed25519", key.clone(), "credential-file.private-key"),
        ("certs/server.key", key.clone(), "credential-file.private-key"),
        ("certs/client.p12", "\x30\u{82}\x05\x00binary".into(), "credential-file.keystore"),
        ("android/release.keystore", "\u{fe}\u{ed}\u{fe}\u{ed}".into(), "credential-file.keystore"),
        ("infra/terraform.tfstate", r#"{"version":4,"resources":[]}"#.into(), "credential-file.terraform-state"),
        ("infra/terraform.tfstate.backup", r#"{"version":4}"#.into(), "credential-file.terraform-state"),
        (
            ".docker/config.json",
            format!(r#"{{"auths":{{"r.example":{{"auth":"{pw}"}}}}}}"#),
            "credential-file.docker-config",
        ),
        (
            ".kube/config",
            format!("apiVersion: v1\nusers:\n- name: a\n  user:\n    token: {pw}\n"),
            "credential-file.kubeconfig",
        ),
        ("site/.htpasswd", "bob:$apr1$x$y\n".into(), "credential-file.htpasswd"),
        ("gcp/service-account-prod.json", gcp, "credential-file.gcp-service-account"),
        (".bash_history", "ls\ncd /\n".into(), "credential-file.shell-history"),
    ];
    let negatives: &[(&str, &str)] = &[
        (".env.sample", "API_KEY=changeme\n"),
        (".env.template", "API_KEY=\n"),
        ("empty/.env", "# nothing set\n"),
        ("refs/.pypirc", "[pypi]\nusername = __token__\npassword = ${PYPI_TOKEN}\n"),
        (".ssh/id_ed25519.pub", "ssh-ed25519 AAAAC3Nza bob@host\n"),
        ("certs/ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
        ("helper/.docker/config.json", r#"{"auths":{"r.example":{}},"credsStore":"desktop"}"#),
        ("exec/.kube/config", "users:\n- name: a\n  user:\n    exec:\n      command: aws\n"),
        ("gcp/credentials.json", r#"{"installed":{"client_id":"x.apps.googleusercontent.com"}}"#),
    ];
    let dir = util::tempdir();
    for (name, text, _) in cases {
        write_tree(dir.path(), &[(format!("pos/{name}"), text.clone().into_bytes())]);
    }
    for (name, text) in negatives {
        write_tree(dir.path(), &[(format!("neg/{name}"), text.as_bytes().to_vec())]);
    }
    let c = util::scan_paths(&[dir.path()]);
    let all = found(&c);
    for (name, _, rule) in cases {
        let hits = all.iter().filter(|(r, l, _)| r == rule && l.ends_with(&format!("pos/{name}"))).count();
        assert_eq!(hits, 1, "{rule} for {name}:\n{all:#?}");
    }
    let check_hits: Vec<_> =
        all.iter().filter(|(r, l, _)| l.contains("/neg/") && r.starts_with("credential-file.")).collect();
    assert!(check_hits.is_empty(), "{check_hits:#?}");
    assert!(all.iter().filter(|(r, _, _)| r.starts_with("credential-file.")).all(|(_, _, line)| line.is_none()));
}

#[test]
fn content_hits_inside_a_credential_file_are_reported_separately() {
    let mut rng = Rng::new(8);
    let token = util::github_token(&mut rng, "ghp_");
    let dir = util::tempdir();
    write_tree(dir.path(), &[("app/tests/fixtures/.env".into(), format!("A=1\nGITHUB_TOKEN={token}\n").into_bytes())]);
    let c = util::scan_paths(&[dir.path()]);
    assert!(has(&c, "credential-file.dotenv", "app/tests/fixtures/.env", None), "{:#?}", found(&c));
    assert!(has(&c, "github.", "app/tests/fixtures/.env", Some(2)), "{:#?}", found(&c));
    // Under a fixtures directory both carry the test context.
    assert!(c.findings().iter().all(|f| f.context == Some(sluicebox::context::Context::Test)));
}

#[test]
fn disabled_check_rules_are_silent_but_decoding_goes_on() {
    let mut rng = Rng::new(9);
    let token = util::github_token(&mut rng, "ghp_");
    let dir = util::tempdir();
    let map = source_map(&[("src/a.ts", &format!("\nk = '{token}'\n"))]);
    write_tree(dir.path(), &[("p/a.js.map".into(), map.into_bytes()), ("p/.env".into(), b"A=1\n".to_vec())]);
    let config = Config { inputs: vec![dir.path().to_path_buf()], threads: 1, ..Config::default() };
    let mut rules = sluicebox::RuleSet::builtin().unwrap();
    let off = ["source-map.file", "source-map.sources", "credential-file.dotenv"].map(String::from);
    assert!(rules.disable(&off).is_empty());
    let engine = sluicebox::Engine::new(rules).unwrap();
    let mut c = Collect::default();
    sluicebox::scan::run(&config, &engine, &mut c, &std::sync::atomic::AtomicBool::new(false)).unwrap();
    let rules = engine.rules();
    let ids: Vec<(String, String, Option<u64>)> =
        c.findings().iter().map(|f| (rules.get(f.rule).id.clone(), f.chain.to_string(), f.line)).collect();
    assert_eq!(ids.len(), 1, "{ids:#?}");
    assert!(
        ids[0].0.starts_with("github.") && ids[0].1.ends_with("p/a.js.map!src/a.ts") && ids[0].2 == Some(2),
        "{ids:#?}"
    );
}

#[test]
fn git_remote_with_a_plain_password_and_gitdir_links() {
    let mut rng = Rng::new(10);
    let pw = format!("{}9Zq", rng.alnum(14));
    let dir = util::tempdir();
    let config =
        format!("[core]\n\tbare = false\n[remote \"origin\"]\n\turl = https://deploy:{pw}@git.example.org/a/b.git\n");
    write_tree(
        dir.path(),
        &[
            ("vendor/lib/.git/config".into(), config.into_bytes()),
            ("vendor/lib/.git/HEAD".into(), b"ref: refs/heads/main\n".to_vec()),
            ("vendor/sub/.git".into(), b"gitdir: ../../.git/modules/sub\n".to_vec()),
            // The scan root's own `.git` file (a worktree or submodule checkout) is no finding.
            (".git".into(), b"gitdir: /elsewhere/.git/worktrees/x\n".to_vec()),
        ],
    );
    let c = util::scan_paths(&[dir.path()]);
    let all = found(&c);
    let on_line_4: Vec<_> =
        all.iter().filter(|(_, l, n)| l.ends_with("vendor/lib/.git/config") && *n == Some(4)).collect();
    assert_eq!(on_line_4.len(), 1, "{all:#?}");
    assert!(has(&c, "git.repository", "vendor/lib/.git", None), "{all:#?}");
    // A `gitdir:` pointer file is not a repository (issue 12): its own, low rule.
    assert!(has(&c, "git.gitdir-file", "vendor/sub/.git", None), "{all:#?}");
    assert_eq!(count(&c, "git.repository"), 1, "{all:#?}");
}

#[test]
fn the_scan_roots_own_repository_is_not_a_finding() {
    let mut rng = Rng::new(11);
    let token = util::github_token(&mut rng, "ghp_");
    let dir = util::tempdir();
    let (object, bytes) = loose_blob(format!("a\n{token}\n").as_bytes());
    write_tree(
        dir.path(),
        &[(".git/HEAD".into(), b"ref: refs/heads/main\n".to_vec()), (format!(".git/{object}"), bytes.clone())],
    );
    let c = util::scan_paths(&[dir.path()]);
    assert!(found(&c).is_empty(), "{:#?}", found(&c));
    // Pointed at the `.git` directory itself, its objects are still inflated and scanned.
    let c = util::scan_paths(&[&dir.path().join(".git")]);
    assert_eq!(count(&c, "git.repository"), 0, "{:#?}", found(&c));
    assert!(has(&c, "github.", &format!(".git/{object}"), Some(2)), "{:#?}", found(&c));
}

#[test]
fn a_corrupt_git_object_is_an_error_and_a_bomb_is_cut() {
    let dir = util::tempdir();
    let oid = "ab".repeat(20);
    let mut corrupt = zlib(b"blob 100\0short");
    corrupt.truncate(corrupt.len() - 6);
    let mut bomb_raw = b"blob 67108864\0".to_vec();
    bomb_raw.resize(bomb_raw.len() + (64 << 20), b'a');
    write_tree(
        dir.path(),
        &[
            (format!("v/.git/objects/{}/{}", &oid[..2], &oid[2..]), corrupt),
            (format!("v/.git/objects/cd/{}", &oid[2..]), zlib(&bomb_raw)),
        ],
    );
    let config = Config {
        inputs: vec![dir.path().to_path_buf()],
        threads: 1,
        limits: sluicebox::input::Limits { max_ratio: 100, ..Default::default() },
        ..Config::default()
    };
    let c = util::scan_with(&config);
    let errors: Vec<_> = c.records.iter().filter(|r| matches!(r, Record::Error { .. })).collect();
    assert_eq!(errors.len(), 1, "{:#?}", c.records);
    assert!(skipped(&c, SkipReason::RatioLimit, &format!("objects/cd/{}", &oid[2..])), "{:#?}", c.records);
}

#[test]
fn a_source_map_over_the_cap_is_reported_not_decoded() {
    let dir = util::tempdir();
    let mut map = br#"{"version":3,"sources":["a.ts"],"mappings":""#.to_vec();
    map.resize(map.len() + sluicebox::checks::sourcemap::MAP_CAP + 10, b'A');
    map.extend_from_slice(br#"","sourcesContent":["x"]}"#);
    write_tree(dir.path(), &[("big/app.js.map".into(), map)]);
    let c = util::scan_paths(&[dir.path()]);
    assert!(has(&c, "source-map.file", "big/app.js.map", None), "{:#?}", found(&c));
    assert!(skipped(&c, SkipReason::SizeLimit, "big/app.js.map"));
}

#[test]
fn secrets_in_test_directories_carry_the_test_context() {
    let mut rng = Rng::new(12);
    let token = util::github_token(&mut rng, "ghp_");
    let dir = util::tempdir();
    let line = format!("const t = '{token}';\n").into_bytes();
    let files: Vec<(String, Vec<u8>)> = ["test", "tests", "__tests__", "fixtures", "spec", "src"]
        .iter()
        .map(|d| (format!("package/{d}/a.js"), line.clone()))
        .collect();
    std::fs::write(dir.path().join("p.tgz"), tgz(&files)).unwrap();
    let c = util::scan_paths(&[dir.path()]);
    let f = c.findings();
    assert_eq!(f.len(), 6, "{:#?}", found(&c));
    for f in f {
        let in_src = f.chain.to_string().contains("/src/");
        assert_eq!(f.context.is_none(), in_src, "{}", f.chain);
    }
}

/// The real check from the issue: `npm pack` a fixture package, scan the `.tgz`. npm (11) never
/// packs a `.git` directory, so the `.git` the issue asks about is added to the packed tarball the
/// way a publish tool that does not strip it would ship it.
#[test]
fn npm_pack_output() {
    let Ok(out) = std::process::Command::new("npm").arg("--version").output() else {
        println!("note: npm not installed; skipping the npm pack check");
        return;
    };
    if !out.status.success() {
        println!("note: npm not usable; skipping the npm pack check");
        return;
    }
    let dir = util::tempdir();
    let f = fixture(&mut Rng::new(13));
    let pkg = dir.path().join("src");
    write_tree(&pkg, &f.files);
    let out = std::process::Command::new("npm")
        .args(["pack", "--json", "--ignore-scripts", "--pack-destination"])
        .arg(dir.path())
        .current_dir(&pkg)
        .env("npm_config_cache", dir.path().join("npm-cache"))
        .env("npm_config_update_notifier", "false")
        .output()
        .unwrap();
    assert!(out.status.success(), "npm pack: {}", String::from_utf8_lossy(&out.stderr));
    let packed = dir.path().join("widget-1.0.0.tgz");
    let c = util::scan_paths(&[&packed]);
    let all = found(&c);
    let at = "widget-1.0.0.tgz!package/";
    assert!(has(&c, "credential-file.dotenv", &format!("{at}.env"), None), "{all:#?}");
    assert!(has(&c, "source-map.file", &format!("{at}dist/index.js.map"), None), "{all:#?}");
    assert!(has(&c, "github.", &format!("{at}dist/index.js.map!../src/config.ts"), Some(4)), "{all:#?}");
    assert_eq!(count(&c, "git.repository"), 0, "npm pack dropped .git: {all:#?}");

    // Re-pack with the `.git` directory kept.
    let mut members = Vec::new();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(std::fs::File::open(&packed).unwrap()));
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).unwrap();
        members.push((name, bytes));
    }
    // npm also drops `.npmrc`; add back whatever it left out.
    let dropped: Vec<(String, Vec<u8>)> = f
        .files
        .iter()
        .map(|(n, b)| (format!("package/{n}"), b.clone()))
        .filter(|(n, _)| !members.iter().any(|m| &m.0 == n))
        .collect();
    let names: Vec<&str> = dropped.iter().map(|d| d.0.as_str()).collect();
    println!("note: npm pack left out {names:?}; re-packed with them");
    assert!(names.iter().any(|n| n.starts_with("package/.git/")), "{names:?}");
    members.extend(dropped);
    std::fs::write(&packed, tgz(&members)).unwrap();
    let c = util::scan_paths(&[&packed]);
    assert_fixture(&c, at, &f.object);
}
