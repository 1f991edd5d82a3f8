//! FROZEN BASELINE: the `redact` detectors as they were before issue 10,
//! kept unchanged so `benches/redact.rs` can measure the current set against
//! them in the same run. Not part of the library; never edit its logic.
//!
//! The `redact` field action: find personal information inside free text
//! (customer-service chat, ticket notes) and replace each hit by a label such
//! as `[PHONE]`.
//!
//! This module owns the six detectors, their validation rules and the way
//! overlapping hits are resolved. A redaction that fires on order numbers,
//! versions or clock times destroys the text analysts need, so every detector
//! finds candidates with a linear byte scan and then validates them in code:
//! GB 11643 check character and birth date for China IDs, Luhn for cards,
//! octet ranges for IPv4, std's parser for IPv6, digit boundaries for all.
//! Plain scans do this more precisely than regexes could (no lookaround, and a
//! regex that rejects a candidate would skip the valid one starting inside it).
//!
//! Rules shared by the numeric detectors (phone, China ID, card, IP):
//! - a hit never starts or ends inside a longer run of ASCII letters, digits
//!   or `_`, nor inside a decimal number (`4111…1111.50`); non-ASCII text
//!   may touch a hit, so `电话13800138000谢谢` is redacted;
//! - grouped numbers (`4111 1111 1111 1111`, `138-0013-8000`) are split at
//!   single spaces or dashes, and a hit always covers whole groups.
//!
//! Deliberate narrowings, each to keep logs readable: card numbers must start
//! with 2–9 (no card network uses 0 or 1, epoch milli/microsecond timestamps
//! do); IPv6 candidates must contain a digit (keeps out `::` and `cafe::beef`).
//!
//! Overlaps are resolved deterministically: credentials, then email, then
//! China ID take precedence; among phone, card and IP the longest hit wins,
//! then the earliest, then phone before card before IP.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::net::Ipv6Addr;

/// One kind of personal information that [`Redactor`] can find in free text.
///
/// The serde names (`email`, `phone`, `cn_id`, `card`, `ip`, `credentials`)
/// are the user-facing names in pipeline files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Detector {
    /// Email addresses with a dotted domain and an alphabetic top-level domain.
    Email,
    /// E.164 numbers (`+` and 8–15 digits) and mainland China mobile numbers.
    Phone,
    /// China resident identity numbers with a valid GB 11643-1999 check character.
    CnId,
    /// Bank card numbers (13–19 digits) passing the Luhn check.
    Card,
    /// IPv4 dotted quads and IPv6 addresses.
    Ip,
    /// The `user:password@` part of a URL.
    Credentials,
}

impl Detector {
    /// Every detector, in declaration order (the default set of a pipeline).
    pub const ALL: [Detector; 6] = [
        Detector::Email,
        Detector::Phone,
        Detector::CnId,
        Detector::Card,
        Detector::Ip,
        Detector::Credentials,
    ];

    /// The text that replaces a hit, e.g. `[CN_ID]`.
    pub fn label(self) -> &'static str {
        match self {
            Detector::Email => "[EMAIL]",
            Detector::Phone => "[PHONE]",
            Detector::CnId => "[CN_ID]",
            Detector::Card => "[CARD]",
            Detector::Ip => "[IP]",
            Detector::Credentials => "[CREDENTIALS]",
        }
    }

    /// The name used in pipeline files (equal to the serde name), e.g. `cn_id`.
    pub fn name(self) -> &'static str {
        match self {
            Detector::Email => "email",
            Detector::Phone => "phone",
            Detector::CnId => "cn_id",
            Detector::Card => "card",
            Detector::Ip => "ip",
            Detector::Credentials => "credentials",
        }
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }

    /// Precedence class: lower wins any overlap regardless of length.
    fn class(self) -> u8 {
        match self {
            Detector::Credentials => 0,
            Detector::Email => 1,
            Detector::CnId => 2,
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

/// A compiled set of detectors that rewrites free text with every hit
/// replaced by its label.
///
/// Built once when a pipeline loads; immutable, so one instance is shared by
/// all worker threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redactor {
    enabled: u8,
}

impl Redactor {
    /// Builds a redactor running exactly the given detectors; an empty slice
    /// gives a redactor that copies text through unchanged.
    pub fn new(detectors: &[Detector]) -> Self {
        let enabled = detectors.iter().fold(0, |acc, d| acc | d.bit());
        Self { enabled }
    }

    /// Whether `detector` was selected when this redactor was built.
    pub fn is_enabled(&self, detector: Detector) -> bool {
        self.enabled & detector.bit() != 0
    }

    /// Appends `text` to `out` with every hit replaced by its detector's
    /// label, and returns the number of hits replaced.
    ///
    /// `out` is not cleared. Text that contains no ASCII digit, `@` or `:`
    /// cannot hold a hit and is copied without scanning. Working memory is
    /// reused per thread, so steady-state calls do not allocate beyond
    /// growing `out`.
    pub fn redact(&self, text: &str, out: &mut String) -> usize {
        let triggers = Triggers::of(text.as_bytes());
        if self.enabled == 0 || !triggers.any() {
            out.push_str(text);
            return 0;
        }
        let with_scratch = SCRATCH
            .try_with(|cell| {
                cell.try_borrow_mut()
                    .ok()
                    .map(|mut scratch| self.redact_with(text, triggers, &mut scratch, out))
            })
            .ok()
            .flatten();
        match with_scratch {
            Some(hits) => hits,
            // Thread-local storage is being torn down (or re-entered): use a
            // one-off scratch instead.
            None => self.redact_with(text, triggers, &mut Scratch::new(), out),
        }
    }

    fn redact_with(
        &self,
        text: &str,
        triggers: Triggers,
        scratch: &mut Scratch,
        out: &mut String,
    ) -> usize {
        let b = text.as_bytes();
        let hits = &mut scratch.hits;
        hits.clear();
        let on = |d: Detector| self.is_enabled(d);
        if triggers.digit && (on(Detector::CnId) || on(Detector::Card) || on(Detector::Phone)) {
            self.scan_digit_runs(b, hits);
        }
        if triggers.digit && triggers.plus && on(Detector::Phone) {
            scan_e164(b, hits);
        }
        if triggers.digit && on(Detector::Ip) {
            scan_ipv4(b, hits);
            if triggers.colon {
                scan_ipv6(b, hits);
            }
        }
        if triggers.at && on(Detector::Email) {
            scan_emails(b, hits);
        }
        if triggers.at && triggers.colon && on(Detector::Credentials) {
            scan_credentials(b, hits);
        }
        let kept = resolve(hits, &mut scratch.taken);
        write_redacted(text, hits, out);
        scratch.trim();
        kept
    }

    /// Finds China IDs, China mobile numbers and cards in runs of digit
    /// groups joined by single spaces or dashes.
    fn scan_digit_runs(&self, b: &[u8], hits: &mut Vec<Hit>) {
        let mut run = Run::default();
        let mut joiner = 0;
        let mut from = 0;
        while let Some(start) = next_digit(b, from) {
            let mut i = start;
            while digit_at(b, i) {
                i += 1;
            }
            run.push(Group { start, end: i, joiner });
            if self.is_enabled(Detector::CnId) {
                cn_id_candidate(b, &run, hits);
            }
            if self.is_enabled(Detector::Phone) {
                china_mobile_candidates(b, &run, hits);
            }
            if self.is_enabled(Detector::Card) {
                card_candidates(b, &run, hits);
            }
            match b.get(i) {
                Some(&sep @ (b' ' | b'-')) if digit_at(b, i + 1) => joiner = sep,
                _ => {
                    joiner = 0;
                    run.count = 0;
                }
            }
            from = i;
        }
    }
}

/// Which trigger bytes a text contains; detectors whose trigger is absent
/// are skipped.
#[derive(Clone, Copy)]
struct Triggers {
    digit: bool,
    at: bool,
    colon: bool,
    plus: bool,
}

impl Triggers {
    const DIGIT: u8 = 1;
    const AT: u8 = 2;
    const COLON: u8 = 4;
    const PLUS: u8 = 8;
    const EVERY: u8 = 15;

    /// Byte → trigger bit, so the scan is one load and one OR per byte.
    const TABLE: [u8; 256] = {
        let mut table = [0; 256];
        let mut c = b'0';
        while c <= b'9' {
            table[c as usize] = Self::DIGIT;
            c += 1;
        }
        table[b'@' as usize] = Self::AT;
        table[b':' as usize] = Self::COLON;
        table[b'+' as usize] = Self::PLUS;
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
        Triggers {
            digit: seen & Self::DIGIT != 0,
            at: seen & Self::AT != 0,
            colon: seen & Self::COLON != 0,
            plus: seen & Self::PLUS != 0,
        }
    }

    fn any(self) -> bool {
        self.digit || self.at || self.colon
    }
}

/// A validated candidate: `text[start..end]` is PII of kind `detector`.
#[derive(Debug, Clone, Copy)]
struct Hit {
    start: usize,
    end: usize,
    detector: Detector,
    keep: bool,
}

impl Hit {
    fn new(start: usize, end: usize, detector: Detector) -> Self {
        Self { start, end, detector, keep: false }
    }

    fn len(&self) -> usize {
        self.end - self.start
    }
}

/// Per-thread working memory, reused across calls.
struct Scratch {
    hits: Vec<Hit>,
    taken: Vec<bool>,
}

/// Above this many retained elements a buffer is shrunk after use, so one
/// pathological record does not pin memory for the thread's lifetime.
const RETAINED_CAPACITY: usize = 4096;

impl Scratch {
    const fn new() -> Self {
        Self { hits: Vec::new(), taken: Vec::new() }
    }

    fn trim(&mut self) {
        if self.hits.capacity() > RETAINED_CAPACITY {
            self.hits.clear();
            self.hits.shrink_to(RETAINED_CAPACITY);
        }
        if self.taken.capacity() > RETAINED_CAPACITY {
            self.taken.clear();
            self.taken.shrink_to(RETAINED_CAPACITY);
        }
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = const { RefCell::new(Scratch::new()) };
}

/// Marks the hits to keep so that kept hits never overlap; returns how many.
///
/// Hits are grouped into clusters of transitively overlapping spans. Inside a
/// cluster they are taken in precedence order (class, longer, earlier, tie)
/// and kept when none of their bytes is already covered. Cluster ranges are
/// disjoint, so the work stays linear in the text plus the candidates.
fn resolve(hits: &mut [Hit], taken: &mut Vec<bool>) -> usize {
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
        // Hit bounds always sit next to ASCII bytes, so these slices are on
        // char boundaries; `get` keeps a logic error from becoming a panic.
        out.push_str(text.get(last..hit.start).unwrap_or_default());
        out.push_str(hit.detector.label());
        last = hit.end;
    }
    out.push_str(text.get(last..).unwrap_or_default());
}

// ---------------------------------------------------------------- boundaries

/// The position of the first ASCII digit at or after `from`.
fn next_digit(b: &[u8], from: usize) -> Option<usize> {
    let rest = b.get(from..)?;
    rest.iter().position(u8::is_ascii_digit).map(|p| from + p)
}

/// The position of the first `byte` at or after `from`.
fn next_byte(b: &[u8], from: usize, byte: u8) -> Option<usize> {
    let rest = b.get(from..)?;
    rest.iter().position(|&c| c == byte).map(|p| from + p)
}

fn digit_at(b: &[u8], i: usize) -> bool {
    b.get(i).is_some_and(u8::is_ascii_digit)
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// No ASCII word byte and no `digit.` decimal prefix right before `start`.
fn clear_before(b: &[u8], start: usize) -> bool {
    match start.checked_sub(1).and_then(|p| b.get(p)) {
        None => true,
        Some(&c) if is_word(c) => false,
        Some(b'.') => !(start >= 2 && digit_at(b, start - 2)),
        Some(_) => true,
    }
}

/// No ASCII word byte and no `.digit` decimal suffix right after `end`.
fn clear_after(b: &[u8], end: usize) -> bool {
    match b.get(end) {
        None => true,
        Some(&c) if is_word(c) => false,
        Some(b'.') => !digit_at(b, end + 1),
        Some(_) => true,
    }
}

fn push_if_clear(b: &[u8], start: usize, end: usize, detector: Detector, hits: &mut Vec<Hit>) {
    if clear_before(b, start) && clear_after(b, end) {
        hits.push(Hit::new(start, end, detector));
    }
}

// ------------------------------------------------------------- digit groups

/// A maximal run of ASCII digits; `joiner` is the space or dash joining it
/// to the previous group of its run (0 for the first group).
#[derive(Debug, Clone, Copy, Default)]
struct Group {
    start: usize,
    end: usize,
    joiner: u8,
}

impl Group {
    fn len(&self) -> usize {
        self.end - self.start
    }
}

/// Enough trailing groups of a run for any candidate: a multi-group card has
/// at most 6 groups (3+ digits each), a prefixed 3-4-4 phone 4.
const WINDOW: usize = 8;

/// The newest groups of the current run, in a ring buffer.
#[derive(Default)]
struct Run {
    groups: [Group; WINDOW],
    count: usize,
}

impl Run {
    fn push(&mut self, group: Group) {
        self.groups[self.count % WINDOW] = group;
        self.count += 1;
    }

    /// The group `back` places before the newest one (0 = newest).
    fn get(&self, back: usize) -> Option<Group> {
        if back >= self.count || back >= WINDOW {
            return None;
        }
        self.groups.get((self.count - 1 - back) % WINDOW).copied()
    }
}

// ------------------------------------------------------------------ China ID

const CN_ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CN_ID_CHECK: &[u8; 11] = b"10X98765432";

/// The newest group as an 18-digit ID, or 17 digits followed by `X`/`x`.
fn cn_id_candidate(b: &[u8], run: &Run, hits: &mut Vec<Hit>) {
    let Some(g) = run.get(0) else { return };
    let end = match g.len() {
        18 => g.end,
        17 if matches!(b.get(g.end), Some(b'X' | b'x')) => g.end + 1,
        _ => return,
    };
    if b.get(g.start..end).is_some_and(valid_cn_id) {
        push_if_clear(b, g.start, end, Detector::CnId, hits);
    }
}

/// The ISO 7064 MOD 11-2 check character of a China ID's first 17 digits
/// (the caller checks they are ASCII digits).
pub(crate) fn cn_id_check_char(body: &[u8]) -> u8 {
    let sum: u32 = body.iter().zip(CN_ID_WEIGHTS).map(|(&d, w)| u32::from(d - b'0') * w).sum();
    CN_ID_CHECK[(sum % 11) as usize]
}

/// GB 11643-1999: 17 digits, a real birth date (1900–2099) at positions
/// 7–14, and the ISO 7064 MOD 11-2 check character.
pub(crate) fn valid_cn_id(id: &[u8]) -> bool {
    let [body @ .., check] = id else { return false };
    if body.len() != 17 || !body.iter().all(u8::is_ascii_digit) {
        return false;
    }
    if check.to_ascii_uppercase() != cn_id_check_char(body) {
        return false;
    }
    let num = |r: std::ops::Range<usize>| {
        body[r].iter().fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0'))
    };
    valid_date(num(6..10), num(10..12), num(12..14))
}

fn valid_date(year: u32, month: u32, day: u32) -> bool {
    if !(1900..=2099).contains(&year) {
        return false;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

// ------------------------------------------------------------------- phones

/// `b[at..]` starts like a mainland mobile number: `1` then `3`–`9`.
fn mobile_start(b: &[u8], at: usize) -> bool {
    b.get(at) == Some(&b'1') && matches!(b.get(at + 1), Some(b'3'..=b'9'))
}

/// Moves `start` back over a `+` written before a `86` country code.
fn with_plus(b: &[u8], start: usize) -> usize {
    match start.checked_sub(1) {
        Some(p) if b.get(p) == Some(&b'+') => p,
        _ => start,
    }
}

/// China mobile numbers ending at the newest group: 11 digits or 3-4-4
/// groups, optionally after a `86`/`+86`/`0086` prefix (glued or grouped).
fn china_mobile_candidates(b: &[u8], run: &Run, hits: &mut Vec<Hit>) {
    let Some(last) = run.get(0) else { return };
    let core_groups = if last.len() == 11 && mobile_start(b, last.start) {
        Some(1)
    } else {
        match (run.get(2), run.get(1)) {
            (Some(g3), Some(g4)) if g3.len() == 3 && g4.len() == 4 && last.len() == 4 => {
                mobile_start(b, g3.start).then_some(3)
            }
            _ => None,
        }
    };
    if let Some(n) = core_groups {
        if let Some(first) = run.get(n - 1) {
            push_if_clear(b, first.start, last.end, Detector::Phone, hits);
        }
        if let Some(prefix) = run.get(n) {
            match b.get(prefix.start..prefix.end) {
                Some(b"86") => {
                    let start = with_plus(b, prefix.start);
                    push_if_clear(b, start, last.end, Detector::Phone, hits);
                }
                Some(b"0086") => push_if_clear(b, prefix.start, last.end, Detector::Phone, hits),
                _ => {}
            }
        }
    }
    let glued = match (last.len(), b.get(last.start..last.start + 4)) {
        (13, Some([b'8', b'6', ..])) => Some(with_plus(b, last.start)),
        (15, Some(b"0086")) => Some(last.start),
        _ => None,
    };
    if let Some(start) = glued {
        if mobile_start(b, last.start + last.len() - 11) {
            push_if_clear(b, start, last.end, Detector::Phone, hits);
        }
    }
}

/// E.164 numbers: `+`, then 8–15 digits in groups that may be separated by
/// one space, dash or dot and wrapped in parentheses (`+1 (415) 555-2671`).
fn scan_e164(b: &[u8], hits: &mut Vec<Hit>) {
    for (plus, _) in b.iter().enumerate().filter(|(_, &c)| c == b'+') {
        let after_plus = plus > 0 && b.get(plus - 1) == Some(&b'+');
        if after_plus || !clear_before(b, plus) {
            continue;
        }
        if let Some(end) = e164_end(b, plus) {
            hits.push(Hit::new(plus, end, Detector::Phone));
        }
    }
}

/// The end of the longest group-aligned E.164 number starting at `plus`.
fn e164_end(b: &[u8], plus: usize) -> Option<usize> {
    let mut i = plus + 1;
    let mut digits = 0;
    let mut best = None;
    loop {
        let mut j = i;
        if digits > 0 && matches!(b.get(j), Some(b' ' | b'-' | b'.')) {
            j += 1;
        }
        let open = b.get(j) == Some(&b'(');
        if open {
            j += 1;
        }
        let first = j;
        while digit_at(b, j) {
            j += 1;
        }
        if j == first {
            break;
        }
        if digits == 0 && b.get(first) == Some(&b'0') {
            return None; // country codes never start with 0
        }
        if open {
            if b.get(j) != Some(&b')') {
                break;
            }
            j += 1;
        }
        digits += j - first - usize::from(open);
        if digits > 15 {
            break;
        }
        if digits >= 8 && clear_after(b, j) {
            best = Some(j);
        }
        i = j;
    }
    best
}

// -------------------------------------------------------------------- cards

const MIN_CARD_DIGITS: usize = 13;
const MAX_CARD_DIGITS: usize = 19;

/// Cards ending at the newest group: one group of 13–19 digits, or several
/// groups of 3–6 digits joined by one kind of separator, 13–19 digits in all.
///
/// Numbers starting with 0 or 1 are skipped: no payment card network uses
/// them, and epoch timestamps in milli/microseconds do.
fn card_candidates(b: &[u8], run: &Run, hits: &mut Vec<Hit>) {
    let Some(last) = run.get(0) else { return };
    let group_ok = |g: &Group| (3..=6).contains(&g.len());
    let mut digits = 0;
    for back in 0..WINDOW {
        let Some(first) = run.get(back) else { break };
        digits += first.len();
        if digits > MAX_CARD_DIGITS {
            break;
        }
        if back > 0 {
            let joined_alike = run.get(back - 1).is_some_and(|next| next.joiner == last.joiner);
            if !group_ok(&first) || !group_ok(&last) || !joined_alike {
                break;
            }
        }
        if digits >= MIN_CARD_DIGITS
            && matches!(b.get(first.start), Some(b'2'..=b'9'))
            && b.get(first.start..last.end).is_some_and(luhn_valid)
        {
            push_if_clear(b, first.start, last.end, Detector::Card, hits);
        }
    }
}

/// Luhn check over the ASCII digits of `span` (separators are skipped).
pub(crate) fn luhn_valid(span: &[u8]) -> bool {
    let mut sum = 0;
    let mut double = false;
    for &c in span.iter().rev().filter(|c| c.is_ascii_digit()) {
        let mut d = u32::from(c - b'0');
        if double {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
        double = !double;
    }
    sum % 10 == 0
}

// ----------------------------------------------------------------------- IP

/// IPv4 dotted quads: exactly four groups of 1–3 digits, each at most 255,
/// in a maximal run of dot-joined digit groups (so `1.2.3.4.5` is not one).
fn scan_ipv4(b: &[u8], hits: &mut Vec<Hit>) {
    let mut from = 0;
    while let Some(start) = next_digit(b, from) {
        let mut i = start;
        let mut groups = 0;
        let mut octets_ok = true;
        loop {
            let group_start = i;
            let mut value = 0u32;
            while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
                if value <= 255 {
                    value = value * 10 + u32::from(c - b'0');
                }
                i += 1;
            }
            octets_ok &= i - group_start <= 3 && value <= 255;
            groups += 1;
            if b.get(i) == Some(&b'.') && digit_at(b, i + 1) {
                i += 1;
            } else {
                break;
            }
        }
        if octets_ok && groups == 4 {
            push_if_clear(b, start, i, Detector::Ip, hits);
        }
        from = i;
    }
}

/// Bytes of an IPv6 "word": the address alphabet plus the ASCII letters,
/// `_` and `.` that may touch it, so an address is only found whole.
fn is_v6_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b':' | b'.')
}

/// Longest textual IPv6 address: 8 groups with an embedded IPv4 tail.
const MAX_IPV6_TEXT: usize = 45;

/// IPv6 addresses, validated by std's parser, in words with two or more
/// colons. Requiring a digit keeps out bare `::` and words like `add::bed`;
/// clock times such as `12:30:45` do not parse.
///
/// Only words around a colon are looked at; each byte is visited at most
/// twice because the search resumes after the word just examined.
fn scan_ipv6(b: &[u8], hits: &mut Vec<Hit>) {
    let mut from = 0;
    while let Some(colon) = next_byte(b, from, b':') {
        let mut word_start = colon;
        while word_start > from && b.get(word_start - 1).copied().is_some_and(is_v6_word) {
            word_start -= 1;
        }
        let mut word_end = colon;
        let mut colons = 0;
        while let Some(&c) = b.get(word_end).filter(|&&c| is_v6_word(c)) {
            colons += usize::from(c == b':');
            word_end += 1;
        }
        if colons >= 2 {
            if let Some((start, end)) = ipv6_in_word(b, word_start, word_end) {
                hits.push(Hit::new(start, end, Detector::Ip));
            }
        }
        from = word_end;
    }
}

/// The address ending a word: the whole word, or the part after a
/// `label:` prefix (`src:2001:db8::1`), minus sentence punctuation after it.
fn ipv6_in_word(b: &[u8], word_start: usize, word_end: usize) -> Option<(usize, usize)> {
    let mut end = word_end;
    while end > word_start && b.get(end - 1) == Some(&b'.') {
        end -= 1;
    }
    if end >= word_start + 2 && b.get(end - 1) == Some(&b':') && b.get(end - 2) != Some(&b':') {
        end -= 1;
    }
    let lowest = end.saturating_sub(MAX_IPV6_TEXT).max(word_start);
    (lowest..end)
        .filter(|&s| s == word_start || starts_after_label(b, word_start, s))
        .find(|&s| b.get(s..end).is_some_and(is_ipv6))
        .map(|s| (s, end))
}

/// `start` follows a single `:` whose preceding segment is not itself a
/// hex group of an address (so `10:20:…` is never cut in the middle).
fn starts_after_label(b: &[u8], word_start: usize, start: usize) -> bool {
    let Some(colon) = start.checked_sub(1) else {
        return false;
    };
    if b.get(colon) != Some(&b':') || b.get(start) == Some(&b':') {
        return false;
    }
    if colon == word_start {
        return true;
    }
    if b.get(colon - 1) == Some(&b':') {
        return false;
    }
    let mut k = colon;
    while k > word_start && b.get(k - 1) != Some(&b':') {
        k -= 1;
        if colon - k > 4 || !b.get(k).is_some_and(u8::is_ascii_hexdigit) {
            return true;
        }
    }
    false
}

fn is_ipv6(candidate: &[u8]) -> bool {
    candidate.iter().filter(|&&c| c == b':').count() >= 2
        && candidate.iter().any(u8::is_ascii_digit)
        && std::str::from_utf8(candidate).ok().and_then(|s| s.parse::<Ipv6Addr>().ok()).is_some()
}

// -------------------------------------------------------------------- email

fn is_local_part(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_domain(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-')
}

/// Email addresses, grown outwards from each `@`: an ASCII local part, and a
/// domain of two or more valid labels ending in an alphabetic TLD.
fn scan_emails(b: &[u8], hits: &mut Vec<Hit>) {
    for (at, _) in b.iter().enumerate().filter(|(_, &c)| c == b'@') {
        let mut start = at;
        while start > 0 && b.get(start - 1).copied().is_some_and(is_local_part) {
            start -= 1;
        }
        while start < at && b.get(start) == Some(&b'.') {
            start += 1;
        }
        let mut end = at + 1;
        while b.get(end).copied().is_some_and(is_domain) {
            end += 1;
        }
        while end > at + 1 && matches!(b.get(end - 1), Some(b'.' | b'-')) {
            end -= 1;
        }
        if start < at && b.get(at + 1..end).is_some_and(valid_domain) {
            hits.push(Hit::new(start, end, Detector::Email));
        }
    }
}

fn valid_domain(domain: &[u8]) -> bool {
    if domain.len() > 253 {
        return false;
    }
    let mut labels = 0;
    let mut tld: &[u8] = &[];
    for label in domain.split(|&c| c == b'.') {
        let edges_ok =
            matches!((label.first(), label.last()), (Some(f), Some(l)) if *f != b'-' && *l != b'-');
        if !edges_ok || label.len() > 63 {
            return false;
        }
        labels += 1;
        tld = label;
    }
    labels >= 2 && tld.len() >= 2 && tld.iter().all(u8::is_ascii_alphabetic)
}

// -------------------------------------------------------------- credentials

fn is_scheme(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')
}

/// RFC 3986 authority bytes: userinfo, `@`, host (incl. `[v6]`) and port.
fn is_authority(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=:@[]".contains(&c)
}

/// The userinfo of `scheme://userinfo@host` URLs, up to the last `@` of the
/// authority (as browsers parse it), so a password containing `@` is covered.
fn scan_credentials(b: &[u8], hits: &mut Vec<Hit>) {
    let mut from = 0;
    while let Some(sep) = next_byte(b, from, b':') {
        from = sep + 1;
        if b.get(sep..sep + 3) != Some(b"://") {
            continue;
        }
        let mut scheme = sep;
        while scheme > 0 && b.get(scheme - 1).copied().is_some_and(is_scheme) {
            scheme -= 1;
        }
        while scheme < sep && !b.get(scheme).is_some_and(u8::is_ascii_alphabetic) {
            scheme += 1;
        }
        if scheme == sep {
            continue;
        }
        let user = sep + 3;
        let mut end = user;
        let mut last_at = None;
        while let Some(&c) = b.get(end).filter(|&&c| is_authority(c)) {
            if c == b'@' {
                last_at = Some(end);
            }
            end += 1;
        }
        if let Some(at) = last_at {
            if at > user && at + 1 < end {
                hits.push(Hit::new(user, at, Detector::Credentials));
            }
        }
        from = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::de::IntoDeserializer;
    use serde::Deserialize;

    fn redact_with(detectors: &[Detector], text: &str) -> (String, usize) {
        let mut out = String::new();
        let hits = Redactor::new(detectors).redact(text, &mut out);
        (out, hits)
    }

    fn all(text: &str) -> String {
        redact_with(&Detector::ALL, text).0
    }

    fn only(detector: Detector, text: &str) -> String {
        redact_with(&[detector], text).0
    }

    /// Completes 17 digits into a China ID with the right check character.
    fn cn_id(body17: &str) -> String {
        assert_eq!(body17.len(), 17);
        format!("{body17}{}", cn_id_check_char(body17.as_bytes()) as char)
    }

    /// Appends the Luhn check digit to `payload`.
    fn luhn_complete(payload: &str) -> String {
        (0..10).map(|d| format!("{payload}{d}")).find(|s| luhn_valid(s.as_bytes())).unwrap()
    }

    fn luhn_break(valid: &str) -> String {
        let mut s = valid.to_string();
        let last = s.pop().unwrap();
        s.push(if last == '9' { '0' } else { (last as u8 + 1) as char });
        assert!(!luhn_valid(s.as_bytes()));
        s
    }

    // ------------------------------------------------------------- API

    #[test]
    fn names_labels_and_serde_agree() {
        for d in Detector::ALL {
            let parsed: Result<Detector, serde::de::value::Error> =
                Detector::deserialize(d.name().into_deserializer());
            assert_eq!(parsed.unwrap(), d);
            assert!(d.label().starts_with('[') && d.label().ends_with(']'));
        }
        assert_eq!(Detector::CnId.name(), "cn_id");
        assert_eq!(Detector::CnId.label(), "[CN_ID]");
        assert_eq!(Detector::Credentials.label(), "[CREDENTIALS]");
        let bad: Result<Detector, serde::de::value::Error> =
            Detector::deserialize("CnId".into_deserializer());
        assert!(bad.is_err());
    }

    #[test]
    fn redactor_is_send_sync_and_remembers_detectors() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Redactor>();
        let r = Redactor::new(&[Detector::Email, Detector::Ip]);
        assert!(r.is_enabled(Detector::Email) && r.is_enabled(Detector::Ip));
        assert!(!r.is_enabled(Detector::Card));
    }

    #[test]
    fn output_is_appended_not_replaced() {
        let mut out = String::from("prefix|");
        let n = Redactor::new(&Detector::ALL).redact("call 13800138000", &mut out);
        assert_eq!((out.as_str(), n), ("prefix|call [PHONE]", 1));
        let n = Redactor::new(&Detector::ALL).redact(" no pii", &mut out);
        assert_eq!((out.as_str(), n), ("prefix|call [PHONE] no pii", 0));
    }

    #[test]
    fn empty_detector_set_copies_text() {
        let text = "mail a@b.com card 4111 1111 1111 1111 ip 10.0.0.1";
        assert_eq!(redact_with(&[], text), (text.to_string(), 0));
    }

    #[test]
    fn text_without_triggers_is_copied() {
        for text in ["", "hello world", "你好，请问有什么可以帮您？", "a-b (c) [d] +"]
        {
            assert_eq!(redact_with(&Detector::ALL, text), (text.to_string(), 0));
        }
    }

    #[test]
    fn disabled_detectors_are_not_applied() {
        let text = "a@b.com 13800138000 4111111111111111 10.0.0.1 11010519491231002X";
        assert_eq!(
            only(Detector::Email, text),
            "[EMAIL] 13800138000 4111111111111111 10.0.0.1 11010519491231002X"
        );
        assert_eq!(
            only(Detector::Card, text),
            "a@b.com 13800138000 [CARD] 10.0.0.1 11010519491231002X"
        );
        assert_eq!(
            only(Detector::Ip, text),
            "a@b.com 13800138000 4111111111111111 [IP] 11010519491231002X"
        );
        assert_eq!(
            redact_with(&[Detector::Phone, Detector::CnId], text).0,
            "a@b.com [PHONE] 4111111111111111 10.0.0.1 [CN_ID]"
        );
    }

    #[test]
    fn multiple_hits_in_one_text() {
        let text = "客户张三，电话13800138000，邮箱zhang.san@example.cn，\
                    身份证11010519491231002X，卡号6222 0212 3456 7890 128? \
                    登录IP 203.0.113.7 和 2001:db8::7，回调 https://bot:s3cret@api.example.com/x";
        let card = luhn_complete("622202123456789012");
        let text = text.replace("6222 0212 3456 7890 128", &card);
        let (out, n) = redact_with(&Detector::ALL, &text);
        assert_eq!(
            out,
            "客户张三，电话[PHONE]，邮箱[EMAIL]，身份证[CN_ID]，卡号[CARD]? \
             登录IP [IP] 和 [IP]，回调 https://[CREDENTIALS]@api.example.com/x"
        );
        assert_eq!(n, 7);
    }

    // ----------------------------------------------------------- email

    #[test]
    fn email_positives() {
        assert_eq!(
            only(Detector::Email, "contact john.doe+tag@example.co.uk today"),
            "contact [EMAIL] today"
        );
        assert_eq!(only(Detector::Email, "邮箱abc_1@qq.com谢谢"), "邮箱[EMAIL]谢谢");
        assert_eq!(only(Detector::Email, "<a@b-c.io>, x@y.org."), "<[EMAIL]>, [EMAIL].");
        assert_eq!(only(Detector::Email, "mailto:joe@mail.example.com"), "mailto:[EMAIL]");
        assert_eq!(only(Detector::Email, "...joe@x.com"), "...[EMAIL]");
    }

    #[test]
    fn email_negatives() {
        for text in [
            "john@localhost",
            "a@b",
            "@example.com",
            "john@example..com",
            "john@-example.com",
            "john@example.c",
            "john@example.c0m",
            "john@10.0.0.1",
            "email me @ home: soon",
        ] {
            assert_eq!(only(Detector::Email, text), text, "{text}");
        }
    }

    // ----------------------------------------------------------- phone

    #[test]
    fn phone_notations() {
        for text in [
            "+86 138 0013 8000",
            "13800138000",
            "+1 (415) 555-2671",
            "+44 20 7946 0958",
            "+44 (0)20 7946 0958",
            "+8613800138000",
            "8613800138000",
            "008613800138000",
            "0086-138-0013-8000",
            "86 13800138000",
            "+86-13800138000",
            "138-0013-8000",
            "138 0013 8000",
            "+49.30.123456",
            "+12345678",
        ] {
            assert_eq!(redact_with(&[Detector::Phone], text), ("[PHONE]".into(), 1), "{text}");
            assert_eq!(all(text), "[PHONE]", "all detectors: {text}");
        }
    }

    #[test]
    fn phone_in_context() {
        assert_eq!(only(Detector::Phone, "电话13800138000谢谢"), "电话[PHONE]谢谢");
        assert_eq!(only(Detector::Phone, "tel: +1 415 555 2671 (mobile)"), "tel: [PHONE] (mobile)");
        assert_eq!(only(Detector::Phone, "13800138000 13900139000"), "[PHONE] [PHONE]");
        assert_eq!(only(Detector::Phone, "call 13800138000."), "call [PHONE].");
    }

    #[test]
    fn phone_negatives() {
        for text in [
            "12800138000",  // second digit 2 is not a mobile prefix
            "138001380001", // 12 digits
            "1380013800",   // 10 digits
            "order 1234567890123456",
            "a13800138000",
            "13800138000b",
            "13800138000.5",
            "+1234567",           // 7 digits
            "+12345678901234567", // 17 digits
            "+0123456789",        // no country code starts with 0
            "x+12345678",
            "1+12345678",
            "138 00138000", // neither 11 digits nor 3-4-4
        ] {
            assert_eq!(only(Detector::Phone, text), text, "{text}");
        }
    }

    #[test]
    fn phone_does_not_match_inside_ids_or_cards() {
        let id = "11010519491231002X";
        assert_eq!(only(Detector::Phone, id), id);
        let id_with_mobile = cn_id("11010513800138000");
        assert_eq!(only(Detector::Phone, &id_with_mobile), id_with_mobile);
        let card = luhn_complete("413800138000123");
        assert_eq!(only(Detector::Phone, &card), card);
        assert_eq!(all(&card), "[CARD]");
    }

    // ---------------------------------------------------------- China ID

    #[test]
    fn published_cn_id_example_is_valid() {
        assert!(valid_cn_id(b"11010519491231002X"));
        assert!(valid_cn_id(b"11010519491231002x"));
        assert_eq!(cn_id("11010519491231002"), "11010519491231002X");
        assert_eq!(only(Detector::CnId, "身份证11010519491231002X。"), "身份证[CN_ID]。");
        assert_eq!(only(Detector::CnId, "id 11010519491231002x ok"), "id [CN_ID] ok");
    }

    #[test]
    fn computed_cn_ids_are_redacted() {
        for body in [
            "44030419900101001",
            "31010120000229123", // leap day
            "51010219001231456",
            "65010120991130789",
        ] {
            let id = cn_id(body);
            assert_eq!(redact_with(&[Detector::CnId], &id), ("[CN_ID]".into(), 1), "{id}");
            assert_eq!(all(&format!("号码:{id}")), "号码:[CN_ID]");
        }
    }

    #[test]
    fn cn_id_with_bad_checksum_is_kept() {
        assert!(!valid_cn_id(b"110105194912310021"));
        assert_eq!(only(Detector::CnId, "110105194912310021"), "110105194912310021");
        let good = cn_id("44030419900101001");
        let mut bad = good[..17].to_string();
        bad.push(if good.ends_with('0') { '1' } else { '0' });
        assert_eq!(only(Detector::CnId, &bad), bad);
    }

    #[test]
    fn cn_id_with_impossible_date_is_kept() {
        for body in [
            "44030419901301001", // month 13
            "44030419900230001", // 30 February
            "44030419000229001", // 1900 is not a leap year
            "44030418991231001", // before 1900
            "44030421000101001", // after 2099
            "44030419900100001", // day 0
        ] {
            let id = cn_id(body);
            assert!(!valid_cn_id(id.as_bytes()), "{id}");
            assert_eq!(only(Detector::CnId, &id), id);
        }
    }

    #[test]
    fn cn_id_inside_longer_runs_is_kept() {
        let id = cn_id("44030419900101001");
        for text in [format!("9{id}"), format!("{id}7"), format!("A{id}"), format!("{id}.5")] {
            assert_eq!(only(Detector::CnId, &text), text);
        }
    }

    #[test]
    fn cn_id_wins_over_card_and_card_takes_over_when_disabled() {
        // Find an ID that is also Luhn-valid, so both detectors fire.
        let id = (0..1000)
            .map(|n| cn_id(&format!("44030419900101{n:03}")))
            .find(|id| id.bytes().all(|c| c.is_ascii_digit()) && luhn_valid(id.as_bytes()))
            .unwrap();
        assert_eq!(redact_with(&Detector::ALL, &id), ("[CN_ID]".into(), 1));
        assert_eq!(redact_with(&[Detector::Card], &id), ("[CARD]".into(), 1));
    }

    // ------------------------------------------------------------ cards

    #[test]
    fn luhn_valid_cards_are_redacted() {
        let unionpay = luhn_complete("622202123456789012");
        for text in [
            "4111 1111 1111 1111",
            "4111111111111111",
            "4111-1111-1111-1111",
            "5500 0000 0000 0004",
            "378282246310005",
            "3782 822463 10005",
            unionpay.as_str(),
        ] {
            assert_eq!(redact_with(&[Detector::Card], text), ("[CARD]".into(), 1), "{text}");
            assert_eq!(all(text), "[CARD]", "all detectors: {text}");
        }
        assert_eq!(only(Detector::Card, "卡号4111111111111111。"), "卡号[CARD]。");
        assert_eq!(
            only(Detector::Card, "card 4111 1111 1111 1111 exp 12/27"),
            "card [CARD] exp 12/27"
        );
    }

    #[test]
    fn luhn_invalid_and_malformed_numbers_are_kept() {
        let order = "7000000000000001";
        assert!(!luhn_valid(order.as_bytes()));
        let unionpay_bad = luhn_break(&luhn_complete("622202123456789012"));
        let epoch_millis = luhn_complete("170000000000");
        for text in [
            "4111 1111 1111 1112",
            "4111111111111112",
            unionpay_bad.as_str(),
            "4111-1111 1111-1111",  // mixed separators
            "4111  1111 1111 1111", // double space
            "41111111111111110000", // 20 digits containing a valid card
            "x4111111111111111",
            "4111111111111111.50",
            "0000000000000000",    // leading 0
            epoch_millis.as_str(), // leading 1: epoch millis, even if Luhn-valid
            "41 11 11 11 11 11 11 11",
        ] {
            assert_eq!(only(Detector::Card, text), text, "{text}");
        }
        assert_eq!(all(&format!("订单号{order}已发货")), format!("订单号{order}已发货"));
    }

    #[test]
    fn card_next_to_other_numbers() {
        assert_eq!(only(Detector::Card, "4111 1111 1111 1111 2024"), "[CARD] 2024");
        assert_eq!(only(Detector::Card, "ref 12 4111111111111111 34"), "ref 12 [CARD] 34");
    }

    // --------------------------------------------------------------- IP

    #[test]
    fn ipv4_positives_and_negatives() {
        assert_eq!(only(Detector::Ip, "from 192.168.1.20:8080"), "from [IP]:8080");
        assert_eq!(only(Detector::Ip, "ip=255.255.255.255."), "ip=[IP].");
        assert_eq!(only(Detector::Ip, "登录IP10.0.0.1成功"), "登录IP10.0.0.1成功");
        assert_eq!(only(Detector::Ip, "登录10.0.0.1成功"), "登录[IP]成功");
        assert_eq!(only(Detector::Ip, "0.0.0.0"), "[IP]");
        for text in [
            "256.1.1.1",
            "1.2.3.4.5",
            "version 1.2.3.4.5 released",
            "v1.2.3.4",
            "1.2.3",
            "1.2.3.4a",
            "1.2.3.1000",
            "12.30.45",
        ] {
            assert_eq!(all(text), text, "{text}");
        }
    }

    #[test]
    fn ipv6_positives() {
        for (text, expected) in [
            ("2001:db8::1", "[IP]"),
            ("::1", "[IP]"),
            ("fe80::1%eth0", "[IP]%eth0"),
            ("[2001:db8::1]:443", "[[IP]]:443"),
            ("2001:0db8:85a3:0000:0000:8a2e:0370:7334", "[IP]"),
            ("::ffff:192.168.1.1", "[IP]"),
            ("客户端2001:db8::5连接", "客户端[IP]连接"),
            ("at 2001:db8::1: timeout", "at [IP]: timeout"),
        ] {
            assert_eq!(redact_with(&[Detector::Ip], text), (expected.into(), 1), "{text}");
        }
        assert_eq!(
            redact_with(&[Detector::Ip], "src:2001:db8::1 dst:fe80::2."),
            ("src:[IP] dst:[IP].".into(), 2)
        );
    }

    #[test]
    fn ipv6_negatives() {
        for text in [
            "12:30:45",
            "at 12:30:45.123 today",
            "::",
            "std::net::Ipv6Addr",
            "cafe::beef",
            "10:20:30:40:50:60:70:80:90",
            "2001:db8::1::2",
            "00:1a:2b:3c:4d:5e",
        ] {
            assert_eq!(all(text), text, "{text}");
        }
    }

    // ------------------------------------------------------ credentials

    #[test]
    fn url_credentials_are_redacted_keeping_scheme_and_host() {
        for (text, expected) in [
            ("https://user:pa55@example.com/path", "https://[CREDENTIALS]@example.com/path"),
            ("ssh://git@github.com/org/repo", "ssh://[CREDENTIALS]@github.com/org/repo"),
            ("https://u:p@ss@host.io", "https://[CREDENTIALS]@host.io"),
            ("链接redis://:hunter2@cache:6379", "链接redis://[CREDENTIALS]@cache:6379"),
            ("postgres+ssl://a:b@[::1]:5432/db", "postgres+ssl://[CREDENTIALS]@[::1]:5432/db"),
        ] {
            assert_eq!(only(Detector::Credentials, text), expected, "{text}");
        }
    }

    #[test]
    fn credentials_leave_plain_emails_and_bare_urls_alone() {
        for text in [
            "john@example.com",
            "mailto:john@example.com",
            "https://example.com/?mail=john@x.com",
            "https://example.com john@x.com",
            "https://@host",
            "://user@host",
            "https://user@",
        ] {
            assert_eq!(only(Detector::Credentials, text), text, "{text}");
        }
        assert_eq!(
            all("https://example.com/?mail=john@x.com"),
            "https://example.com/?mail=[EMAIL]"
        );
    }

    // ------------------------------------------------------- precedence

    #[test]
    fn overlaps_resolve_by_precedence() {
        assert_eq!(all("https://john@example.com"), "https://[CREDENTIALS]@example.com");
        assert_eq!(
            all("https://u:pw@mail.example.com/"),
            "https://[CREDENTIALS]@mail.example.com/"
        );
        assert_eq!(all("http://u:p@10.0.0.1:8080/"), "http://[CREDENTIALS]@[IP]:8080/");
        assert_eq!(redact_with(&Detector::ALL, "13800138000@qq.com"), ("[EMAIL]".into(), 1));
        assert_eq!(redact_with(&Detector::ALL, "+86 138 0013 8000"), ("[PHONE]".into(), 1));
    }

    #[test]
    fn scratch_is_reused_and_trimmed() {
        let r = Redactor::new(&Detector::ALL);
        let big = "10.0.0.1 ".repeat(10_000);
        let mut out = String::new();
        assert_eq!(r.redact(&big, &mut out), 10_000);
        assert_eq!(out, "[IP] ".repeat(10_000));
        SCRATCH.with(|s| assert!(s.borrow().hits.capacity() <= RETAINED_CAPACITY));
        out.clear();
        assert_eq!(r.redact("x 10.0.0.2 y", &mut out), 1);
        assert_eq!(out, "x [IP] y");
    }

    #[test]
    fn long_overlapping_card_chains_stay_linear_and_disjoint() {
        // Every window of four groups is a 16-digit card candidate.
        let text = "4242 ".repeat(20_000);
        assert!(luhn_valid(b"4242424242424242"));
        let (out, n) = redact_with(&[Detector::Card, Detector::Phone], &text);
        assert!(n > 0);
        assert!(!out.contains("4242 4242 4242 4242"));
    }

    // -------------------------------------------------------- properties

    fn arb_card() -> impl Strategy<Value = String> {
        (
            prop::sample::select(vec!['2', '3', '4', '5', '6', '9']),
            prop::collection::vec(0u8..10, 11..=17),
            prop::sample::select(vec!["", " ", "-"]),
        )
            .prop_map(|(first, rest, sep)| {
                let payload: String =
                    std::iter::once(first).chain(rest.iter().map(|d| (b'0' + d) as char)).collect();
                let card = luhn_complete(&payload);
                if sep.is_empty() || card.len() != 16 {
                    card
                } else {
                    card.as_bytes()
                        .chunks(4)
                        .map(|c| std::str::from_utf8(c).unwrap())
                        .collect::<Vec<_>>()
                        .join(sep)
                }
            })
    }

    fn arb_cn_id() -> impl Strategy<Value = String> {
        (100_000u32..900_000, 1900u32..2100, 1u32..13, 1u32..29, 0u32..1000).prop_map(
            |(region, year, month, day, seq)| {
                cn_id(&format!("{region}{year}{month:02}{day:02}{seq:03}"))
            },
        )
    }

    fn arb_text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9 .,:;@+()/\\-\u{4e00}-\u{4e20}]{0,40}"
    }

    proptest! {
        #[test]
        fn inserted_cards_and_ids_never_survive(
            text in arb_text(),
            card in arb_card(),
            id in arb_cn_id(),
            at1 in any::<prop::sample::Index>(),
            at2 in any::<prop::sample::Index>(),
        ) {
            let mut chars: Vec<char> = text.chars().collect();
            let i = at1.index(chars.len() + 1);
            chars.splice(i..i, format!(" {card} ").chars());
            let j = at2.index(chars.len() + 1);
            chars.splice(j..j, format!(" {id} ").chars());
            let input: String = chars.into_iter().collect();
            let (out, n) = redact_with(&Detector::ALL, &input);
            prop_assert!(n >= 1);
            prop_assert!(!out.contains(&card), "card survived: {input:?} -> {out:?}");
            prop_assert!(!out.contains(&id), "id survived: {input:?} -> {out:?}");
        }

        #[test]
        fn arbitrary_text_never_panics_and_hits_match_changes(text in "\\PC{0,80}") {
            let (out, n) = redact_with(&Detector::ALL, &text);
            prop_assert_eq!(n == 0, out == text);
            let (plain, none) = redact_with(&[], &text);
            prop_assert_eq!((plain, none), (text.clone(), 0));
        }

        #[test]
        fn redacting_twice_changes_nothing(text in prop_oneof![arb_text(), "[0-9a-f:. @/+x-]{0,60}"]) {
            let once = all(&text);
            prop_assert_eq!(all(&once), once);
        }
    }
}
