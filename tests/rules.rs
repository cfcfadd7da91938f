//! Every builtin rule: examples hit and negative examples miss through the whole engine
//! (prefilter, entropy, validators included); ids unique and well-formed; every rules/ file
//! embedded (the unit test in src/rules/builtin.rs); a readable error for a broken rule.

use sluicebox::engine::check;
use sluicebox::rules::RuleSet;

use crate::util;

#[test]
fn every_example_matches_and_every_negative_does_not() {
    let problems = check::check(util::engine());
    let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(problems.is_empty(), "{} rule problems:\n{}", problems.len(), listed.join("\n"));
}

#[test]
fn the_pack_is_complete() {
    let rules = RuleSet::builtin().unwrap();
    let content: Vec<_> = rules.rules().iter().filter(|r| r.is_content_rule()).collect();
    assert!(content.len() >= 450, "only {} content rules", content.len());
    for r in content {
        // Loading already refuses a rule without keywords or examples; what it does not check:
        // a negative example must get past the keyword prefilter (ASCII case-insensitive, as
        // the engine's), or the rule's pattern is never tested against a near miss.
        let keyword =
            |text: &str| r.keywords.iter().any(|k| text.to_ascii_lowercase().contains(&k.to_ascii_lowercase()));
        assert!(
            r.negative_examples.iter().any(|n| keyword(n)),
            "{}: no negative example contains a keyword, so none reaches the pattern",
            r.id
        );
        // Issue 11: an example states the secret it must yield; `engine::check` compares it.
        for ex in &r.examples {
            assert!(ex.secret().is_some(), "{}: example {:?} does not state its secret", r.id, ex.input());
        }
    }
    // The families issue 3 names must each have at least one rule.
    let families = [
        "aws",
        "gcp",
        "azure",
        "github",
        "gitlab",
        "npm",
        "pypi",
        "rubygems",
        "crates",
        "docker",
        "slack",
        "stripe",
        "twilio",
        "sendgrid",
        "mailgun",
        "shopify",
        "openai",
        "anthropic",
        "huggingface",
        "telegram",
        "discord",
        "heroku",
        "digitalocean",
        "datadog",
        "sentry",
        "jwt",
        "generic",
    ];
    for fam in families {
        assert!(rules.rules().iter().any(|r| r.id.starts_with(&format!("{fam}."))), "no rule in family {fam}");
    }
}

#[test]
fn a_broken_rule_is_named() {
    let mut set = RuleSet::default();
    let bad = r#"
[[rule]]
id = "demo.bad"
description = "broken"
category = "secret"
severity = "high"
keywords = ["x"]
pattern = '(unclosed'
examples = ["x"]
negative_examples = ["y"]
"#;
    set.add_toml("bad.toml", bad).unwrap();
    let err = sluicebox::Engine::new(set).unwrap_err();
    assert!(err.to_string().contains("demo.bad"), "{err}");

    let mut set = RuleSet::default();
    let err = set.add_toml("bad.toml", "[[rule]]\nid = \"x\"\n").unwrap_err();
    assert!(err.to_string().contains("bad.toml"), "{err}");

    let no_kw = bad.replace("keywords = [\"x\"]", "keywords = []").replace("(unclosed", "x");
    let err = RuleSet::default().add_toml("k.toml", &no_kw).unwrap_err();
    assert!(err.to_string().contains("keyword"), "{err}");
}

#[test]
fn a_pattern_that_cannot_fit_the_window_is_refused_and_examples_state_their_secret() {
    let rule = |pattern: &str, examples: &str| {
        format!(
            "[[rule]]\nid = \"demo.tok\"\ndescription = \"d\"\ncategory = \"secret\"\nseverity = \"high\"\nkeywords = [\"tok_\"]\npattern = \"{pattern}\"\nexamples = [{examples}]\nnegative_examples = [\"tok_\"]\n"
        )
    };
    for unbounded in [r"tok_[a-z0-9]+", r"tok_[a-z0-9]{8,}", r"tok_[a-z0-9]{3000}"] {
        let mut set = RuleSet::default();
        set.add_toml("w.toml", &rule(unbounded, "'tok_abcd1234'")).unwrap();
        let err = sluicebox::Engine::new(set).unwrap_err().to_string();
        assert!(err.contains("demo.tok") && err.contains("window"), "{unbounded}: {err}");
    }
    let check = |examples: &str| {
        let mut set = RuleSet::default();
        set.add_toml("w.toml", &rule("tok_[a-z0-9]{8}", examples)).unwrap();
        check::check(&sluicebox::Engine::new(set).unwrap())
    };
    assert!(check("{ input = 'x tok_abcd1234', secret = 'tok_abcd1234' }").is_empty());
    let wrong = check("{ input = 'x tok_abcd1234', secret = 'tok_abcd9999' }");
    assert_eq!(wrong.len(), 1, "{wrong:?}");
    assert!(wrong[0].message.contains("not the stated secret"), "{}", wrong[0]);
    assert_eq!(check("'no token here'").len(), 1);
}

#[test]
fn hard_negatives_stay_quiet() {
    // The placeholders and hashes every secret scanner trips over (DESIGN.md, issue 3).
    let text = concat!(
        "AWS_EXAMPLE = \"AKIAIOSFODNN7EXAMPLE\"\n",
        "secret = \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"\n",
        "password = \"${DB_PASSWORD}\"\n",
        "api_key = \"<your-api-key>\"\n",
        "token = \"xxxxxxxxxxxxxxxxxxxxxxxx\"\n",
        "password = \"changeme\"\n",
        "commit = \"3f786850e387550fdab836ed7e6dc881de23001b\"\n",
        "id = \"123e4567-e89b-12d3-a456-426614174000\"\n",
        "token = \"123e4567-e89b-12d3-a456-426614174000\"\n",
        "integrity = \"sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==\"\n",
        "resolved \"https://registry.yarnpkg.com/left-pad/-/left-pad-1.3.0.tgz#5b8a3a7765dfe001261dde915589e782f8c94d1e\"\n",
        "checksum = \"8f5a4c1e7bd7d1f2ce9c1b0b7a1d1a0f9e3b2c4d5e6f7a8b9c0d1e2f3a4b5c6d\"\n",
        // The false-positive classes read on the registry mirror (issue 11), made up.
        "NextToken = \"eyJMYXN0RXZhbHVhdGVkS2V5IjogeyJpZCI6IHsiUyI6ICJhYmMifX19\"\n",
        "NextToken = \"AAEAAXo2bWFwS2V5c1Q4ZzJ2QnR5aXpzN0ZFZ2tQQg\"\n",
        "IdempotencyToken = \"3f1c9a7e-2b4d-4e8f-9a1b-6c5d4e3f2a1b-77aa\"\n",
        "SecretArn = \"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf\"\n",
        "secret_name = \"prod/payments/stripe-webhook-signing\"\n",
        "password = \"md5$1a2b3c$9f86d081884c7d659a2feaa0c55ad015\"\n",
        "DB = f\"postgresql://{user}:{password}@{host}:5432/{name}\"\n",
        "URL = \"mongodb://${MONGO_USER}:${MONGO_PASSWORD}@mongo:27017/app\"\n",
        "DSN = \"postgres://app@db1.internal:5432,app@db2.internal:5433/prod?target_session_attrs=read-write\"\n",
        "const EXCHANGE = \"exchangeRecaptchaV3Token\"; token: \"exchangeRecaptchaV3Token\"\n",
    );
    let engine = util::engine();
    let mut found = Vec::new();
    engine.scan(text.as_bytes(), &mut engine.scratch(), &mut found);
    let ids: Vec<_> = found
        .iter()
        .map(|f| {
            format!(
                "{} {:?}",
                engine.rules().get(f.rule).id,
                String::from_utf8_lossy(&text.as_bytes()[f.secret.clone()])
            )
        })
        .collect();
    assert!(found.is_empty(), "false positives: {ids:?}");
}
