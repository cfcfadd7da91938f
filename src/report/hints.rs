//! One-line remediation hints: a rule's own `remediation`, else a hint for its family (the id
//! before the first `.`), else one for its category. Shown by human output and in SARIF help.

use crate::rules::{Category, Rule};

/// `(family, hint)`: what to do when a rule of that family fires.
const FAMILIES: &[(&str, &str)] = &[
    ("github", "revoke it at https://github.com/settings/tokens (or the app's settings), then issue a new one"),
    ("gitlab", "revoke it under GitLab > Preferences > Access tokens, then issue a new one"),
    ("npm", "revoke it with 'npm token revoke' or at npmjs.com > Access Tokens, then issue a new one"),
    ("pypi", "revoke it at https://pypi.org/manage/account/token/, then use trusted publishing or a new token"),
    ("rubygems", "revoke it at https://rubygems.org/profile/api_keys, then issue a new one"),
    ("cargo", "revoke it at https://crates.io/settings/tokens, then issue a new one"),
    ("crates", "revoke it at https://crates.io/settings/tokens, then issue a new one"),
    ("aws", "deactivate the key in IAM, rotate it, and check CloudTrail for its use"),
    ("gcp", "delete the key in IAM > Service accounts > Keys, then rotate; prefer workload identity"),
    ("google", "delete or restrict the key in the Google Cloud console, then rotate"),
    ("azure", "regenerate the key or secret in the Azure portal, then update its users"),
    ("slack", "revoke it at https://api.slack.com/apps (or regenerate the webhook), then rotate"),
    ("stripe", "roll the key in the Stripe dashboard (Developers > API keys)"),
    ("openai", "revoke it at https://platform.openai.com/api-keys, then issue a new one"),
    ("anthropic", "revoke it in the Anthropic console (API keys), then issue a new one"),
    ("huggingface", "revoke it at https://huggingface.co/settings/tokens, then issue a new one"),
    ("hf", "revoke it at https://huggingface.co/settings/tokens, then issue a new one"),
    ("twilio", "rotate the auth token in the Twilio console"),
    ("sendgrid", "revoke the API key in SendGrid settings, then issue a new one"),
    ("discord", "reset the token in the Discord developer portal"),
    ("telegram", "revoke the bot token with @BotFather"),
    ("docker", "revoke the token at Docker Hub > Account settings > Security"),
    ("private-key", "treat the key as compromised: revoke or replace it, and remove it from history"),
    ("privatekey", "treat the key as compromised: revoke or replace it, and remove it from history"),
    ("key", "treat the key as compromised: revoke or replace it, and remove it from history"),
    ("pem", "treat the key as compromised: revoke or replace it, and remove it from history"),
    ("jwt", "a signed token may still be valid: revoke the session or rotate the signing key"),
    ("url", "change the password in the URL, then read it from the environment instead"),
    ("db", "change the database password, then read it from the environment instead"),
    ("generic", "if it is real, rotate it and load it from the environment or a secret store"),
    ("sourcemap", "do not ship source maps: exclude *.map from the package (or set sourcesContent off)"),
    ("source-map", "do not ship source maps: exclude *.map from the package (or set sourcesContent off)"),
    ("git", "do not ship .git: add it to the package's ignore file or use a files allow-list"),
    ("sentry", "revoke the token in Sentry (Settings > Auth tokens); a DSN is public by design"),
    ("digitalocean", "revoke it at https://cloud.digitalocean.com/account/api/tokens, then issue a new one"),
    ("heroku", "regenerate the API key in the Heroku account settings"),
    ("grafana", "delete the token or service account key in Grafana, then issue a new one"),
    ("datadog", "revoke the key in Datadog (Organization settings > API/Application keys)"),
    ("jfrog", "revoke the token in the JFrog platform (Administration > Identity and access)"),
    ("shopify", "rotate it in the Shopify admin (Apps > Develop apps > API credentials)"),
    ("square", "revoke it in the Square developer dashboard, then issue a new one"),
    ("cloudflare", "roll the token at https://dash.cloudflare.com/profile/api-tokens"),
    ("vault", "revoke the token with 'vault token revoke', then issue a short-lived one"),
    ("terraform", "revoke the token in HCP Terraform (User settings > Tokens)"),
];

/// `(category, hint)`: the fallback when the family has none.
/// The hint for a category, when the rule's family has none.
fn by_category(category: Category) -> &'static str {
    match category {
        Category::Secret => "if it is real, revoke it at its provider, then rotate and remove it from history",
        Category::CredentialFile => "remove the file from the package and rotate the credentials in it",
        Category::SourceMap => "do not ship source maps: exclude *.map from the package (or set sourcesContent off)",
        Category::Git => "do not ship .git: add it to the package's ignore file or use a files allow-list",
        Category::Hygiene => "add a files allow-list so only intended files are published",
    }
}

/// The hint for `rule`.
pub fn hint(rule: &Rule) -> &str {
    if let Some(r) = rule.remediation.as_deref().filter(|r| !r.trim().is_empty()) {
        return r;
    }
    let family = rule.id.split('.').next().unwrap_or("");
    FAMILIES.iter().find(|(f, _)| *f == family).map_or_else(|| by_category(rule.category), |(_, h)| h)
}

/// The key hints are grouped by: the rule id when it has its own remediation, else its family.
pub fn group(rule: &Rule) -> String {
    let own = rule.remediation.as_deref().is_some_and(|r| !r.trim().is_empty());
    let family = rule.id.split('.').next().unwrap_or("");
    if own || !FAMILIES.iter().any(|(f, _)| *f == family) { rule.id.clone() } else { format!("{family}.*") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: &str, category: &str, remediation: Option<&str>) -> Rule {
        let toml = format!(
            "id = '{id}'\ndescription = 'd'\ncategory = '{category}'\nseverity = 'high'\n{}",
            remediation.map(|r| format!("remediation = '{r}'\n")).unwrap_or_default()
        );
        toml::from_str(&toml).unwrap()
    }

    #[test]
    fn lookup_order() {
        assert_eq!(hint(&rule("github.pat", "secret", Some("do x"))), "do x");
        assert!(hint(&rule("github.pat", "secret", None)).contains("github.com/settings/tokens"));
        assert!(hint(&rule("acme.token", "credential-file", None)).contains("remove the file"));
        assert!(hint(&rule("acme.token", "secret", None)).contains("revoke it at its provider"));
        assert_eq!(group(&rule("github.pat", "secret", None)), "github.*");
        assert_eq!(group(&rule("github.pat", "secret", Some("x"))), "github.pat");
        assert_eq!(group(&rule("acme.token", "secret", None)), "acme.token");
    }
}
