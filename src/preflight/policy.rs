//! Vulnerability disclosure (a `SECURITY.md` that names a private contact) and account security:
//! `manual` reminders for what only the registry can see (MFA, the account's email, token
//! audits), plus classic full-access tokens the publish-set scan found, with the granular
//! alternative named.

use std::sync::LazyLock;

use regex_automata::meta::Regex;

use super::publish_set::location;
use super::{Evidence, Item, Repo, Section, Status};
use crate::engine::Engine;
use crate::report::{FindingRecord, mask};

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}").expect("static regex")
});
static URL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"https?://[^\s)>\]]+").expect("static regex"));
static PRIVATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)security/advisories|private(?:ly)? (?:vulnerability )?report|report a vulnerability|security advisory|hackerone|bugcrowd|security\.txt").expect("static regex")
});

/// Where GitHub looks for a security policy.
const PLACES: &[&str] = &["", ".github/", "docs/"];
const NAMES: &[&str] = &["SECURITY.md", "security.md", "Security.md", "SECURITY.rst", "SECURITY.txt", "SECURITY"];

/// Adds `disclosure.security-policy`.
pub fn security_policy(repo: &Repo, items: &mut Vec<Item>) {
    const ID: &str = "disclosure.security-policy";
    let fix = "add SECURITY.md naming a private contact: a security email, or GitHub private vulnerability reporting";
    let mut bases = vec![repo.dir.clone()];
    if repo.root != repo.dir {
        bases.push(repo.root.clone());
    }
    let found = bases
        .iter()
        .flat_map(|b| PLACES.iter().flat_map(move |p| NAMES.iter().map(move |n| b.join(format!("{p}{n}")))))
        .find(|p| p.is_file());
    let Some(path) = found else {
        items.push(
            Item::new(
                ID,
                Section::Disclosure,
                Status::Warn,
                "no security policy: reporters do not know how to reach you privately",
            )
            .with(Evidence::new("SECURITY.md", None, "not found in the root, .github/ or docs/"))
            .fix(fix),
        );
        return;
    };
    let rel = repo.rel(&path);
    let text = std::fs::read(&path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let contact = text.lines().enumerate().find_map(|(i, l)| {
        let what = if let Some(m) = EMAIL.find(l) {
            format!("email {}", &l[m.range()])
        } else if PRIVATE.is_match(l) {
            "private reporting".to_string()
        } else if let Some(m) = URL.find(l) {
            format!("URL {}", &l[m.range()])
        } else {
            return None;
        };
        Some((i as u64 + 1, what))
    });
    items.push(match contact {
        Some((line, what)) => {
            Item::new(ID, Section::Disclosure, Status::Pass, format!("{rel} names a contact ({what})"))
                .with(Evidence::new(rel, Some(line), crate::report::escape_control(&what)))
        }
        None => Item::new(
            ID,
            Section::Disclosure,
            Status::Warn,
            format!("{rel} names no contact (email, URL or private reporting)"),
        )
        .with(Evidence::new(rel, None, "no email, URL or private-reporting link"))
        .fix(fix),
    });
}

/// A classic, full-access token kind: the granular alternative to name.
fn classic(rule_id: &str, description: &str) -> Option<&'static str> {
    let id = rule_id.to_ascii_lowercase();
    let desc = description.to_ascii_lowercase();
    let classic = id == "github.pat"
        || id.contains("classic")
        || id.contains("legacy")
        || desc.contains("classic")
        || desc.contains("legacy");
    if !classic {
        return None;
    }
    Some(if id.starts_with("github") {
        "a fine-grained personal access token (github_pat_…) limited to the repositories it needs, with an expiry"
    } else if id.starts_with("npm") {
        "an npm granular access token (scoped to packages, read-only where possible, with an expiry) or trusted publishing"
    } else {
        "a scoped token with an expiry"
    })
}

/// Adds the account reminders and `account.classic-tokens`.
pub fn account(findings: &[FindingRecord], engine: &Engine, repo: &Repo, items: &mut Vec<Item>) {
    const ID: &str = "account.classic-tokens";
    for (id, title, fix) in [
        (
            "account.mfa",
            "two-factor authentication on every registry and code-host account that can publish",
            "enable 2FA (a security key or TOTP, not SMS) on npm (auth-and-writes), PyPI, crates.io's GitHub login and GitHub",
        ),
        (
            "account.email",
            "a dedicated, secured email address on the publishing accounts (an expired domain lets anyone reset the password)",
            "use an address on a domain you control and renew, protected by 2FA",
        ),
        (
            "account.passwords",
            "unique passwords for each registry account",
            "use a password manager; never reuse a registry password",
        ),
        (
            "account.token-audit",
            "review the registry tokens that exist: revoke unused ones, prefer scoped, expiring tokens",
            "list them on the registry's token page (npm token list) and revoke what CI no longer needs",
        ),
    ] {
        items.push(Item::new(id, Section::Account, Status::Manual, title).fix(fix));
    }
    let rules = engine.rules();
    let mut alternatives = Vec::new();
    let mut evidence = Vec::new();
    for f in findings {
        let rule = rules.get(f.rule);
        if let Some(alt) = classic(&rule.id, &rule.description) {
            if !alternatives.contains(&alt) {
                alternatives.push(alt);
            }
            evidence.push(Evidence::new(
                location(repo, &f.chain),
                f.line,
                format!("{}: {} {}", rule.id, rule.description, mask(&f.secret, false)),
            ));
        }
    }
    items.push(if evidence.is_empty() {
        Item::new(ID, Section::Account, Status::Pass, "no classic full-access token in the publish set")
    } else {
        Item {
            evidence,
            ..Item::new(ID, Section::Account, Status::Fail, "classic full-access tokens in the publish set")
                .fix(format!("revoke them, then use {}", alternatives.join("; ")))
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_tokens() {
        assert!(classic("github.pat", "GitHub personal access token").is_some_and(|a| a.contains("fine-grained")));
        assert!(classic("github.fine-grained-pat", "GitHub fine-grained personal access token").is_none());
        assert!(classic("npm.legacy-token", "npm legacy token").is_some_and(|a| a.contains("granular")));
        assert!(classic("stripe.secret-key", "Stripe secret key").is_none());
    }

    #[test]
    fn contacts() {
        assert!(EMAIL.is_match("Report to security@widget.example."));
        assert!(PRIVATE.is_match("Use https://github.com/o/r/security/advisories/new"));
        assert!(!EMAIL.is_match("We take security seriously."));
    }
}
