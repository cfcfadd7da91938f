//! Confirmation: a candidate rule's regex-automata pattern runs only inside the windows around
//! its keyword hits; each match's secret capture is filtered by keyword presence, stopwords,
//! entropy and, where the format has one, a checksum.

use std::ops::Range;
use std::sync::OnceLock;

use regex_automata::meta::{self, Regex};
use regex_automata::util::captures::Captures;
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input};

use super::entropy;
use super::finding::Finding;
use super::validate::Validator;
use crate::error::{Error, ErrorKind};
use crate::rules::{Rule, RuleId};

/// One content rule. Its pattern is checked when the engine is built but compiled on the rule's
/// first keyword hit: a pre-commit run over a few files then pays only for the rules it needs
/// (compiling every builtin pattern up front costs ~35 ms; the start-up budget is 20 ms).
#[derive(Debug)]
pub struct Compiled {
    pub(crate) id: RuleId,
    /// The longest match the pattern can make: a match that contains a keyword occurrence lies
    /// within this many bytes of it, so the window around a hit need not be wider.
    pub(crate) reach: usize,
    pattern: String,
    regex: OnceLock<Regex>,
    secret_group: usize,
    keywords: Vec<Vec<u8>>,
    stopwords: Vec<Vec<u8>>,
    allow: Lazy,
    allow_names: Lazy,
    min_entropy: Option<f32>,
    validate: Option<Validator>,
}

/// Per-thread, per-rule search state.
#[derive(Debug)]
pub struct RuleScratch {
    cache: meta::Cache,
    caps: Captures,
}

/// Secrets are ASCII and haystacks are arbitrary bytes: no Unicode classes, `.` and `\w`/`\b`
/// stay byte-oriented, matches may split invalid UTF-8.
fn syntax_config() -> syntax::Config {
    syntax::Config::new().unicode(false).utf8(false)
}

fn build(pattern: &str) -> Result<Regex, String> {
    Regex::builder()
        .syntax(syntax_config())
        .configure(Regex::config().utf8_empty(false).hybrid_cache_capacity(1 << 20))
        .build(pattern)
        .map_err(|e| e.to_string())
}

impl Compiled {
    /// Checks `rule`'s pattern (syntax and secret group); the error names the rule.
    pub fn new(id: RuleId, rule: &Rule, pattern: &str) -> Result<Compiled, Error> {
        let err = |msg: String| Error::new(ErrorKind::Rule, msg).context(format!("rule '{}'", rule.id));
        let hir = syntax::parse_with(pattern, &syntax_config()).map_err(|e| err(format!("invalid pattern: {e}")))?;
        // A match longer than the window around its keyword could be missed: refuse the rule.
        let fits = super::WINDOW_BEFORE + super::WINDOW_AFTER;
        let reach = match hir.properties().maximum_len() {
            Some(n) if n <= fits => n,
            Some(n) => {
                return Err(err(format!(
                    "a match can be {n} bytes long, over the {fits}-byte window around its keyword\nhint: bound every repetition so that a match stays under {fits} bytes"
                )));
            }
            None => {
                return Err(err(format!(
                    "a match can be unboundedly long and would not fit the {fits}-byte window around its keyword\nhint: replace '+', '*' and '{{n,}}' with bounded repetitions such as '{{1,64}}'"
                )));
            }
        };
        let groups = hir.properties().explicit_captures_len() + 1;
        let secret_group = rule.secret_group.unwrap_or(usize::from(groups > 1));
        if secret_group >= groups {
            return Err(err(format!("secret_group {secret_group} but the pattern has {} groups", groups - 1)));
        }
        let lower = |v: &[String]| v.iter().map(|s| s.as_bytes().to_ascii_lowercase()).collect();
        for p in rule.allow.iter().chain(&rule.allow_names) {
            syntax::parse_with(p, &syntax_config()).map_err(|e| err(format!("invalid allow pattern '{p}': {e}")))?;
        }
        Ok(Compiled {
            id,
            reach,
            pattern: pattern.to_string(),
            regex: OnceLock::new(),
            secret_group,
            keywords: lower(&rule.keywords),
            stopwords: lower(&rule.stopwords),
            allow: Lazy::new(&rule.allow),
            allow_names: Lazy::new(&rule.allow_names),
            min_entropy: rule.min_entropy,
            validate: rule.validate,
        })
    }

    /// Compiles the pattern now; the error names the rule (`sluice rules check` calls this).
    pub fn compile(&self, rule_id: &str) -> Result<(), Error> {
        if self.regex.get().is_none() {
            let regex = build(&self.pattern).map_err(|e| {
                Error::new(ErrorKind::Rule, format!("invalid pattern: {e}")).context(format!("rule '{rule_id}'"))
            })?;
            let _ = self.regex.set(regex);
        }
        self.allow.compile(rule_id)?;
        self.allow_names.compile(rule_id)?;
        Ok(())
    }

    fn regex(&self) -> &Regex {
        // The syntax was checked in `new`; what remains (size limits) is checked for every
        // builtin rule by `tests/rules.rs`.
        self.regex.get_or_init(|| build(&self.pattern).expect("rule pattern compiles"))
    }

    /// Fresh per-thread state for this rule.
    pub fn scratch(&self) -> RuleScratch {
        RuleScratch { cache: self.regex().create_cache(), caps: self.regex().create_captures() }
    }

    /// Runs the pattern over `window` of `haystack` (look-around sees the whole haystack) and
    /// pushes every accepted finding.
    pub fn search(
        &self,
        haystack: &[u8],
        window: Range<usize>,
        scratch: &mut RuleScratch,
        out: &mut impl FnMut(Finding),
    ) {
        let mut input = Input::new(haystack).span(window.clone());
        while let Some(m) = self.regex().search_with(&mut scratch.cache, &input) {
            if let Some(f) = self.confirm(haystack, m.range(), scratch) {
                out(f);
            }
            let next = if m.is_empty() { m.end() + 1 } else { m.end() };
            if next > window.end {
                break;
            }
            input.set_start(next);
        }
    }

    /// Filters one regex match; returns the finding if it survives.
    fn confirm(&self, haystack: &[u8], span: Range<usize>, scratch: &mut RuleScratch) -> Option<Finding> {
        if !contains_any_ci(&haystack[span.clone()], &self.keywords) {
            return None;
        }
        let secret = if self.secret_group == 0 {
            span.clone()
        } else {
            let input = Input::new(haystack).range(span.clone()).anchored(Anchored::Yes);
            self.regex().search_captures_with(&mut scratch.cache, &input, &mut scratch.caps);
            scratch.caps.get_group(self.secret_group)?.range()
        };
        let value = &haystack[secret.clone()];
        if value.is_empty() || contains_any_ci(value, &self.stopwords) || self.allow.any_match(value) {
            return None;
        }
        if !self.allow_names.is_empty() {
            // The name: identifier bytes just before the match (`Next` of `NextToken`), then the
            // match up to the secret.
            let from = haystack[..span.start]
                .iter()
                .rev()
                .take(40)
                .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
                .count();
            if self.allow_names.any_match(&haystack[span.start - from..secret.start]) {
                return None;
            }
        }
        let entropy = entropy::shannon(value);
        if self.min_entropy.is_some_and(|min| entropy < min) {
            return None;
        }
        let validated = match self.validate {
            Some(v) if v.check(value) => Some(v),
            Some(_) => return None,
            None => None,
        };
        Some(Finding { rule: self.id, span, secret, entropy, validated })
    }

    /// The naive path used by tests as an oracle: the pattern over the whole haystack.
    pub fn search_all(&self, haystack: &[u8], scratch: &mut RuleScratch, out: &mut impl FnMut(Finding)) {
        self.search(haystack, 0..haystack.len(), scratch, out);
    }
}

/// `allow`-style patterns, compiled on first use like the rule's pattern.
#[derive(Debug)]
struct Lazy {
    patterns: Vec<String>,
    regexes: OnceLock<Vec<Regex>>,
}

impl Lazy {
    fn new(patterns: &[String]) -> Lazy {
        Lazy { patterns: patterns.to_vec(), regexes: OnceLock::new() }
    }

    fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Compiles now; the error names the rule and the pattern.
    fn compile(&self, rule_id: &str) -> Result<(), Error> {
        if self.regexes.get().is_none() {
            let built = self
                .patterns
                .iter()
                .map(|p| {
                    build(p).map_err(|e| {
                        Error::new(ErrorKind::Rule, format!("invalid allow pattern '{p}': {e}"))
                            .context(format!("rule '{rule_id}'"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let _ = self.regexes.set(built);
        }
        Ok(())
    }

    /// True when `value` matches one of the patterns.
    fn any_match(&self, value: &[u8]) -> bool {
        !self.patterns.is_empty()
            && self
                .regexes
                .get_or_init(|| self.patterns.iter().map(|p| build(p).expect("allow pattern compiles")).collect())
                .iter()
                .any(|a| a.is_match(value))
    }
}

/// ASCII case-insensitive "does `hay` contain one of `needles`" (needles are lowercase).
fn contains_any_ci(hay: &[u8], needles: &[Vec<u8>]) -> bool {
    if needles.is_empty() {
        return false;
    }
    let lower = hay.to_ascii_lowercase();
    needles.iter().any(|n| memchr::memmem::find(&lower, n).is_some())
}
