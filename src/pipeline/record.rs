//! The per-record hot path: one pass over the input JSON, no tree.
//!
//! The validating scanner of [`crate::scan`] walks the record once, guided
//! by the rule tree. Keys are compared in place (the next rule's name is
//! tried first, since records tend to list fields in rule order); a kept
//! scalar is copied through as its raw bytes (an object or array under
//! `keep` is `wrong_type`, see [`super::types`]); a dropped value is
//! skipped; only the values a rule names are decoded and transformed.
//! Every value, kept ones included, must be one serde_json would decode
//! (no lone surrogates, numbers within `f64`), so outputs parse. Output
//! goes into the worker's reused buffer ([`Scratch`]), so the steady state
//! allocates nothing per record. Failures are recorded in the context and
//! surfaced as a [`RecordError`] whose message names configured field
//! paths, never values nor field names taken from the record (an unlisted
//! field is named by its position).
//!
//! Compatibility: what is accepted, refused (and with which error code) and
//! written is byte-for-byte what the earlier serde_json-driven walk did; the
//! tests in `record/tests.rs` hold the two against each other (that walk is
//! kept as the test oracle in `reference.rs`).

use std::fmt;

use crate::actions::pseudonymize::PseudonymOutcome;
use crate::actions::user_agent::UserAgentCache;
use crate::actions::Outcome;
use crate::error::{ErrorCode, RecordError};
use crate::scan::{span_str, unescape, Cursor, NameProbe, Skip, StrSpan};

pub(crate) use self::failure::unlisted_message;
use self::failure::{classify_failure, empty_record, invalid_utf8, Stop};
use self::values::{apply_number, apply_str, generalize_location, keep_scalar, wrong_type};
use super::compile::{Action, Child, ChildKind, KeyRule, MemberOp, Node, Pipeline};
use super::json_out::{push_prefix, push_range};
use super::spec::{Format, UnknownFields};
use super::types::JsonType;

/// Entries kept in each worker's user-agent cache.
pub const UA_CACHE_CAPACITY: usize = 4096;

/// Per-worker reusable state: output buffers, scratch strings, caches.
pub struct Scratch {
    /// The desensitized record after a successful [`Pipeline::process`].
    pub out: Vec<u8>,
    /// The transformed record key after [`Pipeline::transform_key`].
    pub key_out: Vec<u8>,
    /// Rule indices whose field was dropped because the value could not be
    /// transformed (cleared per record).
    pub failed_rules: Vec<usize>,
    /// Statistics capture: `(trie node, value start, value end)` in `out`
    /// of each written field a statistic reads (see
    /// `crate::stats::mark_captures`).
    pub stats_located: Vec<(u32, u32, u32)>,
    tmp: String,
    /// Unescaped keys and strings (only those with escapes).
    text: String,
    /// Open containers while copying a kept value.
    stack: Vec<u8>,
    line_json: Vec<u8>,
    ua: UserAgentCache,
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch {
            out: Vec::with_capacity(1024),
            key_out: Vec::with_capacity(64),
            failed_rules: Vec::new(),
            stats_located: Vec::with_capacity(16),
            tmp: String::with_capacity(256),
            text: String::with_capacity(256),
            stack: Vec::with_capacity(16),
            line_json: Vec::with_capacity(1024),
            ua: UserAgentCache::new(UA_CACHE_CAPACITY),
        }
    }
}

impl fmt::Debug for Scratch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Scratch")
    }
}

impl Pipeline {
    /// Desensitizes one record into `scratch.out`.
    ///
    /// # Errors
    /// A [`RecordError`] (for the dead-letter topic) when the record cannot be
    /// decoded, is too large or deep, has a field of a type its action cannot
    /// take, a duplicate field, or an unlisted field under
    /// `unknown_fields = "error"`. Values that merely fail to transform drop
    /// their field and are listed in `scratch.failed_rules`.
    pub fn process(&self, input: &[u8], scratch: &mut Scratch) -> Result<(), RecordError> {
        scratch.out.clear();
        scratch.failed_rules.clear();
        scratch.stats_located.clear();
        if input.len() > self.max_record_bytes {
            return Err(RecordError::new(
                ErrorCode::TooLarge,
                format!(
                    "record has {} bytes; max_record_bytes is {}",
                    input.len(),
                    self.max_record_bytes
                ),
            ));
        }
        match self.format {
            // The scanner validates UTF-8 as it goes; a refused record is
            // classified (UTF-8 first, then empty, then JSON) in
            // `classify_failure`, as if those checks had run up front.
            Format::Json => self.process_json(input, scratch),
            Format::Combined | Format::Common => {
                let text = std::str::from_utf8(input).map_err(|e| invalid_utf8(&e))?;
                if text.trim().is_empty() {
                    return Err(empty_record());
                }
                let mut line_json = std::mem::take(&mut scratch.line_json);
                line_json.clear();
                let result = super::clf::to_json(text, self.format, &mut line_json)
                    .and_then(|()| self.process_json(&line_json, scratch));
                scratch.line_json = line_json;
                result
            }
        }
    }

    fn process_json(&self, input: &[u8], scratch: &mut Scratch) -> Result<(), RecordError> {
        prefetch(input);
        let mut ctx = Ctx {
            pipe: self,
            out: &mut scratch.out,
            tmp: &mut scratch.tmp,
            ua: &mut scratch.ua,
            failed: &mut scratch.failed_rules,
            located: &mut scratch.stats_located,
            stack: &mut scratch.stack,
            err: None,
            now_ms: None,
        };
        let mut cur = Cursor::new(input);
        let result = walk_record(&mut ctx, &mut cur, &mut scratch.text);
        match result {
            Ok(()) => Ok(()),
            Err(stop) => {
                let refused = ctx.err.take();
                scratch.out.clear();
                Err(classify_failure(input, stop, refused))
            }
        }
    }

    /// Applies `[output] key` to a Kafka record key; the result is in
    /// `scratch.key_out` when this returns `true`, and there is no key when
    /// it returns `false`.
    pub fn transform_key(&self, key: Option<&[u8]>, scratch: &mut Scratch) -> bool {
        scratch.key_out.clear();
        let Some(key) = key else { return false };
        match &self.key_rule {
            KeyRule::Keep => {
                scratch.key_out.extend_from_slice(key);
                true
            }
            KeyRule::Drop => false,
            KeyRule::Pseudonymize(p) => {
                match p.write_json(key, false, &mut scratch.tmp, &mut scratch.key_out) {
                    PseudonymOutcome::Written => {
                        // Strip the JSON quotes: keys are plain bytes.
                        scratch.key_out.pop();
                        scratch.key_out.remove(0);
                        true
                    }
                    PseudonymOutcome::Invalid => false,
                }
            }
        }
    }
}

/// Asks for every cache line of a (typically cold) record at once, so the
/// misses overlap instead of arriving one by one as the scan reaches them.
#[inline]
fn prefetch(input: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // Beyond a few KiB the hardware prefetcher has long caught on.
        for line in input[..input.len().min(4096)].chunks(64) {
            // SAFETY: a prefetch is only a hint: it never faults and reads
            // nothing into the program; the address is inside `input`.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast()) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = input;
}

/// Everything the walk needs, borrowed for one record.
struct Ctx<'s, 'p> {
    pipe: &'p Pipeline,
    out: &'s mut Vec<u8>,
    tmp: &'s mut String,
    ua: &'s mut UserAgentCache,
    failed: &'s mut Vec<usize>,
    located: &'s mut Vec<(u32, u32, u32)>,
    stack: &'s mut Vec<u8>,
    err: Option<RecordError>,
    now_ms: Option<i64>,
}

impl Ctx<'_, '_> {
    /// Records why the record is refused (the first reason wins).
    fn fail(&mut self, code: ErrorCode, message: String) -> Stop {
        if self.err.is_none() {
            self.err = Some(RecordError::new(code, message));
        }
        Stop::Refused
    }

    fn too_deep(&mut self) -> Stop {
        let limit = self.pipe.max_depth;
        self.fail(ErrorCode::TooDeep, format!("record nests deeper than max_depth {limit}"))
    }

    fn skip_error(&mut self, e: Skip) -> Stop {
        match e {
            Skip::Syntax(e) => e.into(),
            Skip::TooDeep => self.too_deep(),
        }
    }

    /// Statistics capture: notes where the value of `child`, just written,
    /// starts and ends in the output when a statistic reads it.
    #[inline]
    fn locate_for_stats(&mut self, child: &Child, value_start: usize) {
        if let Some(node) = child.stats_node {
            if let (Ok(start), Ok(end)) =
                (u32::try_from(value_start), u32::try_from(self.out.len()))
            {
                self.located.push((node, start, end));
            }
        }
    }

    #[inline]
    fn sep(&mut self, body_start: usize) {
        if self.out.len() > body_start {
            self.out.push(b',');
        }
    }

    /// Appends `child`'s `"name":`, preceded by a comma unless it is the
    /// first member written since `body_start`.
    #[inline(always)]
    fn member_key(&mut self, body_start: usize, child: &Child) {
        self.sep(body_start);
        let literal = &child.key_literal;
        if literal.is_empty() {
            self.out.extend_from_slice(&child.out_key);
        } else {
            // The literal is exactly `out_key` (see `Node::insert`).
            push_prefix(self.out, literal.padded(), literal.len());
        }
    }
}

/// The decoded text of a strictly scanned string: borrowed from the input
/// when it has no escapes, else unescaped into `text`.
///
/// # Safety
/// As for [`span_str`]: `span` must come from `Cursor::string` (or `key`,
/// `key_only`) on a cursor over this same `bytes`.
#[inline(always)]
unsafe fn string_text<'b>(
    bytes: &'b [u8],
    span: StrSpan,
    text: &'b mut String,
) -> Result<&'b str, Stop> {
    if span.escaped {
        unescaped_text(bytes, span, text)
    } else {
        // SAFETY: this function's own contract.
        Ok(unsafe { span_str(bytes, span) })
    }
}

/// [`string_text`] of a string with escapes (out of line: rare in records).
#[inline(never)]
fn unescaped_text<'b>(bytes: &[u8], span: StrSpan, text: &'b mut String) -> Result<&'b str, Stop> {
    text.clear();
    if !unescape(&bytes[span.start..span.end], text) {
        return Err(Stop::Syntax(span.start));
    }
    Ok(text.as_str())
}

/// The whole record: exactly one JSON object, then only whitespace.
fn walk_record(ctx: &mut Ctx<'_, '_>, cur: &mut Cursor<'_>, text: &mut String) -> Result<(), Stop> {
    let kind = match cur.peek_ws() {
        Some(b'{') => {
            cur.bump();
            let pipe = ctx.pipe;
            walk_object(ctx, cur, &pipe.root, 1, true, text)?;
            if !cur.at_end() {
                return Err(cur.error().into());
            }
            return Ok(());
        }
        // serde_json hands the array to the visitor before reading it.
        Some(b'[') => "array",
        Some(b'"') => {
            cur.string(true)?;
            "string"
        }
        Some(b'-' | b'0'..=b'9') => {
            cur.number(true)?;
            "number"
        }
        Some(b't') => {
            cur.literal(b"true")?;
            "boolean"
        }
        Some(b'f') => {
            cur.literal(b"false")?;
            "boolean"
        }
        Some(b'n') => {
            cur.literal(b"null")?;
            "null"
        }
        _ => return Err(cur.error().into()),
    };
    Err(ctx.fail(ErrorCode::NotAnObject, format!("record is a JSON {kind}, not an object")))
}

/// One object level (its `{` consumed) with its rule node; returns whether
/// anything was written. Below the top, a level that keeps nothing writes
/// nothing at all.
///
/// The per-member loop is kept small so its state stays in registers: the
/// common members (a name written as the writer writes it, then a dropped
/// value, a kept scalar or a string handed to its action) are handled in
/// line; names found by search, duplicates, unlisted fields, nested levels,
/// `keep_subtree` and values of other types go through out-of-line helpers.
fn walk_object(
    ctx: &mut Ctx<'_, '_>,
    cur: &mut Cursor<'_>,
    node: &Node,
    depth: usize,
    top: bool,
    text: &mut String,
) -> Result<bool, Stop> {
    let pipe = ctx.pipe;
    if depth > pipe.max_depth {
        return Err(ctx.too_deep());
    }
    let object_start = ctx.out.len();
    ctx.out.push(b'{');
    let body_start = ctx.out.len();
    let mut seen = [0u64; super::compile::MAX_CHILDREN / 64];
    // Records usually list their fields in rule order: try the next rule first.
    let mut hint = 0;
    let mut position = 0;
    let mut more = cur.first_member()?;
    while more {
        position += 1;
        // The hinted child written as the writer would write it (`"name":`,
        // compact, the same escapes) is taken with its colon in one
        // comparison: those bytes are a valid key that decodes to the name.
        cur.peek_ws();
        let (ci, child, colon_read) = match node.children.get(hint) {
            Some(child) if cur.eat_literal(&child.key_literal) => (hint, child, true),
            _ => match member_by_name(ctx, cur, node, hint, position, depth, text)? {
                Some((ci, child)) => (ci, child, false),
                None => {
                    more = cur.next_member()?;
                    continue;
                }
            },
        };
        hint = ci + 1;
        // `ci` < MAX_CHILDREN (checked at load); the mask only spares a bounds check.
        let (word, bit) = ((ci / 64) % seen.len(), 1u64 << (ci % 64));
        if seen[word] & bit != 0 {
            return Err(duplicate_field(ctx, node, child));
        }
        seen[word] |= bit;
        if !colon_read {
            cur.expect(b':')?;
        }
        match (child.op, &child.kind) {
            (MemberOp::Drop, _) => {
                cur.skip_strict(depth + 1, pipe.max_depth).map_err(|e| ctx.skip_error(e))?;
            }
            (MemberOp::Keep, ChildKind::Rule(ri)) => {
                let bytes = cur.bytes();
                let start = keep_scalar(ctx, cur, |ctx, found| wrong_type(ctx, *ri, found))?;
                ctx.member_key(body_start, child);
                let value_start = ctx.out.len();
                push_range(ctx.out, bytes, start, cur.pos());
                ctx.locate_for_stats(child, value_start);
            }
            (MemberOp::StrAction, ChildKind::Rule(ri)) if cur.peek_ws() == Some(b'"') => {
                let mark = ctx.out.len();
                ctx.member_key(body_start, child);
                let value_start = ctx.out.len();
                let bytes = cur.bytes();
                let span = cur.string(true)?;
                // The rule takes strings (that is what `StrAction` says).
                // SAFETY: `span` is `cur.string()`'s and `bytes` is `cur.bytes()`.
                let s = unsafe { string_text(bytes, span, text) }?;
                let outcome = apply_str(ctx, *ri, child, s)?;
                member_written(ctx, child, *ri, outcome, mark, value_start);
            }
            _ => general_member(ctx, cur, child, depth, body_start, text)?,
        }
        more = cur.next_member()?;
    }
    if !top && ctx.out.len() == body_start {
        ctx.out.truncate(object_start);
        return Ok(false);
    }
    ctx.out.push(b'}');
    Ok(true)
}

/// After a transforming action: a dropped value removes its member (from
/// `mark`) and is listed; a written one is located for the statistics.
#[inline(always)]
fn member_written(
    ctx: &mut Ctx<'_, '_>,
    child: &Child,
    ri: usize,
    outcome: Outcome,
    mark: usize,
    value_start: usize,
) {
    if outcome == Outcome::Dropped {
        ctx.out.truncate(mark);
        ctx.failed.push(ri);
    } else {
        ctx.locate_for_stats(child, value_start);
    }
}

/// A member whose name is not the hinted child written verbatim: the name
/// is scanned (and unescaped) and looked up. An unlisted member is refused
/// (`unknown_fields = "error"`) or skipped with its value, and then this
/// returns `None`; a listed one is returned with its colon still unread.
#[inline(never)]
fn member_by_name<'n>(
    ctx: &mut Ctx<'_, '_>,
    cur: &mut Cursor<'_>,
    node: &'n Node,
    hint: usize,
    position: usize,
    depth: usize,
    text: &mut String,
) -> Result<Option<(usize, &'n Child)>, Stop> {
    let pipe = ctx.pipe;
    let bytes = cur.bytes();
    // Refusals about the name come before the colon is read, as in serde_json.
    let span = cur.key_only()?;
    let (key, probe): (&[u8], _) = if span.escaped {
        // SAFETY: `span` is `cur.key_only()`'s and `bytes` is `cur.bytes()`.
        let key = unsafe { string_text(bytes, span, text) }?.as_bytes();
        (key, NameProbe::new(key))
    } else {
        let len = span.end - span.start;
        (&bytes[span.start..span.end], NameProbe::at(bytes, span.start, len))
    };
    match node.lookup_probe(&probe, key, hint) {
        Some(ci) => match node.children.get(ci) {
            Some(child) => Ok(Some((ci, child))),
            None => Err(cur.error().into()),
        },
        None => {
            if pipe.unknown_fields == UnknownFields::Error {
                let message = unlisted_message(&node.path, position);
                return Err(ctx.fail(ErrorCode::UnknownField, message));
            }
            cur.expect(b':')?;
            cur.skip_strict(depth + 1, pipe.max_depth).map_err(|e| ctx.skip_error(e))?;
            Ok(None)
        }
    }
}

/// A field listed twice in one object.
#[cold]
#[inline(never)]
fn duplicate_field(ctx: &mut Ctx<'_, '_>, node: &Node, child: &Child) -> Stop {
    let path = format!("{}{}", node.path, child.name);
    ctx.fail(ErrorCode::DuplicateField, format!("field `{path}` appears twice"))
}

/// The members the per-member loop does not take in line (their colon
/// read): `keep_subtree`, nested levels, and values under a transforming
/// action other than a string its action takes.
#[inline(never)]
fn general_member(
    ctx: &mut Ctx<'_, '_>,
    cur: &mut Cursor<'_>,
    child: &Child,
    depth: usize,
    body_start: usize,
    text: &mut String,
) -> Result<(), Stop> {
    let pipe = ctx.pipe;
    let bytes = cur.bytes();
    match &child.kind {
        ChildKind::Rule(ri) => match &pipe.rules[*ri].action {
            Action::Drop(_) => {
                cur.skip_strict(depth + 1, pipe.max_depth).map_err(|e| ctx.skip_error(e))?;
            }
            Action::Keep(_) => {
                let start = keep_scalar(ctx, cur, |ctx, found| wrong_type(ctx, *ri, found))?;
                ctx.sep(body_start);
                ctx.out.extend_from_slice(&child.out_key);
                let value_start = ctx.out.len();
                ctx.out.extend_from_slice(&bytes[start..cur.pos()]);
                ctx.locate_for_stats(child, value_start);
            }
            Action::KeepSubtree(_) => {
                cur.peek_ws();
                let mut strict = cur.clone();
                let start = cur.pos();
                let nesting = cur.skip_raw(ctx.stack)?;
                if nesting > pipe.max_depth.saturating_sub(depth) {
                    return Err(ctx.too_deep());
                }
                // Then refuse what serde_json would refuse to decode
                // (lone surrogates, numbers beyond f64), as for every
                // other value, so the output always parses.
                strict.skip_strict(depth + 1, pipe.max_depth).map_err(|e| ctx.skip_error(e))?;
                ctx.sep(body_start);
                ctx.out.extend_from_slice(&child.out_key);
                let value_start = ctx.out.len();
                ctx.out.extend_from_slice(&bytes[start..cur.pos()]);
                ctx.locate_for_stats(child, value_start);
            }
            _ => {
                let mark = ctx.out.len();
                ctx.sep(body_start);
                ctx.out.extend_from_slice(&child.out_key);
                let value_start = ctx.out.len();
                let outcome = walk_action(ctx, cur, *ri, child, depth + 1, text)?;
                member_written(ctx, child, *ri, outcome, mark, value_start);
            }
        },
        ChildKind::Nested(sub) => {
            let mark = ctx.out.len();
            ctx.sep(body_start);
            ctx.out.extend_from_slice(&child.out_key);
            let wrote = match cur.peek_ws() {
                Some(b'{') => {
                    cur.bump();
                    walk_object(ctx, cur, sub, depth + 1, false, text)?
                }
                Some(b'[') => {
                    // The rules below this name cannot apply; like
                    // serde_json's visitor, only the elements are
                    // depth-checked, not the array itself.
                    cur.bump();
                    cur.skip_elements(depth + 1, pipe.max_depth).map_err(|e| ctx.skip_error(e))?;
                    false
                }
                Some(_) => {
                    cur.skip_strict(depth + 1, pipe.max_depth).map_err(|e| ctx.skip_error(e))?;
                    false
                }
                None => return Err(cur.error().into()),
            };
            if !wrote {
                ctx.out.truncate(mark);
            }
        }
    }
    Ok(())
}

/// Applies rule `ri` to the value at the cursor (at `depth`). A value of a
/// type outside the rule's [`TypeSet`](super::types::TypeSet) is
/// `wrong_type`: a scalar once it has been read, a container at once.
fn walk_action(
    ctx: &mut Ctx<'_, '_>,
    cur: &mut Cursor<'_>,
    ri: usize,
    child: &Child,
    depth: usize,
    text: &mut String,
) -> Result<Outcome, Stop> {
    let bytes = cur.bytes();
    let rule = &ctx.pipe.rules[ri];
    let accepts = rule.accepts;
    match cur.peek_ws() {
        Some(b'"') => {
            let span = cur.string(true)?;
            if !accepts.contains(JsonType::String) {
                return Err(wrong_type(ctx, ri, JsonType::String));
            }
            // SAFETY: `span` is `cur.string()`'s and `bytes` is `cur.bytes()`.
            let s = unsafe { string_text(bytes, span, text) }?;
            apply_str(ctx, ri, child, s)
        }
        Some(b'{') => {
            cur.bump();
            match &rule.action {
                Action::GeneralizeLocation(g) if accepts.contains(JsonType::Object) => {
                    generalize_location(ctx, cur, ri, g.levels(), depth, text)
                }
                _ => Err(wrong_type(ctx, ri, JsonType::Object)),
            }
        }
        // No transforming action looks into arrays.
        Some(b'[') => Err(wrong_type(ctx, ri, JsonType::Array)),
        Some(b't') => {
            cur.literal(b"true")?;
            Err(wrong_type(ctx, ri, JsonType::Boolean))
        }
        Some(b'f') => {
            cur.literal(b"false")?;
            Err(wrong_type(ctx, ri, JsonType::Boolean))
        }
        Some(b'n') => {
            cur.literal(b"null")?;
            if !accepts.contains(JsonType::Null) {
                return Err(wrong_type(ctx, ri, JsonType::Null));
            }
            // null carries nothing personal: keep it as null.
            ctx.out.extend_from_slice(b"null");
            Ok(Outcome::Written)
        }
        Some(b'-' | b'0'..=b'9') => {
            let num = cur.number(true)?;
            if !accepts.contains(JsonType::Number) {
                return Err(wrong_type(ctx, ri, JsonType::Number));
            }
            apply_number(ctx, ri, child, &bytes[num.start..num.end], num.end)
        }
        _ => Err(cur.error().into()),
    }
}

mod failure;
mod values;

#[cfg(test)]
mod tests;
