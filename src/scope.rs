//! Token scope read offline from the token itself, for formats that carry it (issue 15): what
//! a leaked token can do, put on the finding as `scope`.
//!
//! - PyPI API tokens are macaroons (`pypi-` + URL-safe base64 of a v2 binary macaroon). Their
//!   first-party caveats say what the token may do: legacy JSON objects
//!   (`{"version": 1, "permissions": "user" | {"projects": [...]}}`, `{"exp":…, "nbf":…}`) and
//!   the current list forms (`[0, exp, nbf]` expiry, `[1, [names]]` project names, `[2, [ids]]`
//!   project ids, `[3, user-id]` the user). No project caveat means user-wide: the token can
//!   upload to every project of the account.
//! - GitHub: classic (`ghp_`, all the user's repositories) versus fine-grained (`github_pat_`),
//!   and the app and OAuth kinds by prefix. npm: `npm_` tokens (granular or legacy, the format
//!   does not tell) versus UUID tokens (legacy, pre-2021). GitLab: the token kind by prefix.
//!
//! A user-wide or classic publishing token carries the remediation [`BROAD_FIX`].

use base64::Engine as _;
use serde_json::{Value, json};

/// The remediation of a token that can publish more than one package.
pub const BROAD_FIX: &str = "replace with a scoped token or trusted publishing";

/// What a token can do, as far as the token itself tells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    /// A short stable kind: `user-wide`, `project`, `classic`, `fine-grained`, `legacy`, ...
    pub kind: &'static str,
    /// One line for people.
    pub summary: String,
    /// Project names the token is limited to (PyPI).
    pub projects: Vec<String>,
    /// Expiry (Unix seconds), when a caveat sets one.
    pub expires: Option<i64>,
    /// The token can publish every package of its owner.
    pub broad: bool,
}

impl Scope {
    fn new(kind: &'static str, summary: impl Into<String>, broad: bool) -> Scope {
        Scope { kind, summary: summary.into(), projects: Vec::new(), expires: None, broad }
    }

    /// The remediation, for broad tokens.
    pub fn remediation(&self) -> Option<&'static str> {
        self.broad.then_some(BROAD_FIX)
    }

    /// The `scope` JSON object of a finding.
    pub fn to_json(&self) -> Value {
        let mut v = json!({"kind": self.kind, "summary": self.summary});
        if !self.projects.is_empty() {
            v["projects"] = self.projects.clone().into();
        }
        if let Some(e) = self.expires {
            v["expires"] = rfc3339(e).into();
        }
        if let Some(r) = self.remediation() {
            v["remediation"] = r.into();
        }
        v
    }
}

/// The scope of `secret` found by the rule `rule_id`, when the token's format tells.
pub fn of(rule_id: &str, secret: &[u8]) -> Option<Scope> {
    let s = std::str::from_utf8(secret).ok()?;
    if let Some(body) = s.strip_prefix("pypi-") {
        return Some(pypi(body));
    }
    if rule_id.starts_with("github.") || s.starts_with("gh") || s.starts_with("github_pat_") {
        return github(s);
    }
    if rule_id.starts_with("npm.") {
        return npm(s);
    }
    if rule_id.starts_with("gitlab.") || s.starts_with("gl") {
        return gitlab(s);
    }
    None
}

fn github(s: &str) -> Option<Scope> {
    let (kind, summary, broad) = match s.get(..4)? {
        _ if s.starts_with("github_pat_") => (
            "fine-grained",
            "fine-grained personal access token: limited to the repositories and permissions chosen at creation",
            false,
        ),
        "ghp_" => (
            "classic",
            "classic personal access token: every repository the user can reach, with the scopes chosen at creation",
            true,
        ),
        "gho_" => ("oauth", "OAuth app user token: acts as the user with the app's scopes", true),
        "ghu_" => ("user-to-server", "GitHub App user-to-server token: the app's permissions for that user", false),
        "ghs_" => ("installation", "GitHub App installation token: one installation, expires after an hour", false),
        "ghr_" => ("refresh", "GitHub App refresh token: mints new user-to-server tokens", false),
        _ => return None,
    };
    Some(Scope::new(kind, summary, broad))
}

fn npm(s: &str) -> Option<Scope> {
    let value = s.rsplit(['=', ' ']).next().unwrap_or(s).trim_matches(['"', '\'']);
    if value.starts_with("npm_") {
        return Some(Scope::new(
            "npm-token",
            "npm access token (npm_ format: granular or legacy; the format does not tell which, check it on npmjs.com)",
            false,
        ));
    }
    let uuid = value.len() == 36 && value.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    uuid.then(|| {
        Scope::new("legacy", "legacy npm token (UUID format): full access to the account, cannot be scoped", true)
    })
}

fn gitlab(s: &str) -> Option<Scope> {
    let kinds: &[(&str, &str, &str)] = &[
        ("glpat-", "personal", "personal access token: acts as the user, with the scopes chosen at creation"),
        ("gldt-", "deploy", "deploy token: one project or group, read or write of the registries it was given"),
        ("glrt-", "runner", "runner authentication token"),
        ("glptt-", "pipeline-trigger", "pipeline trigger token: runs pipelines of one project"),
        ("glcbt-", "ci-build", "CI/CD job token: one job, expires when it ends"),
        ("gloas-", "oauth-app-secret", "OAuth application secret"),
        ("glft-", "feed", "feed token: read-only RSS/calendar feeds of the user"),
        ("glimt-", "incoming-mail", "incoming mail token: creates issues by email as the user"),
        ("glagent-", "agent", "Kubernetes agent token"),
        ("glffct-", "feature-flags", "feature flags client token: read the flags of one project"),
        ("glsoat-", "scim", "SCIM token: provisions the group's users"),
        ("GR1348941", "runner-registration", "runner registration token (deprecated): registers runners"),
    ];
    kinds.iter().find(|(p, _, _)| s.starts_with(p)).map(|(_, k, d)| Scope::new(k, format!("GitLab {d}"), false))
}

/// A PyPI token's scope from its macaroon caveats; a token that does not decode says so.
fn pypi(body: &str) -> Scope {
    let Some(caveats) = decode_macaroon(body) else {
        return Scope::new("unknown", "not a decodable macaroon: the scope cannot be read", false);
    };
    let mut projects: Option<Vec<String>> = None;
    let mut project_ids = false;
    let mut expires = None;
    let mut restrict = |names: Vec<String>| {
        projects = Some(match projects.take() {
            None => names,
            Some(p) => p.into_iter().filter(|n| names.contains(n)).collect(),
        });
    };
    for c in &caveats {
        let Ok(v) = serde_json::from_slice::<Value>(c) else { continue };
        match &v {
            Value::Object(o) => {
                if let Some(names) = o.get("permissions").and_then(|p| p.get("projects")).and_then(Value::as_array) {
                    restrict(names.iter().filter_map(Value::as_str).map(str::to_string).collect());
                }
                if let Some(e) = o.get("exp").and_then(Value::as_i64) {
                    expires = Some(expires.map_or(e, |x: i64| x.min(e)));
                }
            }
            Value::Array(a) => match a.first().and_then(Value::as_i64) {
                Some(0) => {
                    if let Some(e) = a.get(1).and_then(Value::as_i64) {
                        expires = Some(expires.map_or(e, |x: i64| x.min(e)));
                    }
                }
                Some(1) => {
                    let names = a.get(1).and_then(Value::as_array).cloned().unwrap_or_default();
                    restrict(names.iter().filter_map(Value::as_str).map(str::to_string).collect());
                }
                Some(2) => project_ids = true,
                _ => {}
            },
            _ => {}
        }
    }
    let mut scope = match projects {
        Some(p) => {
            let mut s = Scope::new("project", format!("project-scoped: can upload to {} only", p.join(", ")), false);
            s.projects = p;
            s
        }
        None if project_ids => Scope::new("project", "project-scoped (by project id)", false),
        None => Scope::new("user-wide", "user-wide: can upload to every project of the account", true),
    };
    if let Some(e) = expires {
        scope.expires = Some(e);
        scope.summary.push_str(&format!("; expires {}", rfc3339(e)));
    }
    scope
}

/// The caveat identifiers of a v2 binary macaroon in URL-safe (or standard) base64, read as far
/// as the bytes allow; `None` when it is not a v2 macaroon at all.
pub fn decode_macaroon(b64: &str) -> Option<Vec<Vec<u8>>> {
    let clean: String = b64
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    // A token cut short by the pattern's length bound still yields its leading caveats.
    let usable = clean.len() - clean.len() % 4 + if clean.len() % 4 >= 2 { clean.len() % 4 } else { 0 };
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let bytes = engine.decode(&clean[..usable]).ok()?;
    let mut r = Reader { bytes: &bytes, at: 0 };
    if r.byte()? != 2 {
        return None;
    }
    // Header: location (1), identifier (2), end of section (0).
    loop {
        let t = r.varint()?;
        if t == 0 {
            break;
        }
        r.field()?;
    }
    let mut caveats = Vec::new();
    // Each caveat: optional location (1), identifier (2), optional verification id (4), EOS;
    // an empty section ends the caveats and the signature (6) follows.
    while let Some(first) = r.varint().filter(|t| *t != 0) {
        let mut t = first;
        loop {
            let Some(data) = r.field() else { return Some(caveats) };
            if t == 2 {
                caveats.push(data.to_vec());
            }
            match r.varint() {
                Some(0) | None => break,
                Some(next) => t = next,
            }
        }
    }
    Some(caveats)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn field(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.varint()?).ok()?;
        let end = self.at.checked_add(len)?;
        let data = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(data)
    }
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian, UTC).
fn rfc3339(t: i64) -> String {
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let (y, m, d) = crate::time::civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_767_225_600), "2026-01-01T00:00:00Z");
    }

    #[test]
    fn prefixes() {
        assert_eq!(of("github.pat", b"ghp_x").unwrap().kind, "classic");
        assert!(of("github.pat", b"ghp_x").unwrap().broad);
        assert_eq!(of("github.fine-grained-pat", b"github_pat_x").unwrap().kind, "fine-grained");
        assert_eq!(of("gitlab.pat", b"glpat-x").unwrap().kind, "personal");
        assert_eq!(of("npm.npmrc-auth-token", b"0f4e7b2a-8c1d-4e5f-9a6b-3c2d1e0f9a8b").unwrap().kind, "legacy");
        assert_eq!(of("aws.key", b"AKIA"), None);
        for garbage in ["", "A", "AAAA!!!!", "AgEIcHlwaS5vcmc", "Ag", "AgEI////////", "\u{1F600}"] {
            let s = pypi(garbage);
            assert!(!s.kind.is_empty(), "{garbage}");
        }
    }
}
