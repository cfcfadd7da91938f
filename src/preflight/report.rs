//! Writing a preflight [`Report`]: a human checklist (✓ pass, ! warn, ✗ fail, ? manual, with
//! evidence and one-line fixes), one JSON document (`items` plus a summary), or a minimal SARIF
//! 2.1.0 run with one rule per item id and one result per piece of evidence of each warn or fail
//! item. (Our own SARIF writer: `src/report/sarif.rs` writes scan findings, not checklist items.)

use std::io::{self, Write};

use serde_json::{Value, json};

use super::{Item, Report, Section, Status};
use crate::report::escape_control;

/// Evidence lines shown per item in human output; JSON and SARIF carry all of them.
const HUMAN_EVIDENCE: usize = 10;

fn paint(s: &str, status: Status, color: bool) -> String {
    if !color {
        return s.to_string();
    }
    let code = match status {
        Status::Pass => "32",
        Status::Warn => "33",
        Status::Fail => "31",
        Status::Manual => "36",
    };
    format!("\x1b[{code}m{s}\x1b[0m")
}

/// The human checklist.
pub fn human(report: &Report, strict: bool, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let ecosystems: Vec<&str> = report.ecosystems.iter().map(|e| e.as_str()).collect();
    writeln!(
        out,
        "sluice preflight {} ({})",
        escape_control(&report.dir.display().to_string()),
        if ecosystems.is_empty() { "no package manifest".to_string() } else { ecosystems.join(", ") }
    )?;
    writeln!(out, "publish set: {} files, {} bytes scanned", report.publish_files, report.scan.bytes)?;
    for section in Section::ALL {
        let items: Vec<&Item> = report.items.iter().filter(|i| i.section == section).collect();
        if items.is_empty() {
            continue;
        }
        writeln!(out, "\n{}", section.title())?;
        for item in items {
            let mark = paint(item.status.symbol(), item.status, color);
            let severity = item.severity.map(|s| format!(" ({})", s.as_str())).unwrap_or_default();
            writeln!(out, "  {mark} {}{severity}  [{}]", escape_control(&item.title), item.id)?;
            if matches!(item.status, Status::Warn | Status::Fail) {
                for e in item.evidence.iter().take(HUMAN_EVIDENCE) {
                    let at = match e.line {
                        Some(l) => format!("{}:{l}", e.path),
                        None => e.path.clone(),
                    };
                    writeln!(out, "      {}  {}", escape_control(&at), escape_control(&e.note))?;
                }
                if item.evidence.len() > HUMAN_EVIDENCE {
                    writeln!(out, "      … {} more (--format json lists all)", item.evidence.len() - HUMAN_EVIDENCE)?;
                }
                for line in item.detail.iter().flat_map(|d| d.lines()) {
                    writeln!(out, "        {}", escape_control(line))?;
                }
            }
            if item.status != Status::Pass
                && let Some(fix) = &item.fix
            {
                writeln!(out, "      fix: {}", escape_control(fix))?;
            }
        }
    }
    let counts: Vec<String> = Status::ALL.iter().map(|&s| format!("{} {}", report.count(s), s.as_str())).collect();
    let code = report.exit_code(strict);
    writeln!(out, "\n{}: exit {code}{}", counts.join(", "), if strict { " (--strict: warn fails)" } else { "" })?;
    out.flush()
}

fn item_json(item: &Item) -> Value {
    json!({
        "id": item.id,
        "section": item.section.as_str(),
        "title": item.title,
        "status": item.status.as_str(),
        "evidence": item.evidence.iter().map(|e| json!({"path": e.path, "line": e.line, "note": e.note})).collect::<Vec<_>>(),
        "fix": item.fix,
        "severity": item.severity.map(crate::rules::Severity::as_str),
        "detail": item.detail,
    })
}

/// The JSON document: `{dir, ecosystems, items: [...], summary: {...}, sluice_version}`.
pub fn to_json(report: &Report, strict: bool) -> Value {
    let mut summary = serde_json::Map::new();
    for s in Status::ALL {
        summary.insert(s.as_str().into(), json!(report.count(s)));
    }
    summary.insert("publish_files".into(), json!(report.publish_files));
    summary.insert("scanned_bytes".into(), json!(report.scan.bytes));
    summary.insert("findings".into(), json!(report.scan.findings));
    summary.insert("scan_errors".into(), json!(report.scan.errors));
    summary.insert("strict".into(), json!(strict));
    summary.insert("exit_code".into(), json!(report.exit_code(strict)));
    json!({
        "dir": report.dir.to_string_lossy(),
        "ecosystems": report.ecosystems.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
        "items": report.items.iter().map(item_json).collect::<Vec<_>>(),
        "summary": summary,
        "sluice_version": env!("CARGO_PKG_VERSION"),
    })
}

/// Writes [`to_json`], pretty-printed.
pub fn json(report: &Report, strict: bool, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &to_json(report, strict))?;
    writeln!(out)?;
    out.flush()
}

/// A SARIF 2.1.0 log with one run: a rule per item id, a result per evidence of each warn or
/// fail item (an item without evidence gets one result without a location).
pub fn to_sarif(report: &Report) -> Value {
    let mut rules = Vec::new();
    let mut results = Vec::new();
    for item in &report.items {
        let index = match rules.iter().position(|r: &Value| r["id"] == item.id.as_str()) {
            Some(i) => i,
            None => {
                rules.push(json!({
                    "id": item.id,
                    "name": item.id,
                    "shortDescription": {"text": format!("{}: {}", item.section.title(), item.id)},
                    "help": {"text": item.fix.clone().unwrap_or_else(|| item.title.clone())},
                    "properties": {"section": item.section.as_str(), "tags": ["preflight", item.section.as_str()]},
                }));
                rules.len() - 1
            }
        };
        let level = match item.status {
            Status::Fail => "error",
            Status::Warn => "warning",
            Status::Pass | Status::Manual => continue,
        };
        let message = |note: &str| {
            let mut text = item.title.clone();
            if !note.is_empty() {
                text = format!("{text}: {note}");
            }
            if let Some(fix) = &item.fix {
                text = format!("{text} (fix: {fix})");
            }
            json!({"text": text})
        };
        if item.evidence.is_empty() {
            results.push(json!({"ruleId": item.id, "ruleIndex": index, "level": level, "message": message("")}));
        }
        for e in &item.evidence {
            let mut physical = json!({"artifactLocation": {"uri": e.path, "uriBaseId": "%SRCROOT%"}});
            if let Some(line) = e.line {
                physical["region"] = json!({"startLine": line});
            }
            results.push(json!({
                "ruleId": item.id,
                "ruleIndex": index,
                "level": level,
                "message": message(&e.note),
                "locations": [{"physicalLocation": physical}],
            }));
        }
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "sluice",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "automationDetails": {"id": "sluice/preflight/"},
            "results": results,
        }],
    })
}

/// Writes [`to_sarif`], pretty-printed.
pub fn sarif(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &to_sarif(report))?;
    writeln!(out)?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preflight::Evidence;
    use crate::report::Summary;

    fn sample() -> Report {
        Report {
            dir: "pkg".into(),
            ecosystems: vec![crate::preflight::Ecosystem::Npm],
            items: vec![
                Item::new("publish-set.scan", Section::PublishSet, Status::Fail, "1 findings")
                    .with(Evidence::new(".env", Some(1), "stripe.secret-key"))
                    .fix("remove it"),
                Item::new("disclosure.security-policy", Section::Disclosure, Status::Warn, "no security policy")
                    .fix("add SECURITY.md"),
                Item::new("account.mfa", Section::Account, Status::Manual, "2FA").fix("enable 2FA"),
                Item::new("signing.latest-tag", Section::Signing, Status::Pass, "signed"),
            ],
            publish_files: 3,
            scan: Summary::default(),
        }
    }

    #[test]
    fn human_checklist() {
        let mut out = Vec::new();
        human(&sample(), false, false, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains(
                "  ✗ 1 findings  [publish-set.scan]\n      .env:1  stripe.secret-key\n      fix: remove it\n"
            ),
            "{text}"
        );
        assert!(text.contains("  ? 2FA  [account.mfa]\n      fix: enable 2FA\n"), "{text}");
        assert!(text.contains("  ✓ signed  [signing.latest-tag]\n"), "{text}");
        assert!(text.ends_with("1 pass, 1 warn, 1 fail, 1 manual: exit 1\n"), "{text}");
    }

    #[test]
    fn json_document() {
        let doc = to_json(&sample(), true);
        assert_eq!(doc["items"][0]["status"], "fail");
        assert_eq!(doc["items"][0]["evidence"][0]["path"], ".env");
        assert_eq!(doc["items"][0]["evidence"][0]["line"], 1);
        assert_eq!(doc["summary"]["warn"], 1);
        assert_eq!(doc["summary"]["exit_code"], 1);
    }

    #[test]
    fn sarif_run() {
        let doc = to_sarif(&sample());
        assert_eq!(doc["version"], "2.1.0");
        let run = &doc["runs"][0];
        assert_eq!(run["tool"]["driver"]["rules"].as_array().unwrap().len(), 4);
        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), 2);
        assert_eq!(results[0]["level"], "error");
        assert_eq!(results[0]["locations"][0]["physicalLocation"]["region"]["startLine"], 1);
        assert_eq!(results[1]["level"], "warning");
    }
}
