//! The `redact` field action: find personal information and secrets inside
//! free text (customer-service chat, ticket notes, error messages) and
//! replace each hit by a label such as `[PHONE]`.
//!
//! # Layout
//! - this file: the user-facing [`Detector`] names and labels, the compiled
//!   [`Redactor`], the prefilter, overlap resolution and the fixpoint loop;
//! - [`fold`]: full-width digits, letters and punctuation and odd spaces
//!   folded to ASCII, with offsets mapped back so output keeps the original;
//! - `bounds`: hit boundaries, digit groups and context-word lookups shared
//!   by the detectors;
//! - one file per detector: `email`, `phone`, `cn_id`, `card`, `iban`,
//!   `ip`, `credentials`, `passport`.
//!
//! # How a text is scanned
//! A byte-table prefilter skips text that cannot hold a hit (no digit, `@`,
//! `:`, `=`, `-`, no full-width form and no anchor word). Otherwise the text is folded, digit
//! groups are found once and shared by the numeric detectors, and one
//! combined `regex` automaton finds the literal anchors of token shapes
//! (`AKIA…`, `ghp_…`, `eyJ…`, `Bearer`, `-----BEGIN`, `护照`, …). Every
//! candidate is then validated in code: checksums (GB 11643, Luhn, mod-97),
//! dates, number plans, base64 structure, context words.
//!
//! # Overlaps and idempotence
//! Overlaps are resolved deterministically: credentials, then email, then
//! China ID, IBAN and passport take precedence; among phone, card and IP the
//! longest hit wins, then the earliest, then phone before card before IP.
//! Replacing a hit can change what its neighbours look like
//! (`+86180013+861380014`), so a redaction is repeated on its own output
//! until no detector fires: `redact(redact(x)) == redact(x)`, and nothing a
//! detector would call personal survives. A hit may never consist of labels
//! only or cut through a label, which makes every pass shrink the unlabelled
//! text, so the loop ends; a text that would still change after
//! [`MAX_PASSES`] passes (constructed input) is replaced by one label.

pub mod action;
mod bounds;
mod card;
mod cn_id;
mod credentials;
mod email;
pub(crate) mod fold;
mod iban;
mod ip;
mod passport;
mod phone;

use std::cell::RefCell;
use std::cmp::Ordering;
use std::sync::LazyLock;

use bounds::Group;

pub(crate) use card::luhn_valid;
pub(crate) use cn_id::{cn_id_check_char, valid_cn_id};
pub(crate) use iban::mod97 as iban_mod97_valid;

/// One kind of personal information that [`Redactor`] can find in free text.
///
/// The serde names (`email`, `phone`, `cn_id`, `card`, `iban`, `ip`,
/// `credentials`, `passport`) are the user-facing names in pipeline files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Detector {
    /// Email addresses, Unicode local parts and domains, `%40` for `@`.
    Email,
    /// China mobiles and landlines, NANP numbers, `+`-prefixed international numbers.
    Phone,
    /// China resident identity numbers: 18 digits with a valid GB 11643
    /// check character, 15-digit legacy numbers, and ID-shaped numbers next
    /// to an ID context word.
    CnId,
    /// Bank card numbers (13–19 digits) passing the Luhn check.
    Card,
    /// International bank account numbers passing ISO 13616 mod-97.
    Iban,
    /// IPv4 and IPv6 addresses (with brackets and zone ids).
    Ip,
    /// Passwords, tokens and keys: `key=value` secrets, `Authorization`
    /// headers, JWTs, cloud and SaaS token shapes, PEM private keys, URL
    /// userinfo and secret query parameters.
    Credentials,
    /// China passport numbers next to a passport context word.
    Passport,
}

impl Detector {
    /// Every detector, in declaration order (the default set of a pipeline).
    pub const ALL: [Detector; 8] = [
        Detector::Email,
        Detector::Phone,
        Detector::CnId,
        Detector::Card,
        Detector::Iban,
        Detector::Ip,
        Detector::Credentials,
        Detector::Passport,
    ];

    /// The text that replaces a hit, e.g. `[CN_ID]`.
    pub fn label(self) -> &'static str {
        match self {
            Detector::Email => "[EMAIL]",
            Detector::Phone => "[PHONE]",
            Detector::CnId => "[CN_ID]",
            Detector::Card => "[CARD]",
            Detector::Iban => "[IBAN]",
            Detector::Ip => "[IP]",
            Detector::Credentials => "[CREDENTIALS]",
            Detector::Passport => "[PASSPORT]",
        }
    }

    /// The name used in pipeline files (equal to the serde name), e.g. `cn_id`.
    pub fn name(self) -> &'static str {
        match self {
            Detector::Email => "email",
            Detector::Phone => "phone",
            Detector::CnId => "cn_id",
            Detector::Card => "card",
            Detector::Iban => "iban",
            Detector::Ip => "ip",
            Detector::Credentials => "credentials",
            Detector::Passport => "passport",
        }
    }

    fn bit(self) -> u16 {
        1 << self as u16
    }

    /// Precedence class: lower wins any overlap regardless of length.
    fn class(self) -> u8 {
        match self {
            Detector::Credentials => 0,
            Detector::Email => 1,
            Detector::CnId | Detector::Iban | Detector::Passport => 2,
            Detector::Phone | Detector::Card | Detector::Ip => 3,
        }
    }

    /// Last tie-break between hits of one class, length and start.
    fn tie(self) -> u8 {
        match self {
            Detector::Phone => 0,
            Detector::Card => 1,
            _ => 2,
        }
    }
}

/// Redaction passes before a text that keeps changing is replaced whole.
pub const MAX_PASSES: usize = 16;

/// A compiled set of detectors that rewrites free text with every hit
/// replaced by its label.
///
/// Built once when a pipeline loads; immutable, so one instance is shared by
/// all worker threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redactor {
    enabled: u16,
}

impl Redactor {
    /// Builds a redactor running exactly the given detectors; an empty slice
    /// gives a redactor that copies text through unchanged.
    pub fn new(detectors: &[Detector]) -> Self {
        let enabled = detectors.iter().fold(0, |acc, d| acc | d.bit());
        // Compile the shared automaton now, not on the first record.
        if enabled != 0 {
            LazyLock::force(&ANCHORS);
        }
        Self { enabled }
    }

    /// Whether `detector` was selected when this redactor was built.
    pub fn is_enabled(&self, detector: Detector) -> bool {
        self.enabled & detector.bit() != 0
    }

    /// Appends `text` to `out` with every hit replaced by its detector's
    /// label, and returns the number of hits replaced (over all passes).
    ///
    /// `out` is not cleared. The result is a fixpoint: redacting it again
    /// finds nothing. Text that contains no ASCII digit, `@`, `:`, `=`, `-`,
    /// full-width form or anchor word cannot hold a hit and is copied
    /// without further scanning.
    /// Working memory is reused per thread, so steady-state calls do not
    /// allocate beyond growing `out`.
    pub fn redact(&self, text: &str, out: &mut String) -> usize {
        let triggers = Triggers::of(text.as_bytes());
        if self.enabled == 0 || !self.may_hold(triggers, text.as_bytes()) {
            out.push_str(text);
            return 0;
        }
        let with_scratch = SCRATCH
            .try_with(|cell| {
                cell.try_borrow_mut()
                    .ok()
                    .map(|mut scratch| self.redact_to_fixpoint(text, triggers, &mut scratch, out))
            })
            .ok()
            .flatten();
        match with_scratch {
            Some(hits) => hits,
            // Thread-local storage is being torn down (or re-entered): use a
            // one-off scratch instead.
            None => self.redact_to_fixpoint(text, triggers, &mut Scratch::new(), out),
        }
    }

    /// The prefilter: a trigger byte, or an anchor of a word-started
    /// detector (`password is …` needs no digit or separator).
    fn may_hold(&self, triggers: Triggers, b: &[u8]) -> bool {
        triggers.any()
            || ((self.is_enabled(Detector::Credentials) || self.is_enabled(Detector::Passport))
                && ANCHORS.is_match(b))
    }

    /// Runs passes until one finds nothing; appends the result to `out`.
    fn redact_to_fixpoint(
        &self,
        text: &str,
        triggers: Triggers,
        scratch: &mut Scratch,
        out: &mut String,
    ) -> usize {
        let mut current = std::mem::take(&mut scratch.current);
        let mut next = std::mem::take(&mut scratch.next);
        current.clear();
        let mut total = self.pass(text, triggers, scratch, &mut current);
        if total == 0 {
            out.push_str(text);
        } else {
            let mut passes = 1;
            loop {
                next.clear();
                let found =
                    self.pass(&current, Triggers::of(current.as_bytes()), scratch, &mut next);
                if found == 0 {
                    out.push_str(&current);
                    break;
                }
                total += found;
                passes += 1;
                std::mem::swap(&mut current, &mut next);
                if passes >= MAX_PASSES {
                    // Constructed input that keeps revealing hits: fail closed.
                    out.push_str(scratch.first_label);
                    break;
                }
            }
        }
        scratch.current = current;
        scratch.next = next;
        scratch.trim();
        total
    }

    /// One pass: finds, resolves and replaces hits in `text`, whose
    /// trigger bytes are `raw_triggers`.
    fn pass(
        &self,
        text: &str,
        raw_triggers: Triggers,
        scratch: &mut Scratch,
        out: &mut String,
    ) -> usize {
        let Scratch { hits, taken, folded, groups, labels, first_label, .. } = scratch;
        let raw = text.as_bytes();
        let is_folded = raw_triggers.fold && folded.fold(raw);
        let b: &[u8] = if is_folded { &folded.bytes } else { raw };
        let t = if is_folded { raw_triggers.with_ascii(folded.produced) } else { raw_triggers };
        hits.clear();
        let on = |d: Detector| self.is_enabled(d);
        let mut sink = Sink { hits };
        if t.digit {
            bounds::digit_groups(b, groups);
            bounds::for_each_run(groups, |run: &[Group]| {
                if on(Detector::CnId) {
                    cn_id::scan_run(b, run, &mut sink);
                }
                if on(Detector::Phone) {
                    phone::scan_run(b, run, &mut sink);
                }
                if on(Detector::Card) {
                    card::scan_run(b, run, &mut sink);
                }
            });
            if t.plus && on(Detector::Phone) {
                phone::scan_international(b, &mut sink);
            }
            if on(Detector::Ip) {
                ip::scan_ipv4(b, groups, &mut sink);
            }
            if on(Detector::Iban) {
                iban::scan(b, groups, &mut sink);
            }
        }
        if t.colon && on(Detector::Ip) {
            ip::scan_ipv6(b, &mut sink);
        }
        if (t.at || t.percent) && on(Detector::Email) {
            email::scan(b, t.at, t.percent, &mut sink);
        }
        if on(Detector::Credentials) {
            if t.at && t.colon {
                credentials::scan_url_userinfo(b, &mut sink);
            }
            if t.colon || t.eq {
                credentials::scan_key_values(b, &mut sink);
            }
        }
        if on(Detector::Credentials) || on(Detector::Passport) {
            for m in ANCHORS.find_iter(b) {
                let anchor = m.as_bytes();
                if anchor_is_passport_context(anchor) {
                    if on(Detector::Passport) {
                        passport::after_context(b, m.end(), &mut sink);
                    }
                } else if on(Detector::Credentials) {
                    credentials::at_anchor(b, m.start(), m.end(), &mut sink);
                }
            }
        }
        if hits.is_empty() {
            return 0;
        }
        labels.clear();
        if t.bracket {
            find_labels(b, labels);
        }
        let kept = resolve(hits, taken, labels);
        if let Some(first) = hits.iter().find(|h| h.keep) {
            *first_label = first.detector.label();
        }
        if is_folded {
            for hit in hits.iter_mut() {
                hit.start = folded.original(hit.start);
                hit.end = folded.original(hit.end);
            }
        }
        write_redacted(text, hits, out);
        kept
    }
}

/// Where detectors put validated candidates.
pub(super) struct Sink<'a> {
    hits: &'a mut Vec<Hit>,
}

impl Sink<'_> {
    /// Records that `b[start..end]` is a hit of `detector`.
    pub(super) fn push(&mut self, start: usize, end: usize, detector: Detector) {
        if start < end {
            self.hits.push(Hit { start, end, detector, keep: false });
        }
    }
}

// ---------------------------------------------------------------- prefilter

/// Literal anchors of the detectors that start from a word rather than a
/// digit or separator: token prefixes, auth schemes, PEM armour, passport
/// and Chinese credential context words. One automaton finds them all;
/// each match is validated by the detector it belongs to.
static ANCHORS: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
    let pattern = [
        // AWS access key ids.
        r"A(?:KIA|SIA|GPA|IDA|ROA|NPA|NVA|IPA)[A-Z2-7]{16}",
        // GitHub, GitLab, Slack, Stripe, OpenAI-style token shapes.
        r"gh[pousr]_[A-Za-z0-9]{36,}",
        r"github_pat_[A-Za-z0-9_]{22,}",
        r"glpat-[A-Za-z0-9_\-]{20,}",
        r"xox[abposr]-[A-Za-z0-9\-]{10,}",
        r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}",
        r"sk-(?:proj-)?[A-Za-z0-9_\-]{20,}",
        // JSON Web Tokens: base64url `{"` header, payload, signature.
        r"eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*",
        // HTTP auth schemes followed by a credential.
        r"(?:Bearer|bearer|BEARER|Basic|basic|BASIC) +[A-Za-z0-9._~+/\-]+=*",
        // PEM private key armour.
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----",
        // Chinese credential words and English prose forms.
        r"密码|口令|密钥|秘钥|令牌|验证码|(?:[Pp]assword|PASSWORD|[Pp]asscode|[Pp]in code) (?:is|was) ",
        // Passport context words.
        r"护照|護照|[Pp]assport|PASSPORT",
    ]
    .join("|");
    // The pattern is a constant: a failure is a programming error that
    // every test building a redactor catches.
    regex::bytes::Regex::new(&pattern).expect("anchor pattern compiles")
});

fn anchor_is_passport_context(anchor: &[u8]) -> bool {
    anchor.eq_ignore_ascii_case(b"passport")
        || anchor == "护照".as_bytes()
        || anchor == "護照".as_bytes()
}

/// Which trigger bytes a text contains; detectors whose trigger is absent
/// are skipped.
#[derive(Clone, Copy)]
struct Triggers {
    bits: u16,
    digit: bool,
    at: bool,
    colon: bool,
    plus: bool,
    eq: bool,
    percent: bool,
    bracket: bool,
    fold: bool,
    dash: bool,
}

impl Triggers {
    const DIGIT: u16 = 1;
    const AT: u16 = 2;
    const COLON: u16 = 4;
    const PLUS: u16 = 8;
    const EQ: u16 = 16;
    const PERCENT: u16 = 32;
    const BRACKET: u16 = 64;
    const FOLD: u16 = 128;
    const DASH: u16 = 256;
    const EVERY: u16 = 511;

    /// Byte → trigger bit, so the scan is one load and one OR per byte.
    const TABLE: [u16; 256] = {
        let mut table = [0; 256];
        let mut c = b'0';
        while c <= b'9' {
            table[c as usize] = Self::DIGIT;
            c += 1;
        }
        table[b'@' as usize] = Self::AT;
        table[b':' as usize] = Self::COLON;
        table[b'+' as usize] = Self::PLUS;
        table[b'=' as usize] = Self::EQ;
        table[b'%' as usize] = Self::PERCENT;
        table[b'[' as usize] = Self::BRACKET;
        table[b'-' as usize] = Self::DASH;
        // Lead bytes of the characters `fold` rewrites.
        table[0xC2] = Self::FOLD;
        table[0xE2] = Self::FOLD;
        table[0xE3] = Self::FOLD;
        table[0xEF] = Self::FOLD;
        table
    };

    fn of(b: &[u8]) -> Self {
        let mut seen = 0;
        for chunk in b.chunks(64) {
            seen = chunk.iter().fold(seen, |acc, &c| acc | Self::TABLE[usize::from(c)]);
            if seen == Self::EVERY {
                break;
            }
        }
        Self::from_bits(seen)
    }

    /// These triggers plus those of the ASCII bytes set in `produced`
    /// (bit `c` for byte `c`), as folding a text adds them.
    fn with_ascii(self, produced: u128) -> Self {
        let mut seen = self.bits;
        for c in 0..128u8 {
            if produced & (1u128 << c) != 0 {
                seen |= Self::TABLE[usize::from(c)];
            }
        }
        Self::from_bits(seen)
    }

    fn from_bits(seen: u16) -> Self {
        Triggers {
            bits: seen,
            digit: seen & Self::DIGIT != 0,
            at: seen & Self::AT != 0,
            colon: seen & Self::COLON != 0,
            plus: seen & Self::PLUS != 0,
            eq: seen & Self::EQ != 0,
            percent: seen & Self::PERCENT != 0,
            bracket: seen & Self::BRACKET != 0,
            fold: seen & Self::FOLD != 0,
            dash: seen & Self::DASH != 0,
        }
    }

    /// Whether anything can be found (before folding, a fold candidate
    /// counts: it may be a full-width digit; a dash may open a PEM block).
    fn any(self) -> bool {
        self.digit || self.at || self.colon || self.eq || self.fold || self.dash
    }
}

// --------------------------------------------------------------- resolution

/// A validated candidate: `text[start..end]` is PII of kind `detector`.
#[derive(Debug, Clone, Copy)]
struct Hit {
    start: usize,
    end: usize,
    detector: Detector,
    keep: bool,
}

impl Hit {
    fn len(&self) -> usize {
        self.end - self.start
    }
}

/// Per-thread working memory, reused across calls.
struct Scratch {
    hits: Vec<Hit>,
    taken: Vec<bool>,
    folded: fold::Folded,
    groups: Vec<Group>,
    labels: Vec<(usize, usize)>,
    current: String,
    next: String,
    first_label: &'static str,
}

/// Above this many retained elements a buffer is shrunk after use, so one
/// pathological record does not pin memory for the thread's lifetime.
const RETAINED_CAPACITY: usize = 4096;

impl Scratch {
    const fn new() -> Self {
        Self {
            hits: Vec::new(),
            taken: Vec::new(),
            folded: fold::Folded::new(),
            groups: Vec::new(),
            labels: Vec::new(),
            current: String::new(),
            next: String::new(),
            first_label: "",
        }
    }

    fn trim(&mut self) {
        fn shrink<T>(v: &mut Vec<T>) {
            if v.capacity() > RETAINED_CAPACITY {
                *v = Vec::new();
            }
        }
        shrink(&mut self.hits);
        shrink(&mut self.taken);
        shrink(&mut self.groups);
        shrink(&mut self.labels);
        self.folded.trim(RETAINED_CAPACITY);
        for s in [&mut self.current, &mut self.next] {
            if s.capacity() > RETAINED_CAPACITY * 16 {
                *s = String::new();
            }
        }
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = const { RefCell::new(Scratch::new()) };
}

/// The spans of labels (`[PHONE]`, …) already in `b`, sorted.
fn find_labels(b: &[u8], labels: &mut Vec<(usize, usize)>) {
    let mut from = 0;
    while let Some(open) = bounds::next_byte(b, from, b'[') {
        from = open + 1;
        let rest = b.get(open..).unwrap_or_default();
        if let Some(d) = Detector::ALL.iter().find(|d| rest.starts_with(d.label().as_bytes())) {
            let end = open + d.label().len();
            labels.push((open, end));
            from = end;
        }
    }
}

/// A hit must not consist of labels only, nor start or end inside one:
/// otherwise a second pass could relabel a label forever.
fn conflicts_with_labels(hit: &Hit, labels: &[(usize, usize)]) -> bool {
    if labels.is_empty() {
        return false;
    }
    let inside = |pos: usize| {
        let i = labels.partition_point(|&(s, _)| s < pos);
        i.checked_sub(1).and_then(|i| labels.get(i)).is_some_and(|&(s, e)| s < pos && pos < e)
    };
    if inside(hit.start) || inside(hit.end) {
        return true;
    }
    let first = labels.partition_point(|&(s, _)| s < hit.start);
    let mut pos = hit.start;
    for &(s, e) in labels.get(first..).unwrap_or_default() {
        if s != pos || e > hit.end {
            break;
        }
        pos = e;
    }
    pos == hit.end
}

/// Marks the hits to keep so that kept hits never overlap; returns how many.
///
/// Hits are grouped into clusters of transitively overlapping spans. Inside a
/// cluster they are taken in precedence order (class, longer, earlier, tie)
/// and kept when none of their bytes is already covered. Cluster ranges are
/// disjoint, so the work stays linear in the text plus the candidates.
fn resolve(hits: &mut Vec<Hit>, taken: &mut Vec<bool>, labels: &[(usize, usize)]) -> usize {
    hits.retain(|h| !conflicts_with_labels(h, labels));
    hits.sort_unstable_by_key(|h| (h.start, h.end));
    let mut kept = 0;
    let mut i = 0;
    while i < hits.len() {
        let base = hits[i].start;
        let mut end = hits[i].end;
        let mut j = i + 1;
        while j < hits.len() && hits[j].start < end {
            end = end.max(hits[j].end);
            j += 1;
        }
        let cluster = &mut hits[i..j];
        if let [only] = cluster {
            only.keep = true;
            kept += 1;
        } else {
            cluster.sort_unstable_by(precedence);
            taken.clear();
            taken.resize(end - base, false);
            for hit in cluster.iter_mut() {
                if let Some(span) = taken.get_mut(hit.start - base..hit.end - base) {
                    if span.iter().all(|t| !*t) {
                        span.fill(true);
                        hit.keep = true;
                        kept += 1;
                    }
                }
            }
            cluster.sort_unstable_by_key(|h| h.start);
        }
        i = j;
    }
    kept
}

fn precedence(a: &Hit, b: &Hit) -> Ordering {
    a.detector
        .class()
        .cmp(&b.detector.class())
        .then(b.len().cmp(&a.len()))
        .then(a.start.cmp(&b.start))
        .then(a.detector.tie().cmp(&b.detector.tie()))
}

/// Appends `text` to `out` with the kept hits (sorted, disjoint) replaced.
fn write_redacted(text: &str, hits: &[Hit], out: &mut String) {
    out.reserve(text.len());
    let mut last = 0;
    for hit in hits.iter().filter(|h| h.keep) {
        // Hit bounds are character boundaries (detectors step over whole
        // characters and folding maps back to character starts); `get`
        // keeps a logic error from becoming a panic or a raw copy.
        match text.get(last..hit.start) {
            Some(between) => out.push_str(between),
            None => continue,
        }
        out.push_str(hit.detector.label());
        last = hit.end;
    }
    out.push_str(text.get(last..).unwrap_or_default());
}

#[cfg(test)]
mod tests;
