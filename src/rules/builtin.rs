//! The builtin rule pack: every `rules/*.toml`, embedded with `include_str!` (no build script).
//! A test fails when a file in `rules/` is not listed here.

macro_rules! rule_files {
    ($($name:literal),* $(,)?) => {
        /// `(file name, contents)` of every builtin rule file.
        pub const FILES: &[(&str, &str)] = &[
            $(($name, include_str!(concat!("../../rules/", $name))),)*
        ];
    };
}

rule_files![
    "ai-providers.toml",
    "ai.toml",
    "analytics.toml",
    "aws.toml",
    "azure.toml",
    "chat.toml",
    "checks.toml",
    "cicd.toml",
    "cloud.toml",
    "cms.toml",
    "connection-strings.toml",
    "credentials.toml",
    "crm.toml",
    "crypto.toml",
    "data.toml",
    "devtools.toml",
    "email.toml",
    "gcp.toml",
    "generic.toml",
    "github.toml",
    "gitlab.toml",
    "identity.toml",
    "infra.toml",
    "jwt.toml",
    "messaging.toml",
    "monitoring.toml",
    "more.toml",
    "npm.toml",
    "observability.toml",
    "payments.toml",
    "private-key.toml",
    "productivity.toml",
    "pypi.toml",
    "registries.toml",
    "shopify.toml",
    "slack.toml",
    "square.toml",
    "stripe.toml",
    "twilio.toml"
];

#[cfg(test)]
mod tests {
    #[test]
    fn every_rule_file_is_embedded() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| std::path::Path::new(n).extension().is_some_and(|e| e == "toml"))
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = super::FILES.iter().map(|(n, _)| (*n).to_string()).collect();
        listed.sort();
        assert_eq!(on_disk, listed, "rules/ and src/rules/builtin.rs disagree");
    }
}
