//! `sluice rules check` and `tests/rules.rs`: every rule's examples must produce a finding of
//! that rule through the whole engine (prefilter, entropy and validators included), and every
//! negative example must not. It lives in `engine`, not `rules`, because it runs the engine
//! (`rules` must not import `engine`).

use crate::engine::Engine;
use crate::rules::RuleId;

/// One failed expectation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The rule at fault.
    pub rule: String,
    /// What went wrong, quoting the example.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rule '{}': {}", self.rule, self.message)
    }
}

/// Runs every example and negative example of every rule through `engine`.
pub fn check(engine: &Engine) -> Vec<Problem> {
    let mut scratch = engine.scratch();
    let mut problems = Vec::new();
    // Patterns compile lazily during scans; here every one must compile up front.
    if let Err(e) = engine.compile_all() {
        problems.push(Problem { rule: "-".into(), message: e.to_string() });
        return problems;
    }
    for (i, rule) in engine.rules().rules().iter().enumerate() {
        if !rule.is_content_rule() {
            continue;
        }
        let id = RuleId(i as u32);
        // The secrets this rule reports in `text`.
        let secrets = |text: &str, scratch: &mut _| {
            let mut out = Vec::new();
            engine.scan(text.as_bytes(), scratch, &mut out);
            out.iter()
                .filter(|f| f.rule == id)
                .map(|f| String::from_utf8_lossy(&text.as_bytes()[f.secret.clone()]).into_owned())
                .collect::<Vec<_>>()
        };
        for ex in &rule.examples {
            let got = secrets(ex.input(), &mut scratch);
            let input = ex.input();
            let message = match ex.secret() {
                _ if got.is_empty() => format!("example does not match: {input:?}"),
                Some(want) if !got.iter().any(|g| g == want) => {
                    format!("example yields {got:?}, not the stated secret {want:?}: {input:?}")
                }
                _ => continue,
            };
            problems.push(Problem { rule: rule.id.clone(), message });
        }
        for ex in &rule.negative_examples {
            if !secrets(ex, &mut scratch).is_empty() {
                problems.push(Problem { rule: rule.id.clone(), message: format!("negative example matches: {ex:?}") });
            }
        }
    }
    problems
}
