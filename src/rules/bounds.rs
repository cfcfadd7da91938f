//! How far a rule's match may reach around its keyword: the bounds the engine searches within
//! and the stream windows overlap by. They live with the rules (which are validated against
//! them) so the engine and the searcher both import them from here, not from each other.

/// Bytes searched before a keyword hit: the longest stretch of a match ahead of its keyword.
pub const WINDOW_BEFORE: usize = 256;
/// Bytes searched after a keyword hit: the longest stretch of a match after its keyword.
pub const WINDOW_AFTER: usize = 2048;
/// The longest keyword a rule may have (windows widen by the longest keyword on each side).
pub const MAX_KEYWORD: usize = 64;
/// The longest match the engine guarantees to find (a window around a keyword hit, widened by
/// the longest keyword); streamed inputs overlap windows by more than this.
pub const MAX_MATCH: usize = WINDOW_BEFORE + WINDOW_AFTER + 3 * MAX_KEYWORD;
