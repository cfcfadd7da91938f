//! What the engine reports: offsets only, no paths.

use std::ops::Range;

use crate::rules::RuleId;
use crate::rules::validate::Validator;

/// One confirmed match of one rule in a haystack.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// The rule that matched.
    pub rule: RuleId,
    /// The whole match, as byte offsets into the haystack.
    pub span: Range<usize>,
    /// The secret capture, as byte offsets into the haystack.
    pub secret: Range<usize>,
    /// Shannon entropy of the secret, bits per byte.
    pub entropy: f32,
    /// The validator that confirmed the secret, if the rule has one.
    pub validated: Option<Validator>,
}
