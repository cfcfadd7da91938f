//! The dependency audit (issue 15, item 4): `npm audit`, `pip-audit` or `cargo audit`, run
//! when the tool is installed and a lockfile it reads is there, with a short timeout (their
//! advisory sources are on the network). Their JSON reports become one
//! `dependencies.audit.<ecosystem>` item per ecosystem, with the advisory ids and the fixed
//! versions as evidence. `--offline` and `--no-tools` skip them; when one cannot run, the item
//! is `manual` and its title says why in one line. The programs can be replaced (tests point
//! them at scripts that replay recorded reports): see [`AuditOptions::from_env`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::tool::{self, Outcome};
use super::{Ecosystem, Evidence, Item, Options, Repo, Section, Status, plural};
use crate::rules::Severity;

/// How long an auditor may take: they ask an advisory service, and a checklist must not hang
/// on an unreachable one.
pub const AUDIT_TIMEOUT: Duration = Duration::from_mins(1);

/// How the auditors run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditOptions {
    /// `--offline`: run none of them (they need the network).
    pub offline: bool,
    /// How long each may take.
    pub timeout: Duration,
    /// Programs run instead of `npm`, `pip-audit` and `cargo` (same arguments).
    pub npm: Option<PathBuf>,
    /// Instead of `pip-audit`.
    pub pip_audit: Option<PathBuf>,
    /// Instead of `cargo` (for `cargo audit`).
    pub cargo: Option<PathBuf>,
}

impl Default for AuditOptions {
    fn default() -> AuditOptions {
        AuditOptions { offline: false, timeout: AUDIT_TIMEOUT, npm: None, pip_audit: None, cargo: None }
    }
}

impl AuditOptions {
    /// The defaults, with the programs replaced by `SLUICE_AUDIT_NPM`, `SLUICE_AUDIT_PIP` and
    /// `SLUICE_AUDIT_CARGO`, and the timeout by `SLUICE_AUDIT_TIMEOUT` (seconds), when set.
    pub fn from_env() -> AuditOptions {
        let program = |var: &str| std::env::var_os(var).filter(|v| !v.is_empty()).map(PathBuf::from);
        let timeout = std::env::var("SLUICE_AUDIT_TIMEOUT")
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map_or(AUDIT_TIMEOUT, Duration::from_secs);
        AuditOptions {
            offline: false,
            timeout,
            npm: program("SLUICE_AUDIT_NPM"),
            pip_audit: program("SLUICE_AUDIT_PIP"),
            cargo: program("SLUICE_AUDIT_CARGO"),
        }
    }
}

/// One advisory against one installed package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Advisory {
    /// GHSA, RUSTSEC, PYSEC or the registry's id.
    pub id: String,
    /// Other ids (CVE, GHSA).
    pub aliases: Vec<String>,
    /// The affected package.
    pub package: String,
    /// Its installed version, or the vulnerable range when the report gives no version (npm 7+).
    pub version: String,
    /// The advisory's severity, when the report gives one.
    pub severity: Option<Severity>,
    /// One line.
    pub title: String,
    /// What fixes it: versions, or the report's own advice.
    pub fixed: String,
}

/// An auditor invocation.
struct Plan {
    /// Shown in titles (`npm audit`).
    name: &'static str,
    program: String,
    args: Vec<String>,
    /// Where it runs.
    cwd: PathBuf,
    /// The lockfile it reads, for the evidence.
    lockfile: PathBuf,
    parse: fn(&[u8]) -> Result<Vec<Advisory>, String>,
}

/// The `dependencies.audit.<ecosystem>` item.
pub fn check(repo: &Repo, eco: Ecosystem, opts: &Options) -> Item {
    let id = format!("dependencies.audit.{}", eco.as_str());
    let (name, by_hand) = match eco {
        Ecosystem::Npm => ("npm audit", "run npm audit --omit=dev before publishing"),
        Ecosystem::Python => {
            ("pip-audit", "run pip-audit (or osv-scanner) on the locked requirements before publishing")
        }
        Ecosystem::Cargo => ("cargo audit", "run cargo audit before publishing"),
    };
    let manual = |why: String| Item::new(id.clone(), Section::Dependencies, Status::Manual, why).fix(by_hand);
    if opts.audit.offline {
        return manual(format!("{name} not run (--offline: its advisory source is on the network)"));
    }
    if !opts.run_tools {
        return manual(format!("{name} not run (--no-tools)"));
    }
    let plan = match plan(repo, eco, &opts.audit) {
        Ok(p) => p,
        Err(why) => return manual(format!("{name} not run: {why}")),
    };
    let args: Vec<&str> = plan.args.iter().map(String::as_str).collect();
    let env = [("npm_config_update_notifier", "false"), ("npm_config_fund", "false"), ("NO_COLOR", "1")];
    let outcome = tool::run(&plan.program, &args, &plan.cwd, &env, opts.audit.timeout);
    // Every auditor exits 1 when it finds something, with its report on stdout all the same.
    let (stdout, failure) = match outcome {
        Outcome::Ok { stdout, .. } => (stdout, None),
        Outcome::Failed(why, stdout) => (stdout, Some(why)),
        Outcome::Missing => {
            let program = Path::new(&plan.program).file_name().map(|f| f.to_string_lossy().into_owned());
            return manual(format!("{name} not run: '{}' is not installed", program.unwrap_or_default()));
        }
        Outcome::TimedOut => {
            return manual(format!(
                "{name} did not answer within {} s (is its advisory service reachable?)",
                opts.audit.timeout.as_secs()
            ));
        }
    };
    let advisories = match (plan.parse)(&stdout) {
        Ok(a) => a,
        Err(why) => {
            // A JSON report that says what went wrong (npm's `error`) tells more than the exit.
            let why = match failure {
                Some(f) if f.contains("no such command") => "cargo-audit is not installed".to_string(),
                Some(f) if why.contains("printed no JSON") || why.contains("cannot read") => format!("it failed: {f}"),
                _ => why,
            };
            return manual(format!("{name} not run: {why}"));
        }
    };
    let lock = repo.rel(&plan.lockfile);
    if advisories.is_empty() {
        return Item::new(id, Section::Dependencies, Status::Pass, format!("{}: no known vulnerabilities", plan.name))
            .with(Evidence::new(lock, None, "audited"));
    }
    // An advisory without a severity counts as high: the auditor did not say it is minor.
    let worst = advisories.iter().map(|a| a.severity.unwrap_or(Severity::High)).max().unwrap_or(Severity::High);
    let mut counts: BTreeMap<Severity, usize> = BTreeMap::new();
    for a in &advisories {
        *counts.entry(a.severity.unwrap_or(Severity::High)).or_default() += 1;
    }
    let counts: Vec<String> = counts.iter().rev().map(|(s, n)| format!("{n} {}", s.as_str())).collect();
    let mut item = Item::rated(
        id,
        Section::Dependencies,
        worst,
        opts.fail_on,
        format!("{}: {} ({})", plan.name, plural(advisories.len(), "known vulnerability"), counts.join(", ")),
    )
    .fix(match eco {
        Ecosystem::Npm => "upgrade to the fixed versions (npm audit fix, or npm update NAME) and commit the lockfile",
        Ecosystem::Python => "raise the affected requirements to a fixed version and re-lock",
        Ecosystem::Cargo => "upgrade the affected crates (cargo update -p NAME) or replace them",
    });
    for a in &advisories {
        let aliases = if a.aliases.is_empty() { String::new() } else { format!(" ({})", a.aliases.join(", ")) };
        let severity = a.severity.map_or("severity not given", Severity::as_str);
        let title = if a.title.is_empty() { String::new() } else { format!(": {}", a.title) };
        item = item.with(Evidence::new(
            lock.clone(),
            None,
            format!("{}{aliases} {} {} [{severity}]{title}; {}", a.id, a.package, a.version, a.fixed),
        ));
    }
    item
}

/// The command for `eco`, or why there is none (no lockfile the auditor reads).
fn plan(repo: &Repo, eco: Ecosystem, opts: &AuditOptions) -> Result<Plan, String> {
    let program = |over: &Option<PathBuf>, default: &str| {
        over.as_ref().map_or_else(|| default.to_string(), |p| p.to_string_lossy().into_owned())
    };
    match eco {
        Ecosystem::Npm => {
            let lock = super::deps::find_lockfile(repo, eco).ok_or("no lockfile")?;
            let file = lock.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
            if !matches!(file.as_str(), "package-lock.json" | "npm-shrinkwrap.json") {
                return Err(format!("it reads package-lock.json or npm-shrinkwrap.json, not {file}"));
            }
            Ok(Plan {
                name: "npm audit",
                program: program(&opts.npm, "npm"),
                args: ["audit", "--json", "--package-lock-only", "--omit=dev"].map(str::to_string).to_vec(),
                cwd: lock.parent().unwrap_or(&repo.dir).to_path_buf(),
                lockfile: lock,
                parse: parse_npm,
            })
        }
        Ecosystem::Python => {
            let base = ["-f", "json", "--progress-spinner", "off"].map(str::to_string).to_vec();
            let (args, lockfile) = if repo.dir.join("pylock.toml").is_file() {
                ([base, vec!["--locked".into(), ".".into()]].concat(), repo.dir.join("pylock.toml"))
            } else if repo.dir.join("requirements.txt").is_file() {
                ([base, vec!["-r".into(), "requirements.txt".into()]].concat(), repo.dir.join("requirements.txt"))
            } else {
                return Err("no requirements.txt or pylock.toml (the inputs pip-audit reads)".into());
            };
            Ok(Plan {
                name: "pip-audit",
                program: program(&opts.pip_audit, "pip-audit"),
                args,
                cwd: repo.dir.clone(),
                lockfile,
                parse: parse_pip,
            })
        }
        Ecosystem::Cargo => {
            let lock = super::deps::find_lockfile(repo, eco).ok_or("no Cargo.lock")?;
            Ok(Plan {
                name: "cargo audit",
                program: program(&opts.cargo, "cargo"),
                args: vec!["audit".into(), "--json".into(), "--file".into(), lock.to_string_lossy().into_owned()],
                cwd: repo.dir.clone(),
                lockfile: lock,
                parse: parse_cargo,
            })
        }
    }
}

fn json(stdout: &[u8], name: &str) -> Result<Value, String> {
    let text = String::from_utf8_lossy(stdout);
    let start = text.find(['{', '[']).ok_or_else(|| format!("{name} printed no JSON report"))?;
    serde_json::from_str(&text[start..]).map_err(|e| format!("cannot read {name}'s JSON report: {e}"))
}

fn string(v: &Value, pointer: &str) -> String {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn strings(v: &Value, pointer: &str) -> Vec<String> {
    let list = v.pointer(pointer).and_then(Value::as_array);
    list.into_iter().flatten().filter_map(|s| s.as_str().map(str::to_string)).collect()
}

/// `fixed in A, B`, or that no version fixes it.
fn fixed_in(versions: &[String], sep: &str) -> String {
    if versions.is_empty() { "no fixed version".into() } else { format!("fixed in {}", versions.join(sep)) }
}

/// npm's and GitHub's severity words.
fn severity(word: &str) -> Option<Severity> {
    match word.to_ascii_lowercase().as_str() {
        "critical" | "high" => Some(Severity::High),
        "moderate" | "medium" => Some(Severity::Medium),
        "low" | "info" => Some(Severity::Low),
        _ => None,
    }
}

/// The first line of a description, at most 120 characters.
fn line(text: &str) -> String {
    let first = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default();
    let mut out: String = first.chars().take(120).collect();
    if out.len() < first.len() {
        out.push('…');
    }
    out
}

/// `npm audit --json`: report version 2 (npm 7+: `vulnerabilities` by package, advisories in
/// `via`) or 1 (npm 6: `advisories` by id). An `error` object (no registry) is an error.
pub fn parse_npm(stdout: &[u8]) -> Result<Vec<Advisory>, String> {
    let v = json(stdout, "npm audit")?;
    if v.get("error").is_some() {
        // npm prints `{"error": {"code", "summary"}}`, and for an HTTP error also the response:
        // `{"message": "405 Method Not Allowed - POST …", "statusCode": 405, "error": {…}}`.
        let why = ["/error/summary", "/error/code", "/message"].iter().map(|p| string(&v, p)).find(|s| !s.is_empty());
        let why = why.or_else(|| v.get("statusCode").map(|c| format!("HTTP status {c}")));
        return Err(format!("the registry did not answer: {}", line(&why.unwrap_or_else(|| "no reason given".into()))));
    }
    let mut out = Vec::new();
    if let Some(vulns) = v.get("vulnerabilities").and_then(Value::as_object) {
        for (name, vuln) in vulns {
            let fixed = match vuln.get("fixAvailable") {
                Some(Value::Bool(true)) => "fix available: npm audit fix".to_string(),
                Some(Value::Object(f)) => format!(
                    "fixed by installing {}@{}{}",
                    f.get("name").and_then(Value::as_str).unwrap_or(name),
                    f.get("version").and_then(Value::as_str).unwrap_or("?"),
                    if f.get("isSemVerMajor").and_then(Value::as_bool) == Some(true) {
                        " (a major upgrade)"
                    } else {
                        ""
                    }
                ),
                _ => "no fix available".to_string(),
            };
            // `via` strings name the vulnerable dependency this one pulls in: reported there.
            for via in vuln.get("via").and_then(Value::as_array).into_iter().flatten().filter(|x| x.is_object()) {
                let url = string(via, "/url");
                let ghsa = url.rsplit('/').next().filter(|s| s.starts_with("GHSA-")).map(str::to_string);
                let source = via.get("source").map(|s| format!("npm-{s}")).unwrap_or_default();
                out.push(Advisory {
                    id: ghsa.unwrap_or(source),
                    aliases: Vec::new(),
                    package: via.get("name").and_then(Value::as_str).unwrap_or(name).to_string(),
                    version: string(via, "/range"),
                    severity: severity(&string(via, "/severity")),
                    title: line(&string(via, "/title")),
                    fixed: fixed.clone(),
                });
            }
        }
    } else if let Some(advisories) = v.get("advisories").and_then(Value::as_object) {
        for a in advisories.values() {
            let versions: Vec<String> = a
                .get("findings")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|f| string(f, "/version"))
                .collect();
            let ghsa = string(a, "/github_advisory_id");
            out.push(Advisory {
                id: if ghsa.is_empty() {
                    format!("npm-{}", a.get("id").map(Value::to_string).unwrap_or_default())
                } else {
                    ghsa
                },
                aliases: strings(a, "/cves"),
                package: string(a, "/module_name"),
                version: versions.join(", "),
                severity: severity(&string(a, "/severity")),
                title: line(&string(a, "/title")),
                fixed: match string(a, "/patched_versions").as_str() {
                    "" | "<0.0.0" => "no fix available".to_string(),
                    p => format!("fixed in {p}"),
                },
            });
        }
    } else {
        return Err("npm audit's JSON report has neither vulnerabilities nor advisories".into());
    }
    out.sort_by(|a, b| (b.severity, &a.package, &a.id).cmp(&(a.severity, &b.package, &b.id)));
    out.dedup_by(|a, b| a.id == b.id && a.package == b.package);
    Ok(out)
}

/// `pip-audit -f json`: `{"dependencies": [{"name", "version", "vulns": [{"id", "fix_versions",
/// "aliases"?, "description"?}]}], "fixes": []}` (older versions: the list alone). Skipped
/// dependencies (`skip_reason`) carry no vulnerabilities.
pub fn parse_pip(stdout: &[u8]) -> Result<Vec<Advisory>, String> {
    let v = json(stdout, "pip-audit")?;
    let deps = v.get("dependencies").unwrap_or(&v).as_array().ok_or("pip-audit's JSON report has no dependencies")?;
    let mut out = Vec::new();
    for d in deps {
        for vuln in d.get("vulns").and_then(Value::as_array).into_iter().flatten() {
            out.push(Advisory {
                id: string(vuln, "/id"),
                aliases: strings(vuln, "/aliases"),
                package: string(d, "/name"),
                version: string(d, "/version"),
                severity: None,
                title: line(&string(vuln, "/description")),
                fixed: fixed_in(&strings(vuln, "/fix_versions"), ", "),
            });
        }
    }
    Ok(out)
}

/// `cargo audit --json`: `vulnerabilities.list[]` with `advisory` (`id`, `title`, `aliases`),
/// `package` (`name`, `version`) and `versions.patched`. RustSec gives a CVSS vector at most,
/// no severity word: these count as high.
pub fn parse_cargo(stdout: &[u8]) -> Result<Vec<Advisory>, String> {
    let v = json(stdout, "cargo audit")?;
    let list = v
        .pointer("/vulnerabilities/list")
        .and_then(Value::as_array)
        .ok_or("cargo audit's JSON report has no vulnerabilities list")?;
    Ok(list
        .iter()
        .map(|x| Advisory {
            id: string(x, "/advisory/id"),
            aliases: strings(x, "/advisory/aliases"),
            package: string(x, "/package/name"),
            version: string(x, "/package/version"),
            severity: None,
            title: line(&string(x, "/advisory/title")),
            fixed: fixed_in(&strings(x, "/versions/patched"), " or "),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/audit").join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn npm_reports() {
        let a = parse_npm(&fixture("npm-vulnerable.json")).unwrap();
        let got: Vec<(&str, &str, Option<Severity>, &str)> =
            a.iter().map(|a| (a.id.as_str(), a.package.as_str(), a.severity, a.fixed.as_str())).collect();
        assert_eq!(
            got,
            [
                (
                    "GHSA-aaaa-bbbb-cccc",
                    "acme-template",
                    Some(Severity::High),
                    "fixed by installing acme-template@2.4.1"
                ),
                ("GHSA-dddd-eeee-ffff", "acme-deep", Some(Severity::Medium), "fix available: npm audit fix"),
            ]
        );
        assert_eq!(a[0].version, "<2.4.1");
        assert!(parse_npm(&fixture("npm-clean.json")).unwrap().is_empty());
        let e = parse_npm(&fixture("npm-offline.json")).unwrap_err();
        assert!(e.starts_with("the registry did not answer: request to"), "{e}");
        // What npm 10 printed here when the advisory endpoint refused the request.
        let http =
            br#"{"message": "405 Method Not Allowed - POST https://registry.example/-/npm/v1/security/advisories/bulk",
            "method": "POST", "statusCode": 405, "body": "", "error": {"summary": "", "detail": ""}}"#;
        let e = parse_npm(http).unwrap_err();
        assert!(e.starts_with("the registry did not answer: 405 Method Not Allowed"), "{e}");
        assert!(parse_npm(br#"{"statusCode": 503, "error": {}}"#).unwrap_err().ends_with("HTTP status 503"));
        // npm 6's report.
        let v1 = br#"{"advisories": {"118": {"id": 118, "module_name": "acme-min", "severity": "low",
            "title": "ReDoS", "patched_versions": ">=3.0.2", "cves": ["CVE-2099-3"],
            "findings": [{"version": "3.0.1", "paths": ["acme-min"]}]}}, "metadata": {}}"#;
        let a = parse_npm(v1).unwrap();
        assert_eq!(
            (a[0].id.as_str(), a[0].version.as_str(), a[0].fixed.as_str()),
            ("npm-118", "3.0.1", "fixed in >=3.0.2")
        );
        for bad in [&b""[..], b"npm ERR! something", b"{\"x\": 1}", b"[1, 2"] {
            assert!(parse_npm(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn pip_reports() {
        let a = parse_pip(&fixture("pip-vulnerable.json")).unwrap();
        assert_eq!(a.len(), 1, "skipped and clean dependencies carry nothing");
        assert_eq!(
            (a[0].id.as_str(), a[0].package.as_str(), a[0].version.as_str()),
            ("PYSEC-2099-0001", "acme-http", "2.19.0")
        );
        assert_eq!(a[0].fixed, "fixed in 2.20.0");
        assert_eq!(a[0].aliases, ["CVE-2099-00001", "GHSA-gggg-hhhh-jjjj"]);
        assert_eq!(a[0].severity, None);
        assert!(parse_pip(&fixture("pip-clean.json")).unwrap().is_empty());
        let old = br#"[{"name": "acme-http", "version": "1.0", "vulns": [{"id": "PYSEC-1", "fix_versions": []}]}]"#;
        assert_eq!(parse_pip(old).unwrap()[0].fixed, "no fixed version");
        assert!(parse_pip(b"{\"fixes\": []}").is_err());
    }

    #[test]
    fn cargo_reports() {
        let a = parse_cargo(&fixture("cargo-vulnerable.json")).unwrap();
        assert_eq!(
            (a[0].id.as_str(), a[0].package.as_str(), a[0].version.as_str(), a[0].fixed.as_str()),
            ("RUSTSEC-2099-0001", "acme-buf", "1.4.0", "fixed in >=1.4.2")
        );
        assert_eq!(a[0].aliases, ["CVE-2099-00002"]);
        assert!(parse_cargo(&fixture("cargo-clean.json")).unwrap().is_empty());
        assert!(parse_cargo(b"error: no such command: `audit`").is_err());
    }
}
