//! Rules: the rule data types, parsed and validated from rule files (TOML, schema in
//! `rules/README.md`), with the bounds a pattern must fit ([`bounds`]) and the validators a rule
//! may name ([`validate`]). The engine imports this module, never the other way round; a rule
//! that fails to parse or compile is named by id.

pub mod bounds;
pub mod builtin;
pub mod validate;

use serde::Deserialize;

use crate::error::{Error, ErrorKind};
use validate::Validator;

/// Index of a rule inside a [`RuleSet`], as regex-automata has `PatternID`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId(pub u32);

impl RuleId {
    /// The index as a usize.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// How bad a finding is; `--fail-on` compares against it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look.
    Low,
    /// Likely a problem.
    Medium,
    /// A live credential or equivalent.
    High,
}

impl Severity {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    /// Parses `low`, `medium` or `high`.
    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            _ => None,
        }
    }
}

/// How sure a finding is that it is a real credential (issue 11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// A generic assignment (`password = "..."`): a name and a high-entropy value.
    Low,
    /// A provider keyword plus the token's shape and entropy.
    Medium,
    /// A checksum validated, or a unique prefix with the exact length and alphabet.
    High,
}

impl Confidence {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }

    /// Parses `low`, `medium` or `high`.
    pub fn parse(s: &str) -> Option<Confidence> {
        match s {
            "low" => Some(Confidence::Low),
            "medium" => Some(Confidence::Medium),
            "high" => Some(Confidence::High),
            _ => None,
        }
    }
}

/// One example of a rule: an input, and (for exact examples) the secret it must yield.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Example {
    /// `{ input = "...", secret = "..." }`: the rule must report exactly `secret` in `input`.
    Exact {
        /// The text scanned.
        input: String,
        /// The bytes the rule's secret capture must hold.
        secret: String,
    },
    /// A bare string: some finding of the rule in it is enough (user rule files; builtin rules
    /// state their secret).
    Plain(String),
}

impl Example {
    /// The text scanned.
    pub fn input(&self) -> &str {
        match self {
            Example::Exact { input, .. } | Example::Plain(input) => input,
        }
    }

    /// The expected secret, for exact examples.
    pub fn secret(&self) -> Option<&str> {
        match self {
            Example::Exact { secret, .. } => Some(secret),
            Example::Plain(_) => None,
        }
    }
}

/// What kind of finding a rule reports (DESIGN.md "What it finds").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// A hard-coded secret or credential.
    Secret,
    /// A file that is a credential by its name (`.env`, `.npmrc` with a token, a key file).
    CredentialFile,
    /// A shipped source map, or original sources embedded in one.
    SourceMap,
    /// A shipped `.git` directory and what it exposes.
    Git,
    /// Publish hygiene (`preflight`).
    Hygiene,
}

impl Category {
    /// The name used in rule files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Secret => "secret",
            Category::CredentialFile => "credential-file",
            Category::SourceMap => "source-map",
            Category::Git => "git",
            Category::Hygiene => "hygiene",
        }
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// One rule as written in a rule file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Stable id, `family.name`.
    pub id: String,
    /// One line for humans.
    pub description: String,
    /// What kind of finding it reports.
    pub category: Category,
    /// How bad a finding is.
    pub severity: Severity,
    /// Literal keywords for the prefilter (ASCII case-insensitive). Required for content rules.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// regex-automata pattern. Absent for rules that are reported by a check, not by the engine.
    #[serde(default)]
    pub pattern: Option<String>,
    /// Capture group holding the secret (default 1 if the pattern has one, else 0).
    #[serde(default)]
    pub secret_group: Option<usize>,
    /// Built-in validator.
    #[serde(default)]
    pub validate: Option<Validator>,
    /// How sure a finding of this rule is; default: `high` with a validator, `low` for
    /// `generic.*`, else `medium`.
    #[serde(default)]
    pub confidence: Option<Confidence>,
    /// Minimum Shannon entropy of the secret, bits per byte.
    #[serde(default)]
    pub min_entropy: Option<f32>,
    /// A secret containing one of these (ASCII case-insensitive) is not reported.
    #[serde(default)]
    pub stopwords: Vec<String>,
    /// A secret matching one of these patterns is not reported (identifiers, paths, URNs, ...).
    #[serde(default)]
    pub allow: Vec<String>,
    /// A match whose assigned name matches one of these patterns is not reported (`NextToken`,
    /// `SecretArn`, `token_type`): the name is the text from the identifier before the match up
    /// to the secret.
    #[serde(default)]
    pub allow_names: Vec<String>,
    /// Inputs that must produce a finding of this rule (with the secret they must yield).
    #[serde(default)]
    pub examples: Vec<Example>,
    /// Inputs that must not produce a finding of this rule.
    #[serde(default)]
    pub negative_examples: Vec<String>,
    /// Documentation links (where to revoke, format description).
    #[serde(default)]
    pub references: Vec<String>,
    /// One-line remediation hint shown in human output.
    #[serde(default)]
    pub remediation: Option<String>,
}

impl Rule {
    /// True for rules the engine runs over content (they have a pattern).
    pub fn is_content_rule(&self) -> bool {
        self.pattern.is_some()
    }

    /// The confidence of this rule's findings (the explicit field, else derived).
    pub fn confidence(&self) -> Confidence {
        self.confidence.unwrap_or(if self.validate.is_some() {
            Confidence::High
        } else if self.id.starts_with("generic.") {
            Confidence::Low
        } else {
            Confidence::Medium
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<Rule>,
}

/// An ordered, validated set of rules; a rule's [`RuleId`] is its index.
#[derive(Clone, Debug, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    /// The rules embedded in the binary.
    pub fn builtin() -> Result<RuleSet, Error> {
        let mut set = RuleSet::default();
        for (name, text) in builtin::FILES {
            set.add_toml(name, text)?;
        }
        Ok(set)
    }

    /// Parses one rule file and adds its rules; `origin` names the file in errors.
    pub fn add_toml(&mut self, origin: &str, text: &str) -> Result<(), Error> {
        let file: RuleFile = toml::from_str(text).map_err(|e| {
            Error::new(ErrorKind::Rule, format!("invalid rule file: {}", e.message().trim())).context(origin)
        })?;
        for rule in file.rule {
            self.add(rule).map_err(|e| e.context(origin))?;
        }
        Ok(())
    }

    /// Adds one rule after checking its fields; ids must be unique.
    pub fn add(&mut self, rule: Rule) -> Result<(), Error> {
        validate_rule(&rule)?;
        if self.rules.iter().any(|r| r.id == rule.id) {
            return Err(Error::new(ErrorKind::Rule, format!("duplicate rule id '{}'", rule.id)));
        }
        self.rules.push(rule);
        Ok(())
    }

    /// Drops the rules whose id is in `ids`; returns the ids that matched nothing.
    pub fn disable(&mut self, ids: &[String]) -> Vec<String> {
        let unknown = ids.iter().filter(|id| !self.rules.iter().any(|r| &r.id == *id)).cloned().collect();
        self.rules.retain(|r| !ids.contains(&r.id));
        unknown
    }

    /// All rules, in id order of insertion.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule with this id.
    pub fn get(&self, id: RuleId) -> &Rule {
        &self.rules[id.index()]
    }

    /// Looks a rule up by its string id.
    pub fn find(&self, id: &str) -> Option<RuleId> {
        self.rules.iter().position(|r| r.id == id).map(|i| RuleId(i as u32))
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

fn validate_rule(rule: &Rule) -> Result<(), Error> {
    let bad = |msg: String| Err(Error::new(ErrorKind::Rule, msg).context(format!("rule '{}'", rule.id)));
    let id_ok = rule.id.split_once('.').is_some_and(|(family, name)| {
        let part = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_' || b == b'.')
        };
        part(family) && part(name)
    });
    if !id_ok {
        return bad("id must look like 'family.name' (lowercase, digits, '-', '_')".into());
    }
    if rule.description.trim().is_empty() {
        return bad("description is empty".into());
    }
    if rule.is_content_rule() {
        if rule.keywords.is_empty() || rule.keywords.iter().any(|k| k.trim().is_empty()) {
            return bad("a content rule needs at least one non-empty keyword".into());
        }
        if let Some(k) = rule.keywords.iter().find(|k| k.len() > bounds::MAX_KEYWORD) {
            return bad(format!("keyword '{k}' is longer than {} bytes", bounds::MAX_KEYWORD));
        }
        if rule.examples.is_empty() || rule.negative_examples.is_empty() {
            return bad("a content rule needs examples and negative_examples".into());
        }
    }
    if let Some(e) = rule.min_entropy
        && !(0.0..=8.0).contains(&e)
    {
        return bad(format!("min_entropy {e} is outside 0..8"));
    }
    Ok(())
}
