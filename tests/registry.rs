//! Registry-operator mode (issue 12): package attribution in each ecosystem (archives built here,
//! manifests after the files with findings), vendored trees, per-package source-map summaries,
//! location-free fingerprints, `sluice report`, `--shard` + `sluice merge`, and `--state`
//! (replay, invalidation when the rules change, a killed run resumed). Secrets are fake values
//! built at test time.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use serde_json::Value;

use crate::util::{self, Rng};

use util::{gz, tar_bytes, tgz};

fn zip(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in files {
        z.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap().into_inner()
}

fn secret_line(rng: &mut Rng) -> Vec<u8> {
    format!("token = '{}'\n", util::github_token(rng, "ghp_")).into_bytes()
}

/// Scans with the binary, JSON Lines; returns the records.
fn scan_jsonl(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["scan", "--format", "jsonl", "--no-progress", "--threads", "2"];
    all.extend_from_slice(args);
    let out = util::sluice(&all);
    assert!(matches!(out.status.code(), Some(0..=2)), "{}", String::from_utf8_lossy(&out.stderr));
    util::jsonl(&out.stdout)
}

fn findings(records: &[Value]) -> Vec<&Value> {
    records.iter().filter(|r| r["kind"] == "finding").collect()
}

fn pkg(f: &Value) -> String {
    let p = &f["package"];
    format!(
        "{}:{}@{}",
        p["ecosystem"].as_str().unwrap_or("?"),
        p["name"].as_str().unwrap_or("?"),
        p["version"].as_str().unwrap_or("?")
    )
}

/// One archive per ecosystem, each with its manifest *after* the file holding the secret.
fn write_ecosystems(dir: &Path, rng: &mut Rng) {
    let s = secret_line(rng);
    std::fs::write(
        dir.join("scope-widget-1.2.3.tgz"),
        tgz(&[
            ("package/lib/index.js", s.clone()),
            ("package/node_modules/left-pad/index.js", secret_line(rng)),
            ("package/node_modules/left-pad/package.json", br#"{"name":"left-pad","version":"0.0.9"}"#.to_vec()),
            ("package/package.json", br#"{"name":"@scope/widget","version":"1.2.3"}"#.to_vec()),
        ]),
    )
    .unwrap();
    std::fs::write(
        dir.join("tiny-crate-0.4.0.crate"),
        tgz(&[
            ("tiny-crate-0.4.0/src/lib.rs", s.clone()),
            ("tiny-crate-0.4.0/Cargo.toml", b"[package]\nname = \"tiny-crate\"\nversion = \"0.4.0\"\n".to_vec()),
        ]),
    )
    .unwrap();
    std::fs::write(
        dir.join("tiny_py-2.0.1-py3-none-any.whl"),
        zip(&[
            ("tiny_py/settings.py", s.clone()),
            ("tiny_py-2.0.1.dist-info/METADATA", b"Metadata-Version: 2.1\nName: tiny-py\nVersion: 2.0.1\n\n".to_vec()),
        ]),
    )
    .unwrap();
    std::fs::write(
        dir.join("tiny-py-2.0.1.tar.gz"),
        tgz(&[
            ("tiny-py-2.0.1/tiny_py/settings.py", s.clone()),
            ("tiny-py-2.0.1/PKG-INFO", b"Metadata-Version: 2.1\nName: tiny-py\nVersion: 2.0.1\n\n".to_vec()),
        ]),
    )
    .unwrap();
    let yaml = b"--- !ruby/object:Gem::Specification\nname: tinygem\nversion: !ruby/object:Gem::Version\n  version: 3.1.4\nplatform: ruby\n";
    std::fs::write(
        dir.join("tinygem-3.1.4.gem"),
        tar_bytes(&[("data.tar.gz", tgz(&[("lib/tinygem.rb", s)])), ("metadata.gz", gz(yaml))]),
    )
    .unwrap();
}

#[test]
fn every_finding_in_a_package_names_it_in_each_ecosystem() {
    let dir = util::tempdir();
    write_ecosystems(dir.path(), &mut Rng::new(120));
    let records = scan_jsonl(&[dir.path().to_str().unwrap()]);
    let got: BTreeSet<(String, String, String)> = findings(&records)
        .iter()
        .map(|f| {
            let base = Path::new(f["path"].as_str().unwrap()).file_name().unwrap().to_string_lossy().into_owned();
            let dep = if f["dependency"].is_object() {
                f["dependency"]["name"].as_str().unwrap().to_string()
            } else {
                String::new()
            };
            (base, pkg(f), dep)
        })
        .collect();
    let want: BTreeSet<(String, String, String)> = [
        ("scope-widget-1.2.3.tgz", "npm:@scope/widget@1.2.3", ""),
        ("scope-widget-1.2.3.tgz", "npm:@scope/widget@1.2.3", "left-pad"),
        ("tiny-crate-0.4.0.crate", "crates:tiny-crate@0.4.0", ""),
        ("tiny_py-2.0.1-py3-none-any.whl", "pypi:tiny-py@2.0.1", ""),
        ("tiny-py-2.0.1.tar.gz", "pypi:tiny-py@2.0.1", ""),
        ("tinygem-3.1.4.gem", "rubygems:tinygem@3.1.4", ""),
    ]
    .iter()
    .map(|(a, b, c)| ((*a).to_string(), (*b).to_string(), (*c).to_string()))
    .collect();
    assert_eq!(got, want);
    // The same secret in the sdist and the wheel (and elsewhere): one fingerprint.
    let fps: BTreeSet<&str> = findings(&records)
        .iter()
        .filter(|f| f["path"].as_str().unwrap().contains("tiny"))
        .map(|f| f["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(fps.len(), 1);
}

#[test]
fn without_a_manifest_the_file_name_names_the_package() {
    let dir = util::tempdir();
    let mut rng = Rng::new(121);
    std::fs::write(dir.path().join("sha-1-0.10.0.crate"), tgz(&[("sha-1-0.10.0/src/lib.rs", secret_line(&mut rng))]))
        .unwrap();
    let records = scan_jsonl(&[dir.path().to_str().unwrap()]);
    let f = findings(&records);
    assert_eq!(f.len(), 1);
    assert_eq!(pkg(f[0]), "crates:sha-1@0.10.0");
}

#[test]
fn vendored_trees_on_disk_use_the_nearest_manifest_and_human_output_groups_by_package() {
    let dir = util::tempdir();
    let mut rng = Rng::new(122);
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("app/node_modules/a/package.json", br#"{"name":"a","version":"1.0.0"}"#.to_vec()),
        ("app/node_modules/a/lib/x.js", secret_line(&mut rng)),
        ("app/node_modules/a/node_modules/@s/b/package.json", br#"{"name":"@s/b","version":"2.0.0"}"#.to_vec()),
        ("app/node_modules/a/node_modules/@s/b/y.js", secret_line(&mut rng)),
        ("app/vendor/libc/Cargo.toml", b"[package]\nname = \"libc\"\nversion = \"0.2.0\"\n".to_vec()),
        ("app/vendor/libc/src/lib.rs", secret_line(&mut rng)),
        ("app/venv/lib/site-packages/yaml_x-6.0.dist-info/METADATA", b"Name: yaml-x\nVersion: 6.0\n\n".to_vec()),
        ("app/venv/lib/site-packages/yaml_x/k.py", secret_line(&mut rng)),
        ("app/src/main.js", secret_line(&mut rng)),
    ];
    for (name, bytes) in &files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    let records = scan_jsonl(&[dir.path().to_str().unwrap()]);
    let mut got: Vec<(String, String)> = findings(&records)
        .iter()
        .map(|f| {
            let p = f["path"].as_str().unwrap();
            let rel = p[p.find("app/").unwrap()..].to_string();
            (rel, if f["package"].is_object() { pkg(f) } else { String::new() })
        })
        .collect();
    got.sort();
    let want = [
        ("app/node_modules/a/lib/x.js", "npm:a@1.0.0"),
        ("app/node_modules/a/node_modules/@s/b/y.js", "npm:@s/b@2.0.0"),
        ("app/src/main.js", ""),
        ("app/vendor/libc/src/lib.rs", "crates:libc@0.2.0"),
        ("app/venv/lib/site-packages/yaml_x/k.py", "pypi:yaml-x@6.0"),
    ];
    assert_eq!(got, want.map(|(a, b)| (a.to_string(), b.to_string())));
    let out = util::sluice(&["scan", "--no-progress", "--color", "never", dir.path().to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    let headers: Vec<&str> =
        text.lines().filter(|l| l.starts_with("npm:") || l.starts_with("crates:") || l.starts_with("pypi:")).collect();
    assert_eq!(headers, ["npm:@s/b@2.0.0", "npm:a@1.0.0", "pypi:yaml-x@6.0", "crates:libc@0.2.0"], "{text}");
}

fn source_map(sources: &[(&str, &str)], build_path: bool) -> Vec<u8> {
    let names: Vec<String> = sources
        .iter()
        .map(|(n, _)| if build_path { format!("/home/builder/w/{n}") } else { format!("../{n}") })
        .collect();
    let contents: Vec<&str> = sources.iter().map(|(_, c)| *c).collect();
    serde_json::json!({"version": 3, "sources": names, "sourcesContent": contents, "mappings": "AAAA"})
        .to_string()
        .into_bytes()
}

#[test]
fn source_maps_are_summarised_per_package_and_secrets_in_them_still_reported() {
    let dir = util::tempdir();
    let mut rng = Rng::new(123);
    let token = util::github_token(&mut rng, "ghp_");
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..40 {
        // Half embed a source the package does not ship; one embeds a secret.
        let body = if i == 7 { format!("const t = '{token}';\n") } else { "export const x = 1;\n".to_string() };
        let name = format!("src/m{i}.ts");
        files.push((format!("package/dist/m{i}.js.map"), source_map(&[(&name, &body)], i == 3)));
        if i % 2 == 0 {
            files.push((format!("package/src/m{i}.ts"), body.into_bytes()));
        }
    }
    files.push(("package/package.json".into(), br#"{"name":"mapped","version":"0.1.0"}"#.to_vec()));
    let refs: Vec<(&str, Vec<u8>)> = files.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    std::fs::write(dir.path().join("mapped-0.1.0.tgz"), tgz(&refs)).unwrap();
    let records = scan_jsonl(&[dir.path().to_str().unwrap()]);
    let f = findings(&records);
    let maps: Vec<&&Value> = f.iter().filter(|f| f["rule"].as_str().unwrap().starts_with("source-map")).collect();
    let notes: BTreeSet<(&str, &str, &str)> = maps
        .iter()
        .map(|m| (m["rule"].as_str().unwrap(), m["severity"].as_str().unwrap(), m["note"].as_str().unwrap()))
        .collect();
    assert_eq!(maps.len(), 3, "{notes:#?}");
    let by_rule = |rule: &str| maps.iter().find(|m| m["rule"] == rule).unwrap();
    assert_eq!(by_rule("source-map.file")["count"], 40);
    assert_eq!(by_rule("source-map.file")["severity"], "low");
    assert_eq!(by_rule("source-map.sources")["count"], 20, "{notes:#?}");
    assert_eq!(by_rule("source-map.sources")["severity"], "medium");
    assert!(by_rule("source-map.sources")["note"].as_str().unwrap().contains(", src/m1.ts, src/m11.ts)"), "{notes:#?}");
    assert_eq!(by_rule("source-map.build-paths")["count"], 1);
    assert!(maps.iter().all(|m| pkg(m) == "npm:mapped@0.1.0"));
    // The secret inside sourcesContent is its own finding.
    assert!(
        f.iter().any(|f| f["rule"].as_str().unwrap().starts_with("github.")
            && f["chain"][1].as_str().unwrap().ends_with("src/m7.ts")),
        "{f:#?}"
    );
}

#[test]
fn fingerprints_do_not_depend_on_where_the_scan_ran() {
    let a = util::tempdir();
    let b = util::tempdir();
    let deeper = b.path().join("moved/deeper");
    let mut rng = Rng::new(124);
    let tree: Vec<(&str, Vec<u8>)> = vec![
        ("pkg/.git", b"gitdir: ../.git/modules/pkg\n".to_vec()),
        ("pkg/vendor/x/.git/HEAD", b"ref: refs/heads/main\n".to_vec()),
        ("pkg/src/a.js", secret_line(&mut rng)),
    ];
    let archive =
        tgz(&[("package/.git", b"gitdir: ../.git/modules/p\n".to_vec()), ("package/.git/HEAD", b"ref: x\n".to_vec())]);
    for root in [a.path(), deeper.as_path()] {
        for (name, bytes) in &tree {
            let p = root.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        }
        std::fs::write(root.join("p-1.0.0.tgz"), &archive).unwrap();
    }
    let fps = |root: &Path| -> BTreeSet<(String, String, String)> {
        findings(&scan_jsonl(&[root.to_str().unwrap()]))
            .iter()
            .map(|f| (f["rule"].to_string(), f["severity"].to_string(), f["fingerprint"].to_string()))
            .collect()
    };
    let (fa, fb) = (fps(a.path()), fps(&deeper));
    assert_eq!(fa, fb);
    let rules: BTreeSet<&str> = fa.iter().map(|(r, _, _)| r.as_str()).collect();
    assert!(rules.contains("\"git.repository\"") && rules.contains("\"git.gitdir-file\""), "{fa:#?}");
    assert!(fa.iter().all(|(r, sev, _)| r != "\"git.gitdir-file\"" || sev == "\"low\""));
}

#[test]
fn report_groups_occurrences_into_secrets_with_versions() {
    let dir = util::tempdir();
    let mut rng = Rng::new(125);
    let shared = secret_line(&mut rng);
    for v in ["1.9.0", "1.10.0", "1.2.0"] {
        let files = [
            ("package/lib/a.js", shared.clone()),
            ("package/test/b.js", secret_line(&mut rng)),
            ("package/package.json", format!(r#"{{"name":"rel","version":"{v}"}}"#).into_bytes()),
        ];
        std::fs::write(dir.path().join(format!("rel-{v}.tgz")), tgz(&files)).unwrap();
    }
    let scan = dir.path().join("scan.jsonl");
    let out = util::sluice(&[
        "scan",
        dir.path().to_str().unwrap(),
        "--format",
        "jsonl",
        "--no-progress",
        "--output",
        scan.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let out = util::sluice(&["report", scan.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let secrets = doc["secrets"].as_array().unwrap();
    assert_eq!(secrets.len(), 4, "{doc:#}");
    let spread = secrets.iter().find(|s| s["occurrences"] == 3).unwrap();
    assert_eq!(spread["first_version"], "1.2.0");
    assert_eq!(spread["last_version"], "1.10.0");
    assert_eq!(spread["outside_test"], true);
    assert_eq!(spread["packages"][0]["versions"], serde_json::json!(["1.2.0", "1.9.0", "1.10.0"]));
    assert_eq!(secrets.iter().filter(|s| s["outside_test"] == false).count(), 3);
    // Sorted by spread within a severity: the shared secret first.
    assert_eq!(secrets[0]["occurrences"], 3);
    let human = util::sluice(&["report", scan.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("npm:rel 1.2.0…1.10.0") && text.contains("4 secrets in 6 occurrences"), "{text}");
}

type Key = (String, String, String, String, String, String);

fn keys(records: &[Value]) -> BTreeSet<Key> {
    findings(records)
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].to_string();
            (s("rule"), s("path"), s("chain"), s("line"), s("column"), s("fingerprint"))
        })
        .collect()
}

fn mirror(dir: &Path, n: usize, rng: &mut Rng) {
    for i in 0..n {
        let files = [
            ("package/index.js", secret_line(rng)),
            ("package/dist/i.js.map", source_map(&[("src/i.ts", "x")], false)),
            ("package/package.json", format!(r#"{{"name":"p{i}","version":"1.0.{i}"}}"#).into_bytes()),
        ];
        std::fs::write(dir.join(format!("p{i}-1.0.{i}.tgz")), tgz(&files)).unwrap();
    }
}

#[test]
fn shards_partition_the_inputs_and_merge_to_the_single_process_findings() {
    let dir = util::tempdir();
    let root = dir.path().join("mirror");
    std::fs::create_dir(&root).unwrap();
    mirror(&root, 24, &mut Rng::new(126));
    let root_s = root.to_str().unwrap();
    let whole = scan_jsonl(&[root_s]);
    let mut outs = Vec::new();
    let mut union = BTreeSet::new();
    let mut total = 0;
    for k in 1..=3 {
        let out = dir.path().join(format!("shard{k}.jsonl"));
        let shard = format!("{k}/3");
        let code = util::sluice(&[
            "scan",
            root_s,
            "--shard",
            &shard,
            "--format",
            "jsonl",
            "--no-progress",
            "--output",
            out.to_str().unwrap(),
        ])
        .status
        .code();
        assert!(matches!(code, Some(0 | 1)));
        let records = util::jsonl(&std::fs::read(&out).unwrap());
        let k = keys(&records);
        assert!(!k.is_empty(), "shard {shard} is empty: unbalanced");
        total += k.len();
        union.extend(k);
        outs.push(out);
    }
    assert_eq!(total, union.len(), "a finding in two shards");
    assert_eq!(union, keys(&whole));
    let merged = dir.path().join("merged.jsonl");
    let mut args = vec!["merge"];
    args.extend(outs.iter().map(|p| p.to_str().unwrap()));
    args.extend(["--output", merged.to_str().unwrap()]);
    assert_eq!(util::sluice(&args).status.code(), Some(1));
    let m = util::jsonl(&std::fs::read(&merged).unwrap());
    assert_eq!(keys(&m), keys(&whole));
    let summary = m.last().unwrap();
    assert_eq!(summary["kind"], "summary");
    assert_eq!(summary["files"], whole.last().unwrap()["files"]);
    assert_eq!(summary["findings"].as_u64().unwrap() as usize, keys(&whole).len());
    assert!(util::sluice(&["scan", root_s, "--shard", "4/3"]).status.code() == Some(2));
}

#[test]
fn state_replays_unchanged_archives_and_is_invalidated_by_new_rules() {
    let dir = util::tempdir();
    let root = dir.path().join("mirror");
    std::fs::create_dir(&root).unwrap();
    let mut rng = Rng::new(127);
    mirror(&root, 10, &mut rng);
    let (root_s, state) = (root.to_str().unwrap(), dir.path().join("state.db"));
    let state_s = state.to_str().unwrap();
    let first = scan_jsonl(&[root_s, "--state", state_s]);
    assert!(first.last().unwrap().get("replayed").is_none());
    mirror(&root, 11, &mut Rng::new(127)); // the same 10 archives again, plus one new
    let second = scan_jsonl(&[root_s, "--state", state_s]);
    assert_eq!(second.last().unwrap()["replayed"], 10, "{:#?}", second.last());
    assert_eq!(keys(&second), keys(&scan_jsonl(&[root_s])));
    assert_eq!(second.last().unwrap()["files"], 11);
    assert_eq!(second.last().unwrap()["members"], scan_jsonl(&[root_s]).last().unwrap()["members"]);
    // --rescan ignores the store.
    assert!(scan_jsonl(&[root_s, "--state", state_s, "--rescan"]).last().unwrap().get("replayed").is_none());
    // Another rule pack: nothing is replayed, and the new rule's findings appear.
    let rule = dir.path().join("extra.toml");
    std::fs::write(
        &rule,
        "[[rule]]\nid = \"test.name\"\ndescription = \"package name\"\ncategory = \"secret\"\nseverity = \"low\"\n\
         keywords = [\"\\\"name\\\"\"]\npattern = '''\"name\":\"(p[0-9]{1,6})\"'''\nexamples = ['\"name\":\"p1\"']\n\
         negative_examples = [\"name\"]\n",
    )
    .unwrap();
    let with_rule = scan_jsonl(&[root_s, "--state", state_s, "--rules", rule.to_str().unwrap()]);
    assert!(with_rule.last().unwrap().get("replayed").is_none(), "{:#?}", with_rule.last());
    assert_eq!(findings(&with_rule).iter().filter(|f| f["rule"] == "test.name").count(), 11);
}

#[test]
fn a_killed_run_is_resumed_from_the_state_store() {
    let dir = util::tempdir();
    let root = dir.path().join("mirror");
    std::fs::create_dir(&root).unwrap();
    mirror(&root, 150, &mut Rng::new(128));
    let (root_s, state) = (root.to_str().unwrap(), dir.path().join("state.db"));
    let out = dir.path().join("killed.jsonl");
    let mut child = std::process::Command::new(util::bin())
        .args(["scan", root_s, "--state", state.to_str().unwrap(), "--threads", "1", "--format", "jsonl"])
        .args(["--no-progress", "--output", out.to_str().unwrap()])
        .spawn()
        .unwrap();
    // Kill it once it has written something (or let it finish: the assertions hold either way).
    loop {
        let written = std::fs::read(&out).is_ok_and(|b| b.contains(&b'\n'));
        if written || child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::yield_now();
    }
    let _ = child.kill();
    let _ = child.wait();
    let resumed = scan_jsonl(&[root_s, "--state", state.to_str().unwrap()]);
    assert!(resumed.last().unwrap()["replayed"].as_u64().unwrap_or(0) >= 1, "{:#?}", resumed.last());
    assert_eq!(keys(&resumed), keys(&scan_jsonl(&[root_s])));
}

/// The Slurm recipe, run as a job array would run it (one process per `SLURM_ARRAY_TASK_ID`, no
/// scheduler needed), merges to exactly the single-process findings; the Kubernetes manifest
/// runs the same command per `JOB_COMPLETION_INDEX`.
#[test]
fn the_slurm_recipe_merges_to_a_single_scan() {
    let dir = util::tempdir();
    let root = dir.path().join("mirror");
    std::fs::create_dir(&root).unwrap();
    mirror(&root, 12, &mut Rng::new(129));
    let out = dir.path().join("out");
    let script = util::root().join("deploy/slurm/sluice-array.sbatch");
    for k in 1..=4 {
        let status = std::process::Command::new("bash")
            .arg(&script)
            .env("MIRROR", &root)
            .env("OUT", &out)
            .env("SLUICE", util::bin())
            .env("SLURM_ARRAY_TASK_ID", k.to_string())
            .env("SLURM_ARRAY_TASK_COUNT", "4")
            .env("SLURM_CPUS_PER_TASK", "1")
            .status()
            .unwrap();
        assert!(status.success(), "task {k}");
    }
    let shards: Vec<String> = (1..=4).map(|k| out.join(format!("shard-{k}.jsonl")).display().to_string()).collect();
    let merged = out.join("merged.jsonl");
    let mut args = vec!["merge"];
    args.extend(shards.iter().map(String::as_str));
    args.extend(["--output", merged.to_str().unwrap()]);
    util::sluice(&args);
    let m = util::jsonl(&std::fs::read(&merged).unwrap());
    assert_eq!(keys(&m), keys(&scan_jsonl(&[root.to_str().unwrap()])));
    let k8s = std::fs::read_to_string(util::root().join("deploy/k8s/sluice-indexed-job.yaml")).unwrap();
    assert!(k8s.contains("completionMode: Indexed") && k8s.contains("--shard \"$K/$SHARDS\""));
}
