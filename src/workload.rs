//! The reference access-log workload: a deterministic, seeded generator of raw
//! access-log records, one compact JSON object per line, 450–650 bytes, with
//! the 17 fields, order and distributions of `shared/workload.md`.
//!
//! Benchmarks, the demo and tests feed on this stream so that throughput
//! figures stay comparable from one change to the next without any file from
//! outside the repository. Everything derives from one `u64` seed through an
//! inline SplitMix64 + xoshiro256** generator, and the only floating-point
//! operations are IEEE basic arithmetic and `sqrt` (`ln`/`exp` are computed
//! here, not by the platform's libm), so a seed yields a byte-identical stream
//! on every platform, toolchain and dependency version.
//!
//! Shape of the traffic: records come from interleaved sessions (~5 records
//! each). A session belongs to one user drawn from a Zipf–Mandelbrot law over
//! 80 000 users (~50k distinct per million records) and keeps its client IP,
//! device and carrier. A device — and with it the user agent, model, OS and
//! app version, kept mutually consistent — is derived from the user, so a user
//! has about one device.
//!
//! Line length: every line is 450–650 bytes. A session whose own fields are
//! long (in-app browsers' user agents) cuts its `accept_language` to the
//! primary tag and, if still long, gives its IPv6 address a low interface id.
//! A line still too long loses, in turn, its query parameters, its referrer
//! and, as a last resort, its path (`/`); a short one (scripted clients and
//! bots send few headers) gains `token`/`email`/`q` parameters, then a
//! referrer. A test checks the extreme cases. Per million records, ~15k
//! lose their query string, ~9k their referrer, ~250 their path; ~13k come
//! from sessions with a cut `accept_language`.

/// Shortest line the generator emits, in bytes (without the newline).
pub const MIN_LINE_BYTES: usize = 450;
/// Longest line the generator emits, in bytes (without the newline).
pub const MAX_LINE_BYTES: usize = 650;

/// Budget for a session's part of a line (see `Session::part_len`): the
/// rest of a line is at most 122 bytes once its query and referrer are
/// dropped (a test checks), so lines of sessions within it always fit.
const MAX_SESSION_PART: usize = MAX_LINE_BYTES - 122;
/// `{"ts":"` and the 24-byte timestamp.
const SESSION_OVERHEAD: usize = 7 + 24;
/// 2024-05-14T08:00:00.000Z in Unix milliseconds: the first record's `ts`.
const START_MS: u64 = 1_715_673_600_000;
/// Users that can appear; the Zipf law makes ~50k of them show up per 1M records.
const USER_POPULATION: f64 = 80_000.0;
const ZIPF_EXPONENT: f64 = 0.9;
const ZIPF_OFFSET: f64 = 20.0;
/// Sessions open at once; each record belongs to one of them, drawn at random.
const ACTIVE_SESSIONS: usize = 48;
/// Session length is `1 + Geometric(p)`: mean `1/p` = 5 records.
const SESSION_END_P: f64 = 0.2;
const MAX_SESSION_RECORDS: u32 = 60;
const IPV4_SHARE: f64 = 0.8;
const SECOND_DEVICE_SHARE: f64 = 0.06;
/// Share of mobile sessions on wifi rather than a carrier.
const WIFI_SHARE: f64 = 0.45;
/// Share of paths drawn with a query string; fitting long lines takes ~1.5
/// points off it and fitting short ones adds ~0.5, for ~30% in the output.
const QUERY_SHARE: f64 = 0.31;
const MAX_BYTES: f64 = 9_999_999.0;
const MAX_DURATION_MS: f64 = 59_999.99;
const OWN_ORIGIN: &str = "https://shop.example.com";
/// Placeholder in templates for a numeric id.
const ID_MARK: u8 = b'#';
/// Placeholder in templates for search words (`running+shoes`).
const WORDS_MARK: u8 = b'*';

// Tags that separate the keyed hashes of per-user and per-device attributes.
const TAG_USER: u64 = 1;
const TAG_DEVICE_HI: u64 = 2;
const TAG_DEVICE_LO: u64 = 3;
const TAG_AGENT: u64 = 4;
const TAG_MODEL: u64 = 5;
const TAG_OS: u64 = 6;
const TAG_APP: u64 = 7;
const TAG_LANG: u64 = 8;
const TAG_CARRIER: u64 = 9;

/// Generator of reference access-log records. Same seed => byte-identical stream.
///
/// Timestamps start at 2024-05-14T08:00:00.000Z and increase strictly, 1–6 ms
/// apart.
pub struct AccessLogGenerator {
    seed: u64,
    rng: Rng,
    zipf: Zipf,
    ts_ms: u64,
    started: bool,
    sessions: Vec<Session>,
}

impl AccessLogGenerator {
    /// A generator whose whole output is determined by `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            rng: Rng::new(seed),
            zipf: Zipf::new(USER_POPULATION, ZIPF_EXPONENT, ZIPF_OFFSET),
            ts_ms: START_MS,
            started: false,
            sessions: vec![Session::EMPTY; ACTIVE_SESSIONS],
        }
    }

    /// Appends one compact JSON record (no trailing newline) to `out`.
    ///
    /// The record is 450–650 bytes of ASCII; bytes already in `out` are kept.
    pub fn write_record(&mut self, out: &mut Vec<u8>) {
        if self.started {
            self.ts_ms += 1 + self.rng.below(6);
        }
        self.started = true;
        let slot = self.rng.below(ACTIVE_SESSIONS as u64) as usize;
        if self.sessions[slot].remaining == 0 {
            self.start_session(slot);
        }
        let session = &mut self.sessions[slot];
        session.remaining -= 1;
        let mut rec = draw_record(&mut self.rng, self.ts_ms, session.class);
        fit(session, &mut rec, &mut self.rng, out);
    }

    /// Convenience: `n` records as lines (each ending in '\n').
    pub fn lines(&mut self, n: usize) -> Vec<u8> {
        // Lines average ~587 bytes: 600 a line avoids regrowing without
        // reserving the worst case.
        let mut out = Vec::with_capacity(n.saturating_mul(600));
        for _ in 0..n {
            self.write_record(&mut out);
            out.push(b'\n');
        }
        out
    }

    /// Replaces the session in `slot` by a new one.
    fn start_session(&mut self, slot: usize) {
        let rank = self.zipf.rank(self.rng.unit());
        let device_no = u64::from(self.rng.chance(SECOND_DEVICE_SHARE));
        let device_key = (rank << 1) | device_no;
        let seed = self.seed;
        let keyed = |tag, key| derive(seed, tag, key);

        let agent = AGENTS.pick(keyed(TAG_AGENT, device_key));
        let class = agent.class;
        let device_model = match agent.model {
            Some(model) => model,
            None => class.models().pick(keyed(TAG_MODEL, device_key)),
        };
        let os_version = match agent.os {
            Some(os) => os,
            None => class.os_versions().pick(keyed(TAG_OS, device_key)),
        };
        let app_version = match class {
            Class::Bot => "-",
            _ => APP_VERSIONS.pick(keyed(TAG_APP, device_key)),
        };
        let accept_language = agent.accept_language(LOCALES.pick(keyed(TAG_LANG, rank)));
        let carrier = if !class.is_mobile() {
            "-"
        } else if self.rng.chance(WIFI_SHARE) {
            "wifi"
        } else {
            CARRIERS.pick(keyed(TAG_CARRIER, rank))
        };

        let mut device = [0u8; 16];
        device[..8].copy_from_slice(&keyed(TAG_DEVICE_HI, device_key).to_be_bytes());
        device[8..].copy_from_slice(&keyed(TAG_DEVICE_LO, device_key).to_be_bytes());
        device[6] = (device[6] & 0x0f) | 0x40; // UUID version 4
        device[8] = (device[8] & 0x3f) | 0x80; // RFC 4122 variant

        let ip = if self.rng.chance(IPV4_SHARE) {
            Ip::V4(self.rng.ipv4())
        } else {
            Ip::V6(self.rng.ipv6())
        };
        let id = (u128::from(self.rng.next_u64()) << 64) | u128::from(self.rng.next_u64());
        let length = 1.0 + (ln(1.0 - self.rng.unit()) / ln(1.0 - SESSION_END_P)).floor();
        let identity = Identity {
            ip,
            user_no: 1_000_000_000 + keyed(TAG_USER, rank) % 9_000_000_000,
            id,
            device,
        };
        let profile = Profile {
            user_agent: agent.ua,
            accept_language,
            device_model,
            os_version,
            carrier,
            app_version,
        };
        let remaining = (length as u32).clamp(1, MAX_SESSION_RECORDS);
        self.sessions[slot].fill_within_budget(remaining, class, identity, profile);
    }
}

/// Draws the per-record choices of a record of a session of `class`.
fn draw_record(rng: &mut Rng, ts_ms: u64, class: Class) -> Rec {
    let method = match class {
        Class::Bot if rng.chance(0.1) => "HEAD",
        Class::Bot => "GET",
        _ => METHODS.pick(rng.next_u64()),
    };
    let template = PATH_TEMPLATES.pick(rng.next_u64());
    let ids = [rng.numeric_id(), rng.numeric_id()];
    let mut params = [Param::EMPTY; 3];
    let mut n_params = 0;
    if rng.chance(QUERY_SHARE) {
        let wanted = PARAM_COUNTS.pick(rng.next_u64());
        for _ in 0..wanted * 4 {
            let kind = PARAM_KINDS.pick(rng.next_u64());
            if n_params < wanted && !params[..n_params].iter().any(|p| p.kind == kind) {
                params[n_params] = Param::new(kind, rng.next_u64(), rng.next_u64());
                n_params += 1;
            }
        }
    }
    let status = match STATUSES.pick(rng.next_u64()) {
        304 if method != "GET" && method != "HEAD" => 200,
        201 if method != "POST" && method != "PUT" => 200,
        status => status,
    };
    let bytes = if method == "HEAD" || status == 204 || status == 304 {
        0
    } else if (300..400).contains(&status) {
        150 + rng.below(270)
    } else if status >= 400 {
        rng.log_normal(180.0, 0.5).clamp(40.0, 4_000.0) as u64
    } else {
        rng.log_normal(1_400.0, 1.2).clamp(60.0, MAX_BYTES) as u64
    };
    let slow = if status >= 500 { 4.0 } else { 1.0 };
    let duration = (rng.log_normal(38.0, 0.95) * slow).clamp(0.05, MAX_DURATION_MS);
    let referrer = match class {
        Class::Bot | Class::Library => Referrer::None,
        _ => match REFERRER_KINDS.pick(rng.next_u64()) {
            RefKind::Search => Referrer::Fixed(SEARCH_ENGINES.pick(rng.next_u64())),
            RefKind::Social => Referrer::Fixed(SOCIAL.pick(rng.next_u64())),
            RefKind::OwnSite => Referrer::OwnSite {
                page: OWN_PAGES.pick(rng.next_u64()),
                id: rng.numeric_id(),
                words: rng.next_u64(),
            },
            RefKind::None => Referrer::None,
        },
    };
    Rec {
        ts_ms,
        method,
        template,
        ids,
        params,
        n_params,
        status,
        bytes,
        duration_centis: (duration * 100.0).round() as u64,
        referrer,
    }
}

/// `n` records, each its own `Vec<u8>` (for benchmarks).
///
/// The records are those of `AccessLogGenerator::new(seed)`, in order.
pub fn generate(seed: u64, n: usize) -> Vec<Vec<u8>> {
    let mut generator = AccessLogGenerator::new(seed);
    (0..n)
        .map(|_| {
            let mut record = Vec::with_capacity(MAX_LINE_BYTES);
            generator.write_record(&mut record);
            record
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Records and their rendering

/// A session: what stays fixed for its records, with the JSON of those
/// fields rendered once.
#[derive(Clone)]
struct Session {
    remaining: u32,
    class: Class,
    profile: Profile,
    /// From the end of the `ts` value to the start of the `method` value.
    head: Vec<u8>,
    /// From the end of the `referrer` value to the end of the record.
    tail: Vec<u8>,
}

impl Session {
    const EMPTY: Session = Session {
        remaining: 0,
        class: Class::Library,
        profile: Profile {
            user_agent: "-",
            accept_language: "-",
            device_model: "-",
            os_version: "-",
            carrier: "-",
            app_version: "-",
        },
        head: Vec::new(),
        tail: Vec::new(),
    };

    /// Bytes of a line that come from the session: `{"ts":"`, the timestamp,
    /// [`Self::head`] and [`Self::tail`].
    fn part_len(&self) -> usize {
        SESSION_OVERHEAD + self.head.len() + self.tail.len()
    }

    /// [`Self::fill`]; then, if the session's part of a line exceeds
    /// [`MAX_SESSION_PART`], cuts `accept_language` to its primary tag and,
    /// if still over, gives an IPv6 address a low interface id (`…::1a`).
    fn fill_within_budget(
        &mut self,
        remaining: u32,
        class: Class,
        mut identity: Identity,
        mut profile: Profile,
    ) {
        self.fill(remaining, class, &identity, profile);
        if self.part_len() > MAX_SESSION_PART {
            profile.accept_language = up_to_comma(profile.accept_language, 1);
            self.fill(remaining, class, &identity, profile);
        }
        if let (true, Ip::V6(groups)) = (self.part_len() > MAX_SESSION_PART, &mut identity.ip) {
            groups[7] = (groups[7] & 0xff).max(1);
            groups[4..7].fill(0);
            self.fill(remaining, class, &identity, profile);
        }
    }

    /// Makes this the session of `identity` and `profile`, reusing its buffers.
    fn fill(&mut self, remaining: u32, class: Class, identity: &Identity, profile: Profile) {
        self.remaining = remaining;
        self.class = class;
        self.profile = profile;
        self.head.clear();
        identity.push(&mut self.head);
        self.tail.clear();
        profile.push(&mut self.tail);
    }
}

/// Who and where: the fields between `ts` and `method`.
struct Identity {
    ip: Ip,
    user_no: u64,
    id: u128,
    device: [u8; 16],
}

impl Identity {
    fn push(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"\",\"client_ip\":\"");
        self.ip.push(out);
        out.extend_from_slice(b"\",\"user_id\":\"u_");
        push_u64(out, self.user_no);
        out.extend_from_slice(b"\",\"session_id\":\"");
        push_hex(out, &self.id.to_be_bytes());
        out.extend_from_slice(b"\",\"device_id\":\"");
        push_uuid(out, &self.device);
        out.extend_from_slice(b"\",\"method\":\"");
    }
}

/// The device and client: the fields after `referrer`.
#[derive(Clone, Copy)]
struct Profile {
    user_agent: &'static str,
    accept_language: &'static str,
    device_model: &'static str,
    os_version: &'static str,
    carrier: &'static str,
    app_version: &'static str,
}

impl Profile {
    fn push(&self, out: &mut Vec<u8>) {
        for (key, value) in [
            (&b"\",\"user_agent\":\""[..], self.user_agent),
            (b"\",\"accept_language\":\"", self.accept_language),
            (b"\",\"device_model\":\"", self.device_model),
            (b"\",\"os_version\":\"", self.os_version),
            (b"\",\"carrier\":\"", self.carrier),
            (b"\",\"app_version\":\"", self.app_version),
        ] {
            out.extend_from_slice(key);
            push_escaped(out, value);
        }
        out.extend_from_slice(b"\"}");
    }
}

/// The per-record choices; its line is a pure function of it and its session.
#[derive(Clone, Copy)]
struct Rec {
    ts_ms: u64,
    method: &'static str,
    template: &'static str,
    ids: [u32; 2],
    params: [Param; 3],
    n_params: usize,
    status: u16,
    bytes: u64,
    duration_centis: u64,
    referrer: Referrer,
}

impl Rec {
    /// One step towards a shorter line; false when nothing is left to cut.
    fn shrink(&mut self) -> bool {
        if self.n_params > 0 {
            self.n_params -= 1;
        } else if !matches!(self.referrer, Referrer::None) {
            self.referrer = Referrer::None;
        } else if self.template != "/" {
            self.template = "/";
        } else {
            return false;
        }
        true
    }

    /// One step towards a longer line (each adds under 100 bytes); false when
    /// nothing is left to add.
    fn grow(&mut self, rng: &mut Rng) -> bool {
        let present = &self.params[..self.n_params];
        let missing = [ParamKind::Token, ParamKind::Email, ParamKind::Q]
            .into_iter()
            .find(|kind| !present.iter().any(|p| p.kind == *kind));
        match missing {
            Some(kind) if self.n_params < self.params.len() => {
                self.params[self.n_params] = Param::new(kind, rng.next_u64(), rng.next_u64());
                self.n_params += 1;
            }
            _ if !matches!(self.referrer, Referrer::OwnSite { .. }) => {
                self.referrer =
                    Referrer::OwnSite { page: "/products/#", id: rng.numeric_id(), words: 0 };
            }
            _ => return false,
        }
        true
    }
}

/// Renders `rec` into `out`, shrinking or growing it until the line is
/// within [`MIN_LINE_BYTES`, `MAX_LINE_BYTES`].
fn fit(session: &Session, rec: &mut Rec, rng: &mut Rng, out: &mut Vec<u8>) {
    let start = out.len();
    out.reserve(MAX_LINE_BYTES + 128);
    render(session, rec, out);
    if out.len() - start > MAX_LINE_BYTES {
        while out.len() - start > MAX_LINE_BYTES && rec.shrink() {
            out.truncate(start);
            render(session, rec, out);
        }
    } else {
        while out.len() - start < MIN_LINE_BYTES && rec.grow(rng) {
            out.truncate(start);
            render(session, rec, out);
        }
    }
}

fn render(s: &Session, r: &Rec, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"ts\":\"");
    push_timestamp(out, r.ts_ms);
    out.extend_from_slice(&s.head);
    push_raw(out, r.method);
    out.extend_from_slice(b"\",\"path\":\"");
    push_template(out, r.template, r.ids, 0);
    for (i, param) in r.params[..r.n_params].iter().enumerate() {
        out.push(if i == 0 { b'?' } else { b'&' });
        param.push(out);
    }
    out.extend_from_slice(b"\",\"status\":");
    push_u64(out, u64::from(r.status));
    out.extend_from_slice(b",\"bytes\":");
    push_u64(out, r.bytes);
    out.extend_from_slice(b",\"duration_ms\":");
    push_u64(out, r.duration_centis / 100);
    out.extend_from_slice(&[
        b'.',
        b'0' + (r.duration_centis / 10 % 10) as u8,
        b'0' + (r.duration_centis % 10) as u8,
    ]);
    out.extend_from_slice(b",\"referrer\":\"");
    match r.referrer {
        Referrer::None => out.push(b'-'),
        Referrer::Fixed(url) => push_raw(out, url),
        Referrer::OwnSite { page, id, words } => {
            push_raw(out, OWN_ORIGIN);
            push_template(out, page, [id, id], words);
        }
    }
    out.extend_from_slice(&s.tail);
}

/// `s` up to (not including) its `n`-th comma, or all of it.
fn up_to_comma(s: &str, n: usize) -> &str {
    match s.match_indices(',').nth(n.saturating_sub(1)) {
        Some((at, _)) if n > 0 => &s[..at],
        _ => s,
    }
}

/// Writes `template` with each `#` replaced by the next id and `*` by words.
fn push_template(out: &mut Vec<u8>, template: &str, ids: [u32; 2], words: u64) {
    let mut next_id = ids.into_iter();
    for piece in template.as_bytes().split_inclusive(|b| *b == ID_MARK || *b == WORDS_MARK) {
        match piece.split_last() {
            Some((&ID_MARK, head)) => {
                out.extend_from_slice(head);
                push_u64(out, u64::from(next_id.next().unwrap_or(0)));
            }
            Some((&WORDS_MARK, head)) => {
                out.extend_from_slice(head);
                push_words(out, words);
            }
            _ => out.extend_from_slice(piece),
        }
    }
}

/// One or two search words joined by `+` (form encoding of a space).
fn push_words(out: &mut Vec<u8>, x: u64) {
    push_raw(out, choose(SEARCH_WORDS, x));
    if (x >> 40) & 1 == 1 {
        out.push(b'+');
        push_raw(out, choose(SEARCH_WORDS, x >> 20));
    }
}

/// Element `x mod len` of a non-empty static list (`-` if empty).
fn choose(list: &[&'static str], x: u64) -> &'static str {
    match list.len() {
        0 => "-",
        len => list[(x % len as u64) as usize],
    }
}

#[derive(Clone, Copy)]
enum Referrer {
    None,
    Fixed(&'static str),
    OwnSite { page: &'static str, id: u32, words: u64 },
}

#[derive(Clone, Copy)]
enum RefKind {
    None,
    Search,
    OwnSite,
    Social,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ParamKind {
    Token,
    Email,
    Q,
    Page,
    UtmSource,
    Ref,
    Lang,
    Sort,
}

/// A query parameter; its value is a pure function of the two random words.
#[derive(Clone, Copy)]
struct Param {
    kind: ParamKind,
    a: u64,
    b: u64,
}

impl Param {
    const EMPTY: Param = Param { kind: ParamKind::Page, a: 0, b: 0 };

    fn new(kind: ParamKind, a: u64, b: u64) -> Self {
        Param { kind, a, b }
    }

    fn push(&self, out: &mut Vec<u8>) {
        let (key, list): (&[u8], &[&'static str]) = match self.kind {
            ParamKind::Token => {
                out.extend_from_slice(b"token=");
                push_hex(out, &((u128::from(self.a) << 64) | u128::from(self.b)).to_be_bytes());
                return;
            }
            ParamKind::Email => {
                out.extend_from_slice(b"email=");
                push_raw(out, choose(FIRST_NAMES, self.a));
                out.push(b'.');
                push_u64(out, 1 + self.b % 99);
                out.extend_from_slice(b"%40");
                push_raw(out, choose(EMAIL_DOMAINS, self.b >> 32));
                return;
            }
            ParamKind::Q => {
                out.extend_from_slice(b"q=");
                push_words(out, self.a);
                return;
            }
            ParamKind::Page => {
                out.extend_from_slice(b"page=");
                push_u64(out, 1 + (self.a % 20).min(self.b % 20));
                return;
            }
            ParamKind::UtmSource => (b"utm_source=", UTM_SOURCES),
            ParamKind::Ref => (b"ref=", REF_TAGS),
            ParamKind::Lang => (b"lang=", QUERY_LANGS),
            ParamKind::Sort => (b"sort=", SORT_KEYS),
        };
        out.extend_from_slice(key);
        push_raw(out, choose(list, self.a));
    }
}

#[derive(Clone, Copy)]
enum Ip {
    V4([u8; 4]),
    V6([u16; 8]),
}

impl Ip {
    /// Dotted quad, or RFC 5952 text (lowercase, longest zero run as `::`).
    fn push(&self, out: &mut Vec<u8>) {
        match self {
            Ip::V4(octets) => {
                for (i, octet) in octets.iter().enumerate() {
                    if i > 0 {
                        out.push(b'.');
                    }
                    push_u64(out, u64::from(*octet));
                }
            }
            Ip::V6(groups) => {
                // Longest run of two or more zero groups; the first one on ties.
                let (mut best_at, mut best_len, mut run_len) = (groups.len(), 0, 0);
                for (i, group) in groups.iter().enumerate() {
                    run_len = if *group == 0 { run_len + 1 } else { 0 };
                    if run_len > best_len && run_len >= 2 {
                        (best_at, best_len) = (i + 1 - run_len, run_len);
                    }
                }
                let mut i = 0;
                while i < groups.len() {
                    if i == best_at {
                        out.extend_from_slice(b"::");
                        i += best_len;
                        continue;
                    }
                    if i > 0 && i != best_at + best_len {
                        out.push(b':');
                    }
                    push_hex_group(out, groups[i]);
                    i += 1;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Output helpers: append to the caller's buffer, no allocation.

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A string that needs no JSON escaping: a table entry checked by
/// [`json_safe`] at compile time.
fn push_raw(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
}

/// Whether `s` can sit in a JSON string as is (no `"`, `\`, control byte).
const fn json_safe(s: &str) -> bool {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'"' || bytes[i] == b'\\' || bytes[i] < 0x20 {
            return false;
        }
        i += 1;
    }
    true
}

const fn all_json_safe(list: &[&str]) -> bool {
    let mut i = 0;
    while i < list.len() {
        if !json_safe(list[i]) {
            return false;
        }
        i += 1;
    }
    true
}

// The per-record text pieces are written unescaped: prove it safe at compile time.
const _: () = assert!(
    json_safe(OWN_ORIGIN)
        && all_json_safe(SEARCH_WORDS)
        && all_json_safe(FIRST_NAMES)
        && all_json_safe(EMAIL_DOMAINS)
        && all_json_safe(UTM_SOURCES)
        && all_json_safe(REF_TAGS)
        && all_json_safe(QUERY_LANGS)
        && all_json_safe(SORT_KEYS)
);

/// A JSON string body: escapes `"`, `\` and control characters.
fn push_escaped(out: &mut Vec<u8>, s: &str) {
    push_escaped_bytes(out, s.as_bytes());
}

fn push_escaped_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    if !needs_escape(bytes) {
        out.extend_from_slice(bytes);
        return;
    }
    for &b in bytes {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]),
            _ => out.push(b),
        }
    }
}

/// Whether `bytes` holds `"`, `\` or a control character (8 bytes a step).
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // Nonzero iff some byte of `x` is below `n` (n <= 0x80; classic SWAR test).
    let has_below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGHS;
    let has_byte = |x: u64, b: u8| has_below(x ^ (ONES * u64::from(b)), 1);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_ne_bytes(word);
        if has_below(x, 0x20) | has_byte(x, b'"') | has_byte(x, b'\\') != 0 {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| b == b'"' || b == b'\\' || b < 0x20)
}

fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[at..]);
}

/// Lowercase hex of up to 16 bytes.
fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut buf = [0u8; 32];
    for (pair, b) in buf.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 0xf)];
    }
    out.extend_from_slice(&buf[..2 * bytes.len().min(16)]);
}

fn push_hex_group(out: &mut Vec<u8>, group: u16) {
    let digits = [12, 8, 4, 0].map(|shift| HEX[usize::from((group >> shift) & 0xf)]);
    let skip = (group.leading_zeros() / 4).min(3) as usize;
    out.extend_from_slice(&digits[skip..]);
}

fn push_uuid(out: &mut Vec<u8>, b: &[u8; 16]) {
    let mut buf = [b'-'; 36];
    let mut at = 0;
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            at += 1;
        }
        buf[at] = HEX[usize::from(byte >> 4)];
        buf[at + 1] = HEX[usize::from(byte & 0xf)];
        at += 2;
    }
    out.extend_from_slice(&buf);
}

/// RFC 3339 UTC with milliseconds: `2024-05-14T08:00:00.002Z`.
fn push_timestamp(out: &mut Vec<u8>, unix_ms: u64) {
    let secs = unix_ms / 1000;
    let (year, month, day) = civil_from_days(secs / 86_400);
    let second_of_day = secs % 86_400;
    let mut buf = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut v: u64| {
        for i in (at..at + width).rev() {
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, month);
    put(8, 2, day);
    put(11, 2, second_of_day / 3600);
    put(14, 2, second_of_day / 60 % 60);
    put(17, 2, second_of_day % 60);
    put(20, 3, unix_ms % 1000);
    out.extend_from_slice(&buf);
}

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01
/// (H. Hinnant's `civil_from_days`, non-negative days only).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

// ---------------------------------------------------------------------------
// Randomness: SplitMix64 seeding, xoshiro256** stream, keyed hashing, and
// platform-independent ln/exp.

fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    mix64(*state)
}

/// Keyed hash of `key` for attribute `tag` (stable per user or device).
fn derive(seed: u64, tag: u64, key: u64) -> u64 {
    mix64(seed ^ mix64(tag.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ mix64(key)))
}

/// xoshiro256** (Blackman & Vigna), seeded through SplitMix64.
struct Rng {
    s: [u64; 4],
    spare_normal: Option<f64>,
}

impl Rng {
    fn new(seed: u64) -> Self {
        let mut state = seed;
        // SplitMix64 outputs of distinct states are distinct, so the state is
        // never all zero.
        let s = [(); 4].map(|()| splitmix64(&mut state));
        Rng { s, spare_normal: None }
    }

    fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `0..n` (multiply-shift; bias below 2^-40 for our `n`).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Standard normal (Marsaglia polar method).
    fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare_normal.take() {
            return z;
        }
        for _ in 0..64 {
            let u = 2.0 * self.unit() - 1.0;
            let v = 2.0 * self.unit() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                let f = (-2.0 * ln(s) / s).sqrt();
                self.spare_normal = Some(v * f);
                return u * f;
            }
        }
        0.0
    }

    fn log_normal(&mut self, median: f64, sigma: f64) -> f64 {
        median * exp(sigma * self.normal())
    }

    /// An id of 4 to 7 digits, each length equally likely.
    fn numeric_id(&mut self) -> u32 {
        let low = [1_000, 10_000, 100_000, 1_000_000][self.below(4) as usize];
        (low + self.below(low * 9)) as u32
    }

    /// A public-looking IPv4 address (private, reserved and multicast skipped).
    fn ipv4(&mut self) -> [u8; 4] {
        for _ in 0..32 {
            let [a, b, c, d, ..] = self.next_u64().to_le_bytes();
            let reserved = match a {
                0 | 10 | 127 | 224..=255 => true,
                100 => b & 0xc0 == 64,
                169 => b == 254,
                172 => (16..=31).contains(&b),
                192 => b == 168 || b == 0,
                198 => b & 0xfe == 18,
                _ => false,
            };
            if !reserved && d != 0 && d != 255 {
                return [a, b, c, d];
            }
        }
        [104, 28, 0, 1]
    }

    /// An address under a real access-ISP /32, with a random or a low
    /// (`::17`) interface id.
    fn ipv6(&mut self) -> [u16; 8] {
        let prefix = IPV6_PREFIXES[self.below(IPV6_PREFIXES.len() as u64) as usize];
        let x = self.next_u64();
        let subnet = |bits: u64| {
            if bits & 0x1_0000 != 0 {
                (bits & 0xff) as u16
            } else {
                bits as u16
            }
        };
        let mut groups = [prefix[0], prefix[1], subnet(x), subnet(x >> 17), 0, 0, 0, 0];
        if self.chance(0.4) {
            groups[7] = 1 + self.below(0x1ff) as u16;
        } else {
            let iid = self.next_u64();
            for (i, group) in groups[4..].iter_mut().enumerate() {
                *group = (iid >> (48 - 16 * i)) as u16;
            }
        }
        groups
    }
}

/// Continuous Zipf–Mandelbrot law `(k + q)^-s` over ranks `1..=n`, sampled by
/// inverting its CDF.
struct Zipf {
    n: f64,
    offset: f64,
    low: f64,
    span: f64,
    inv_power: f64,
}

impl Zipf {
    fn new(n: f64, exponent: f64, offset: f64) -> Self {
        let power = 1.0 - exponent;
        let low = pow(1.0 + offset, power);
        Zipf { n, offset, low, span: pow(n + 1.0 + offset, power) - low, inv_power: 1.0 / power }
    }

    /// Rank in `1..=n` for a uniform `u` in [0, 1).
    fn rank(&self, u: f64) -> u64 {
        let x = pow(self.low + u * self.span, self.inv_power) - self.offset;
        x.floor().clamp(1.0, self.n) as u64
    }
}

/// `1/k` for k = 0..=17 (index 0 unused), folded at compile time.
const RECIPROCALS: [f64; 18] = {
    let mut r = [0.0; 18];
    let mut k = 1;
    while k < 18 {
        r[k] = 1.0 / k as f64;
        k += 1;
    }
    r
};

/// Natural logarithm from IEEE arithmetic only (same bits everywhere; about
/// 1e-13 relative error). Non-positive, subnormal and NaN inputs are treated
/// as tiny or 1.
fn ln(x: f64) -> f64 {
    let x = if x.is_nan() { 1.0 } else { x.clamp(f64::MIN_POSITIVE, f64::MAX) };
    let bits = x.to_bits();
    let mut exponent = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        exponent += 1;
    }
    // ln m = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...), |s| <= 0.172.
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut series = 0.0;
    for k in (1..=17).rev().step_by(2) {
        series = RECIPROCALS[k] + s2 * series;
    }
    2.0 * s * series + exponent as f64 * std::f64::consts::LN_2
}

/// `1/k!` for k = 0..=11, folded at compile time.
const INV_FACTORIALS: [f64; 12] = {
    let mut r = [1.0; 12];
    let mut k = 1;
    while k < 12 {
        r[k] = r[k - 1] / k as f64;
        k += 1;
    }
    r
};

/// `e^x` from IEEE arithmetic only (same bits everywhere; about 1e-13
/// relative error); `x` is clamped to ±700.
fn exp(x: f64) -> f64 {
    let x = if x.is_nan() { 0.0 } else { x.clamp(-700.0, 700.0) };
    let half = if x < 0.0 { -0.5 } else { 0.5 };
    let k = (x * std::f64::consts::LOG2_E + half) as i64; // nearest integer
    let r = x - k as f64 * std::f64::consts::LN_2; // |r| <= 0.35
    let mut series = 0.0;
    for c in INV_FACTORIALS.iter().rev() {
        series = c + r * series;
    }
    series * f64::from_bits(((k + 1023) as u64) << 52)
}

fn pow(base: f64, power: f64) -> f64 {
    exp(power * ln(base))
}

/// A static weighted table, its total computed at compile time.
struct Weighted<T: 'static> {
    items: &'static [(T, u32)],
    total: u64,
}

impl Weighted<&'static str> {
    /// A table of strings written unescaped into JSON: fails to compile if
    /// one holds `"`, `\` or a control character.
    const fn json_safe(items: &'static [(&'static str, u32)]) -> Self {
        let mut i = 0;
        while i < items.len() {
            assert!(json_safe(items[i].0), "table string needs JSON escaping");
            i += 1;
        }
        Self::new(items)
    }
}

impl<T: Copy> Weighted<T> {
    /// Fails to compile (const panic) on an empty or zero-weight table.
    const fn new(items: &'static [(T, u32)]) -> Self {
        let mut total = 0;
        let mut i = 0;
        while i < items.len() {
            total += items[i].1 as u64;
            i += 1;
        }
        assert!(total > 0, "weighted table without weight");
        Weighted { items, total }
    }

    /// The item at the position of a uniform 64-bit `x` in the weight line.
    fn pick(&self, x: u64) -> T {
        let mut target = ((u128::from(x) * u128::from(self.total)) >> 64) as u64;
        for (item, weight) in self.items {
            if target < u64::from(*weight) {
                return *item;
            }
            target -= u64::from(*weight);
        }
        self.items[self.items.len() - 1].0
    }
}

// ---------------------------------------------------------------------------
// Tables

/// Device class of a user agent: decides the compatible models and OS
/// versions, and whether a carrier applies.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Class {
    AndroidPhone,
    AndroidTablet,
    Iphone,
    Ipad,
    Windows,
    Mac,
    Linux,
    ChromeOs,
    Bot,
    Library,
}

static NO_VALUE: Weighted<&str> = Weighted::json_safe(&[("-", 1)]);
#[rustfmt::skip]
static ANDROID_PHONES: Weighted<&str> = Weighted::json_safe(&[
    ("SM-S918B", 5), ("SM-A546B", 6), ("SM-G991B", 4), ("Pixel 8", 4),
    ("Pixel 7a", 3), ("2201116SG", 3), ("CPH2451", 2),
]);
static ANDROID_TABLETS: Weighted<&str> = Weighted::json_safe(&[("SM-X710", 3), ("SM-X205", 2)]);
#[rustfmt::skip]
static IPHONES: Weighted<&str> = Weighted::json_safe(&[
    ("iPhone15,3", 5), ("iPhone14,5", 5), ("iPhone16,1", 4), ("iPhone14,7", 3), ("iPhone12,1", 2),
]);
static IPADS: Weighted<&str> = Weighted::json_safe(&[("iPad13,18", 3), ("iPad14,1", 2)]);
static ANDROID_VERSIONS: Weighted<&str> =
    Weighted::json_safe(&[("Android 14", 5), ("Android 13", 3), ("Android 12", 1)]);
static IOS_VERSIONS: Weighted<&str> = Weighted::json_safe(&[("iOS 17.4.1", 3), ("iOS 17.5", 1)]);
static WINDOWS_VERSIONS: Weighted<&str> =
    Weighted::json_safe(&[("Windows 10", 3), ("Windows 11", 2)]);
static MACOS_VERSIONS: Weighted<&str> =
    Weighted::json_safe(&[("macOS 14.4.1", 3), ("macOS 13.6.6", 1)]);
static LINUX: Weighted<&str> = Weighted::json_safe(&[("Linux", 1)]);
static CHROME_OS: Weighted<&str> = Weighted::json_safe(&[("ChromeOS", 1)]);

impl Class {
    fn models(self) -> &'static Weighted<&'static str> {
        match self {
            Class::AndroidPhone => &ANDROID_PHONES,
            Class::AndroidTablet => &ANDROID_TABLETS,
            Class::Iphone => &IPHONES,
            Class::Ipad => &IPADS,
            _ => &NO_VALUE,
        }
    }

    fn os_versions(self) -> &'static Weighted<&'static str> {
        match self {
            Class::AndroidPhone | Class::AndroidTablet => &ANDROID_VERSIONS,
            Class::Iphone | Class::Ipad => &IOS_VERSIONS,
            Class::Windows => &WINDOWS_VERSIONS,
            Class::Mac => &MACOS_VERSIONS,
            Class::Linux => &LINUX,
            Class::ChromeOs => &CHROME_OS,
            Class::Bot | Class::Library => &NO_VALUE,
        }
    }

    fn is_mobile(self) -> bool {
        matches!(self, Class::AndroidPhone | Class::AndroidTablet | Class::Iphone | Class::Ipad)
    }
}

#[derive(Clone, Copy)]
struct Agent {
    ua: &'static str,
    class: Class,
    /// Set when the UA string names the model.
    model: Option<&'static str>,
    /// Set when the UA string names the OS version.
    os: Option<&'static str>,
}

impl Agent {
    /// The Accept-Language this agent sends for a user's `locale`: none for
    /// bots and libraries; WebKit browsers send the part before the second
    /// comma.
    fn accept_language(&self, locale: &'static str) -> &'static str {
        match self.class {
            Class::Bot | Class::Library => "-",
            Class::Iphone | Class::Ipad => up_to_comma(locale, 2),
            _ if self.ua.contains("Version/") => up_to_comma(locale, 2),
            _ => locale,
        }
    }
}

const fn ua(ua: &'static str, class: Class) -> Agent {
    Agent { ua, class, model: None, os: None }
}

const fn ua_on(
    ua: &'static str,
    class: Class,
    model: Option<&'static str>,
    os: &'static str,
) -> Agent {
    Agent { ua, class, model, os: Some(os) }
}

const IOS_17_4: &str = "iOS 17.4.1";

/// Real user agents of May 2024 with rough traffic weights.
#[rustfmt::skip]
static AGENTS: Weighted<Agent> = Weighted::new(&[
    (ua("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", Class::Windows), 90),
    (ua("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36", Class::Windows), 40),
    (ua("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36", Class::Windows), 20),
    (ua("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", Class::Mac), 35),
    (ua("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36", Class::Mac), 15),
    (ua("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", Class::Linux), 8),
    (ua("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", Class::ChromeOs), 4),
    (ua("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0", Class::Windows), 30),
    (ua("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 Edg/125.0.0.0", Class::Windows), 10),
    (ua("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0", Class::Mac), 4),
    (ua("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0", Class::Windows), 18),
    (ua("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:126.0) Gecko/20100101 Firefox/126.0", Class::Windows), 8),
    (ua("Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:125.0) Gecko/20100101 Firefox/125.0", Class::Mac), 5),
    (ua("Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", Class::Linux), 4),
    (ua("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", Class::Linux), 3),
    (ua_on("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15", Class::Mac, None, "macOS 14.4.1"), 25),
    (ua_on("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Safari/605.1.15", Class::Mac, None, "macOS 13.6.6"), 6),
    (ua("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 OPR/110.0.0.0", Class::Windows), 6),
    (ua("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Mobile Safari/537.36 OPR/81.1.4292.78446", Class::AndroidPhone), 4),
    (ua("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", Class::AndroidPhone), 110),
    (ua("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Mobile Safari/537.36", Class::AndroidPhone), 40),
    (ua("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Mobile Safari/537.36", Class::AndroidPhone), 25),
    (ua("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", Class::AndroidTablet), 8),
    (ua("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36 EdgA/124.0.2478.64", Class::AndroidPhone), 3),
    (ua_on("Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0", Class::AndroidPhone, None, "Android 14"), 5),
    (ua_on("Mozilla/5.0 (Android 13; Tablet; rv:125.0) Gecko/125.0 Firefox/125.0", Class::AndroidTablet, None, "Android 13"), 1),
    (ua_on("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36", Class::AndroidPhone, Some("SM-A546B"), "Android 14"), 12),
    (ua_on("Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36", Class::AndroidPhone, Some("SM-S918B"), "Android 14"), 8),
    (ua_on("Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-G991B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36", Class::AndroidPhone, Some("SM-G991B"), "Android 13"), 5),
    (ua_on("Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Safari/537.36", Class::AndroidTablet, Some("SM-X710"), "Android 14"), 3),
    (ua_on("Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP1A.240405.002; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.82 Mobile Safari/537.36", Class::AndroidPhone, Some("Pixel 8"), "Android 14"), 10),
    (ua_on("Mozilla/5.0 (Linux; Android 13; SM-G991B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.82 Mobile Safari/537.36", Class::AndroidPhone, Some("SM-G991B"), "Android 13"), 6),
    (ua_on("Mozilla/5.0 (Linux; Android 12; 2201116SG Build/SKQ1.211006.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/123.0.6312.118 Mobile Safari/537.36", Class::AndroidPhone, Some("2201116SG"), "Android 12"), 4),
    (ua_on("Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.82 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/462.0.0.37.114;]", Class::AndroidPhone, Some("SM-S918B"), "Android 14"), 6),
    (ua_on("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1", Class::Iphone, None, IOS_17_4), 80),
    (ua_on("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", Class::Iphone, None, "iOS 17.5"), 30),
    (ua_on("Mozilla/5.0 (iPhone; CPU iPhone OS 16_7_8 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1", Class::Iphone, None, "iOS 16.7.8"), 15),
    (ua_on("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1", Class::Iphone, None, IOS_17_4), 12),
    (ua_on("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/125.0 Mobile/15E148 Safari/605.1.15", Class::Iphone, None, IOS_17_4), 2),
    (ua_on("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/124.2478.71 Mobile/15E148 Safari/605.1.15", Class::Iphone, None, IOS_17_4), 2),
    (ua_on("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 329.0.3.29.108 (iPhone15,3; iOS 17_4_1; en_US; en; scale=3.00; 1290x2796; 596591393)", Class::Iphone, Some("iPhone15,3"), IOS_17_4), 5),
    (ua_on("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.49(0x18003137) NetType/WIFI Language/zh_CN", Class::Iphone, None, IOS_17_4), 2),
    (ua_on("Mozilla/5.0 (iPad; CPU OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1", Class::Ipad, None, IOS_17_4), 6),
    (ua_on("Mozilla/5.0 (iPad; CPU OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1", Class::Ipad, None, IOS_17_4), 2),
    (ua("okhttp/4.12.0", Class::AndroidPhone), 6),
    (ua_on("Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/AP1A.240405.002)", Class::AndroidPhone, Some("Pixel 8"), "Android 14"), 3),
    (ua("Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.118 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", Class::Bot), 4),
    (ua("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", Class::Bot), 3),
    (ua("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", Class::Bot), 2),
    (ua("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36", Class::Bot), 2),
    (ua("curl/8.7.1", Class::Library), 3),
    (ua("python-requests/2.31.0", Class::Library), 3),
]);
#[rustfmt::skip]
static METHODS: Weighted<&str> = Weighted::json_safe(&[
    ("GET", 70), ("POST", 18), ("PUT", 4), ("DELETE", 3), ("PATCH", 3), ("HEAD", 2),
]);

/// Path templates; `#` is a numeric id.
static PATH_TEMPLATES: Weighted<&str> = Weighted::json_safe(&[
    ("/", 3),
    ("/health", 1),
    ("/api/v1/users/#/orders", 6),
    ("/api/v1/users/#/profile", 5),
    ("/api/v1/users/#/addresses/#", 2),
    ("/api/v1/orders/#", 6),
    ("/api/v1/orders/#/items", 4),
    ("/api/v1/orders/#/tracking", 3),
    ("/api/v1/products/#", 12),
    ("/api/v1/products/#/reviews", 5),
    ("/api/v1/categories/#/products", 7),
    ("/api/v1/search", 8),
    ("/api/v1/cart", 6),
    ("/api/v1/cart/items/#", 4),
    ("/api/v1/checkout", 3),
    ("/api/v1/auth/login", 3),
    ("/api/v1/auth/refresh", 4),
    ("/api/v2/feed", 6),
    ("/api/v2/notifications", 4),
    ("/api/v2/messages/#", 3),
    ("/static/img/products/#.jpg", 5),
]);

#[rustfmt::skip]
static PARAM_COUNTS: Weighted<usize> = Weighted::new(&[
    (1, 50), (2, 35), (3, 15),
]);

#[rustfmt::skip]
static PARAM_KINDS: Weighted<ParamKind> = Weighted::new(&[
    (ParamKind::Token, 20), (ParamKind::Email, 12), (ParamKind::Q, 15), (ParamKind::Page, 15),
    (ParamKind::UtmSource, 10), (ParamKind::Ref, 8), (ParamKind::Lang, 10), (ParamKind::Sort, 10),
]);

/// Before the method fix-ups (304 only for GET/HEAD, 201 only for POST/PUT).
#[rustfmt::skip]
static STATUSES: Weighted<u16> = Weighted::new(&[
    (200, 7600), (201, 350), (204, 200), (301, 80), (302, 250), (304, 550),
    (400, 200), (401, 150), (403, 80), (404, 300), (409, 20), (422, 60),
    (429, 50), (500, 60), (502, 25), (503, 20), (504, 5),
]);

#[rustfmt::skip]
static REFERRER_KINDS: Weighted<RefKind> = Weighted::new(&[
    (RefKind::None, 35), (RefKind::Search, 25), (RefKind::OwnSite, 35), (RefKind::Social, 5),
]);

#[rustfmt::skip]
static SEARCH_ENGINES: Weighted<&str> = Weighted::json_safe(&[
    ("https://www.google.com/", 50), ("https://www.google.de/", 8), ("https://www.google.co.uk/", 6),
    ("https://www.bing.com/", 12), ("https://duckduckgo.com/", 8), ("https://search.yahoo.com/", 4),
    ("https://www.ecosia.org/", 4), ("https://yandex.ru/", 3), ("https://search.brave.com/", 3),
]);

#[rustfmt::skip]
static SOCIAL: Weighted<&str> = Weighted::json_safe(&[
    ("https://t.co/", 3), ("https://l.facebook.com/", 4), ("https://l.instagram.com/", 3),
    ("https://www.reddit.com/", 2), ("android-app://com.google.android.gm/", 1),
]);

/// Pages of the own site (after [`OWN_ORIGIN`]); `#` an id, `*` search words.
#[rustfmt::skip]
static OWN_PAGES: Weighted<&str> = Weighted::json_safe(&[
    ("/", 10), ("/products/#", 30), ("/category/#", 15), ("/search?q=*", 15),
    ("/cart", 8), ("/account/orders", 7), ("/deals/#", 5), ("/blog/#", 5),
]);

/// Accept-Language as Chromium and Firefox send it; WebKit browsers send the
/// part before the second comma.
static LOCALES: Weighted<&str> = Weighted::json_safe(&[
    ("en-US,en;q=0.9", 30),
    ("en-GB,en-US;q=0.9,en;q=0.8", 8),
    ("de-DE,de;q=0.9,en;q=0.6", 15),
    ("fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7", 9),
    ("es-ES,es;q=0.9", 7),
    ("it-IT,it;q=0.9,en-US;q=0.8,en;q=0.7", 5),
    ("nl-NL,nl;q=0.9,en-US;q=0.8,en;q=0.7", 4),
    ("pt-BR,pt;q=0.9,en-US;q=0.8,en;q=0.7", 6),
    ("pl-PL,pl;q=0.9,en-US;q=0.8,en;q=0.7", 3),
    ("ja-JP,ja;q=0.9", 4),
    ("zh-CN,zh;q=0.9", 4),
    ("tr-TR,tr;q=0.9,en-US;q=0.8,en;q=0.7", 3),
    ("sv-SE,sv;q=0.9,en;q=0.8", 2),
]);

#[rustfmt::skip]
static CARRIERS: Weighted<&str> = Weighted::json_safe(&[
    ("T-Mobile", 6), ("Vodafone", 6), ("Verizon", 5), ("AT&T", 5), ("Orange", 4),
    ("Telekom.de", 4), ("O2", 3), ("EE", 2), ("Movistar", 2),
]);

#[rustfmt::skip]
static APP_VERSIONS: Weighted<&str> = Weighted::json_safe(&[
    ("4.12.1", 35), ("4.12.0", 20), ("4.11.3", 18), ("4.10.0", 12), ("4.9.7", 10), ("3.28.2", 5),
]);

/// /32 prefixes of large access ISPs (Vodafone DE, DTAG, 1&1, Orange FR,
/// AT&T, T-Mobile US, BT, Jio).
const IPV6_PREFIXES: &[[u16; 2]] = &[
    [0x2a02, 0x810d],
    [0x2003, 0x00e8],
    [0x2001, 0x16b8],
    [0x2a01, 0xcb00],
    [0x2600, 0x1700],
    [0x2607, 0xfb90],
    [0x2a00, 0x23c6],
    [0x2409, 0x4042],
];

const SEARCH_WORDS: &[&str] = &[
    "running",
    "shoes",
    "jacket",
    "winter",
    "headphones",
    "wireless",
    "laptop",
    "bag",
    "coffee",
    "grinder",
    "yoga",
    "mat",
    "desk",
    "lamp",
    "kids",
    "bike",
    "helmet",
    "phone",
    "case",
    "garden",
    "chair",
    "sale",
    "gift",
    "black",
];

const FIRST_NAMES: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "zoe",
];

const EMAIL_DOMAINS: &[&str] = &["example.com", "example.org", "example.net", "mail.example.com"];

const UTM_SOURCES: &[&str] =
    &["google", "newsletter", "facebook", "instagram", "twitter", "partner_blog"];

const REF_TAGS: &[&str] = &["homepage", "banner_top", "email_digest", "push", "share"];

const QUERY_LANGS: &[&str] = &["en", "de", "fr", "es", "it", "nl", "pt", "ja"];

const SORT_KEYS: &[&str] = &["price_asc", "price_desc", "newest", "rating", "relevance"];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};
    use std::net::IpAddr;
    use std::sync::OnceLock;

    const KEYS: [&str; 17] = [
        "ts",
        "client_ip",
        "user_id",
        "session_id",
        "device_id",
        "method",
        "path",
        "status",
        "bytes",
        "duration_ms",
        "referrer",
        "user_agent",
        "accept_language",
        "device_model",
        "os_version",
        "carrier",
        "app_version",
    ];

    /// The fields the statistical tests look at, taken from parsed JSON.
    struct Parsed {
        ts: String,
        client_ip: String,
        user_id: String,
        session_id: String,
        device_id: String,
        method: String,
        path: String,
        status: u64,
        user_agent: String,
        device_model: String,
        os_version: String,
        carrier: String,
    }

    fn text(v: &serde_json::Value, key: &str) -> String {
        v[key].as_str().unwrap_or_else(|| panic!("{key} not a string")).to_string()
    }

    /// Parses one line, checking the key order and the value types.
    fn parse(line: &[u8]) -> Parsed {
        let v: serde_json::Value = serde_json::from_slice(line).unwrap();
        assert_eq!(v.as_object().unwrap().len(), KEYS.len());
        for key in KEYS {
            let is_number = matches!(key, "status" | "bytes" | "duration_ms");
            assert_eq!(v[key].is_number(), is_number, "{key}");
            assert_eq!(v[key].is_string(), !is_number, "{key}");
        }
        // Key order, from the text (serde_json's Map sorts keys): an unescaped
        // `,"key":` can only be structure, as `"` ends a JSON string.
        let raw = std::str::from_utf8(line).unwrap();
        assert!(raw.starts_with("{\"ts\":"));
        let mut rest = &raw[6..];
        for key in &KEYS[1..] {
            let pattern = [",\"", key, "\":"].concat();
            let at = rest.find(&pattern).unwrap_or_else(|| panic!("{key} missing or early"));
            rest = &rest[at + pattern.len()..];
        }
        assert!(v["status"].is_u64() && v["bytes"].is_u64());
        assert!(v["duration_ms"].as_f64().unwrap() > 0.0);
        Parsed {
            ts: text(&v, "ts"),
            client_ip: text(&v, "client_ip"),
            user_id: text(&v, "user_id"),
            session_id: text(&v, "session_id"),
            device_id: text(&v, "device_id"),
            method: text(&v, "method"),
            path: text(&v, "path"),
            status: v["status"].as_u64().unwrap(),
            user_agent: text(&v, "user_agent"),
            device_model: text(&v, "device_model"),
            os_version: text(&v, "os_version"),
            carrier: text(&v, "carrier"),
        }
    }

    const RAW_LEN: usize = 200_000;
    const CORPUS_LEN: usize = 100_000;

    /// 200k records of one seed.
    fn raw() -> &'static [Vec<u8>] {
        static RAW: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
        RAW.get_or_init(|| generate(0x5EED, RAW_LEN))
    }

    /// The first 100k of [`raw`], each parsed and checked by [`parse`].
    fn corpus() -> &'static [Parsed] {
        static CORPUS: OnceLock<Vec<Parsed>> = OnceLock::new();
        CORPUS.get_or_init(|| raw()[..CORPUS_LEN].iter().map(|l| parse(l)).collect())
    }

    fn share(records: &[Parsed], f: impl Fn(&Parsed) -> bool) -> f64 {
        records.iter().filter(|r| f(r)).count() as f64 / records.len() as f64
    }

    fn fnv1a(bytes: &[u8]) -> u64 {
        bytes
            .iter()
            .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
    }

    #[test]
    fn same_seed_gives_the_same_bytes_and_other_seeds_differ() {
        let a = AccessLogGenerator::new(7).lines(3_000);
        assert_eq!(a, AccessLogGenerator::new(7).lines(3_000));
        assert_ne!(a, AccessLogGenerator::new(8).lines(3_000));
        assert_ne!(a, AccessLogGenerator::new(u64::MAX).lines(3_000));
        // generate(), lines() and write_record() give the same stream.
        let joined: Vec<u8> = generate(7, 3_000)
            .into_iter()
            .flat_map(|mut r| {
                r.push(b'\n');
                r
            })
            .collect();
        assert_eq!(joined, a);
    }

    #[test]
    fn stream_is_pinned() {
        // Guards "byte-identical forever": any change to the tables or the
        // draw order changes this hash and must be a deliberate decision.
        let lines = AccessLogGenerator::new(42).lines(10_000);
        assert_eq!(fnv1a(&lines), 7_716_503_286_914_051_135);
        let first = generate(42, 1).remove(0);
        assert!(first.starts_with(b"{\"ts\":\"2024-05-14T08:00:00.000Z\",\"client_ip\":\""));
    }

    #[test]
    fn write_record_appends_and_zero_records_are_empty() {
        let mut out = b"prefix".to_vec();
        AccessLogGenerator::new(1).write_record(&mut out);
        assert!(out.starts_with(b"prefix{\"ts\":"));
        assert!(out.ends_with(b"\"}"));
        assert!(AccessLogGenerator::new(1).lines(0).is_empty());
        assert!(generate(1, 0).is_empty());
    }

    #[test]
    fn every_line_is_json_with_the_17_keys_in_order_and_450_to_650_bytes() {
        assert_eq!(corpus().len(), CORPUS_LEN);
        for line in raw() {
            let len = line.len();
            assert!((MIN_LINE_BYTES..=MAX_LINE_BYTES).contains(&len), "{len} bytes");
        }
        // lines(): one record per line, printable ASCII inside a line.
        let lines = AccessLogGenerator::new(3).lines(20_000);
        let mut count = 0;
        for line in lines.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            assert!(line.iter().all(|b| (0x20..0x7f).contains(b)));
            assert!((MIN_LINE_BYTES..=MAX_LINE_BYTES).contains(&line.len()));
            count += 1;
        }
        assert_eq!(count, 20_000);
        assert_eq!(lines.last(), Some(&b'\n'));
    }

    #[test]
    fn field_formats() {
        let is_hex = |s: &str| s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        for r in corpus().iter().take(20_000) {
            let user = r.user_id.strip_prefix("u_").unwrap();
            assert!(user.len() == 10 && user.bytes().all(|b| b.is_ascii_digit()));
            assert!(r.session_id.len() == 32 && is_hex(&r.session_id));
            let d: Vec<&str> = r.device_id.split('-').collect();
            assert_eq!(d.iter().map(|g| g.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12]);
            assert!(d.iter().all(|g| is_hex(g)));
            assert!(d[2].starts_with('4'), "UUID version 4");
            assert!(matches!(d[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'), "variant");
            assert!(r.path.starts_with('/'));
            assert!(!r.path.contains('#') && !r.path.contains('*'));
        }
    }

    #[test]
    fn timestamps_start_at_the_reference_instant_and_increase_by_a_few_ms() {
        let records = corpus();
        assert_eq!(records[0].ts, "2024-05-14T08:00:00.000Z");
        let to_ms = |ts: &str| -> u64 {
            let b = ts.as_bytes();
            assert_eq!(b.len(), 24);
            assert_eq!(
                (b[4], b[7], b[10], b[13], b[16], b[19], b[23]),
                (b'-', b'-', b'T', b':', b':', b'.', b'Z')
            );
            let num = |r: std::ops::Range<usize>| ts[r].parse::<u64>().unwrap();
            assert_eq!(&ts[..10], "2024-05-14", "200k records stay within the day");
            ((num(11..13) * 60 + num(14..16)) * 60 + num(17..19)) * 1000 + num(20..23)
        };
        let ms: Vec<u64> = records.iter().map(|r| to_ms(&r.ts)).collect();
        for pair in ms.windows(2) {
            assert!((1..=6).contains(&(pair[1] - pair[0])), "gap {}", pair[1] - pair[0]);
        }
        assert_eq!(ms[0], 8 * 3_600_000);
    }

    #[test]
    fn timestamp_rendering_handles_calendar_edges() {
        let render_ts = |ms: u64| {
            let mut out = Vec::new();
            push_timestamp(&mut out, ms);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(render_ts(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(render_ts(START_MS + 2), "2024-05-14T08:00:00.002Z");
        assert_eq!(render_ts(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(render_ts(1_735_689_599_999), "2024-12-31T23:59:59.999Z");
        assert_eq!(render_ts(4_107_542_400_000), "2100-03-01T00:00:00.000Z");
    }

    #[test]
    fn client_ips_are_80_percent_v4_and_canonical() {
        let records = corpus();
        let v4 = share(records, |r| !r.client_ip.contains(':'));
        assert!((0.77..=0.83).contains(&v4), "IPv4 share {v4}");
        let mut compressed = 0;
        for r in records.iter().take(50_000) {
            let ip: IpAddr = r.client_ip.parse().unwrap();
            assert_eq!(ip.to_string(), r.client_ip, "canonical text");
            match ip {
                IpAddr::V4(v4) => assert!(!v4.is_private() && !v4.is_loopback()),
                IpAddr::V6(_) => compressed += usize::from(r.client_ip.contains("::")),
            }
        }
        assert!(compressed > 1_000, "some IPv6 in `::` form: {compressed}");
    }

    #[test]
    fn ipv6_text_is_rfc_5952() {
        let cases: [[u16; 8]; 7] = [
            [0; 8],
            [0, 0, 0, 0, 0, 0, 0, 1],
            [0x2a02, 0x810d, 0x9f, 0x3a, 0, 0, 0, 0x17],
            [0x2001, 0xdb8, 0, 1, 0, 0, 0, 1],
            [0x2001, 0xdb8, 0, 0, 1, 0, 0, 1],
            [0x2001, 0xdb8, 0, 1, 1, 1, 1, 1],
            [1, 0, 0, 0, 0, 0, 0, 0],
        ];
        let mut rng = Rng::new(9);
        let generated: Vec<[u16; 8]> = (0..2_000).map(|_| rng.ipv6()).collect();
        let random: Vec<[u16; 8]> = (0..2_000)
            .map(|_| {
                let mut g = [0u16; 8];
                for x in &mut g {
                    *x = if rng.chance(0.5) { 0 } else { rng.next_u64() as u16 };
                }
                g
            })
            .collect();
        for groups in cases.into_iter().chain(random).chain(generated) {
            let mut out = Vec::new();
            Ip::V6(groups).push(&mut out);
            let std = std::net::Ipv6Addr::from(groups).to_string();
            assert_eq!(String::from_utf8(out).unwrap(), std);
        }
    }

    #[test]
    fn users_are_many_and_skewed() {
        let records = raw();
        let mut per_user: HashMap<&str, usize> = HashMap::new();
        for line in records {
            let line = std::str::from_utf8(line).unwrap();
            let at = line.find("\"user_id\":\"").unwrap() + 11;
            *per_user.entry(&line[at..at + 12]).or_default() += 1;
        }
        // ~19k expected for 200k records (~50k for 1M).
        assert!((14_000..=26_000).contains(&per_user.len()), "{} users", per_user.len());
        let mut counts: Vec<usize> = per_user.into_values().collect();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        let top: usize = counts[..counts.len() / 100].iter().sum();
        let top_share = top as f64 / records.len() as f64;
        assert!(top_share > 0.05, "top 1% of users have {top_share}");
        assert!(counts[0] < records.len() / 50, "no single user dominates");
    }

    #[test]
    fn sessions_average_about_five_records_and_keep_user_ip_and_device() {
        let records = corpus();
        let mut sessions: HashMap<&str, (usize, &str, &str, &str)> = HashMap::new();
        for r in records {
            let entry = sessions.entry(&r.session_id).or_insert((
                0,
                &r.user_id,
                &r.client_ip,
                &r.device_id,
            ));
            entry.0 += 1;
            assert_eq!((entry.1, entry.2, entry.3), (&*r.user_id, &*r.client_ip, &*r.device_id));
        }
        let mean = records.len() as f64 / sessions.len() as f64;
        assert!((3.0..=7.0).contains(&mean), "{mean} records per session");
    }

    #[test]
    fn about_one_device_per_user_with_consistent_profile() {
        let mut devices: HashMap<&str, HashSet<&str>> = HashMap::new();
        let mut profile: HashMap<&str, (&str, &str, &str)> = HashMap::new();
        for r in corpus() {
            devices.entry(&r.user_id).or_default().insert(&r.device_id);
            let p = profile.entry(&r.device_id).or_insert((
                &r.user_agent,
                &r.device_model,
                &r.os_version,
            ));
            assert_eq!(*p, (&*r.user_agent, &*r.device_model, &*r.os_version));
        }
        let per_user =
            devices.values().map(HashSet::len).sum::<usize>() as f64 / devices.len() as f64;
        assert!((1.0..1.2).contains(&per_user), "{per_user} devices per user");
    }

    #[test]
    fn device_fields_match_the_user_agent() {
        let models = |tables: &[&Weighted<&'static str>]| -> HashSet<&'static str> {
            tables.iter().flat_map(|t| t.items.iter().map(|(m, _)| *m)).collect()
        };
        let android = models(&[&ANDROID_PHONES, &ANDROID_TABLETS]);
        let apple = models(&[&IPHONES, &IPADS]);
        for r in corpus().iter().take(50_000) {
            let ua = &r.user_agent;
            if ua.contains("iPhone;") || ua.contains("iPad;") {
                assert!(apple.contains(r.device_model.as_str()), "{}", r.device_model);
                assert_eq!(ua.contains("iPad;"), r.device_model.starts_with("iPad"));
                assert!(r.os_version.starts_with("iOS "));
            } else if ua.contains("Android") && !ua.contains("Googlebot") {
                assert!(android.contains(r.device_model.as_str()), "{}", r.device_model);
                assert!(r.os_version.starts_with("Android "));
            } else if ua.contains("Windows NT") {
                assert_eq!(r.device_model, "-");
                assert!(r.os_version.starts_with("Windows "));
            }
            assert_eq!(r.carrier != "-", r.device_model != "-", "{ua} {}", r.carrier);
        }
    }

    #[test]
    fn methods_statuses_and_queries_follow_the_spec_mix() {
        let records = corpus();
        let get = share(records, |r| r.method == "GET");
        assert!((0.65..=0.75).contains(&get), "GET share {get}");
        let post = share(records, |r| r.method == "POST");
        assert!((0.15..=0.21).contains(&post), "POST share {post}");
        for method in ["PUT", "DELETE", "PATCH", "HEAD"] {
            assert!(records.iter().any(|r| r.method == method), "{method}");
        }
        let query = share(records, |r| r.path.contains('?'));
        assert!((0.27..=0.33).contains(&query), "query share {query}");
        for class in [2, 3, 4, 5] {
            let s = share(records, |r| r.status / 100 == class);
            assert!(s > 0.001, "{class}xx share {s}");
        }
        let ok = share(records, |r| r.status == 200);
        assert!((0.7..0.9).contains(&ok), "200 share {ok}");
        assert!(records
            .iter()
            .all(|r| r.status != 304 || matches!(r.method.as_str(), "GET" | "HEAD")));
        let params: HashSet<&str> = records
            .iter()
            .filter_map(|r| r.path.split_once('?'))
            .flat_map(|(_, q)| q.split('&'))
            .filter_map(|kv| kv.split_once('=').map(|(k, _)| k))
            .collect();
        let expected = ["token", "email", "q", "page", "utm_source", "ref", "lang", "sort"];
        assert_eq!(params, expected.into_iter().collect());
        assert!(records.iter().any(|r| r.path.contains("%40example.")));
    }

    #[test]
    fn user_agents_cover_browsers_bots_and_libraries() {
        let uas: HashSet<&str> = corpus().iter().map(|r| r.user_agent.as_str()).collect();
        assert!(uas.len() >= 40, "{} distinct user agents", uas.len());
        for needle in [
            "Firefox/",
            "Edg/",
            "OPR/",
            "SamsungBrowser/",
            "; wv)",
            "Instagram",
            "FB_IAB",
            "MicroMessenger",
            "Googlebot",
            "bingbot",
            "curl/",
            "python-requests/",
            "okhttp/",
            "iPad;",
            "CriOS/",
        ] {
            assert!(uas.iter().any(|ua| ua.contains(needle)), "{needle}");
        }
    }

    #[test]
    fn numbers_are_log_normal_ish() {
        let lines = generate(11, 20_000);
        let mut bytes = Vec::new();
        let mut durations = Vec::new();
        for line in &lines {
            let v: serde_json::Value = serde_json::from_slice(line).unwrap();
            let text = std::str::from_utf8(line).unwrap();
            let d = text.split("\"duration_ms\":").nth(1).unwrap().split(',').next().unwrap();
            assert_eq!(d.split('.').nth(1).map(str::len), Some(2), "two decimals: {d}");
            durations.push(v["duration_ms"].as_f64().unwrap());
            if v["status"] == 200 && v["method"] != "HEAD" {
                bytes.push(v["bytes"].as_u64().unwrap());
            }
        }
        bytes.sort_unstable();
        durations.sort_by(f64::total_cmp);
        let median_bytes = bytes[bytes.len() / 2];
        assert!((1_100..1_800).contains(&median_bytes), "median bytes {median_bytes}");
        assert!(bytes[bytes.len() * 99 / 100] > 10 * median_bytes, "heavy right tail");
        let median_ms = durations[durations.len() / 2];
        assert!((30.0..50.0).contains(&median_ms), "median duration {median_ms}");
        assert!(durations[0] > 0.0 && *durations.last().unwrap() <= MAX_DURATION_MS);
    }

    fn longest(table: &Weighted<&'static str>) -> &'static str {
        table.items.iter().map(|(s, _)| *s).max_by_key(|s| s.len()).unwrap()
    }

    fn shortest(table: &Weighted<&'static str>) -> &'static str {
        table.items.iter().map(|(s, _)| *s).min_by_key(|s| s.len()).unwrap()
    }

    fn rec(method: &'static str, template: &'static str, digits_max: bool) -> Rec {
        Rec {
            ts_ms: START_MS,
            method,
            template,
            ids: if digits_max { [9_999_999; 2] } else { [1_000; 2] },
            params: [Param::EMPTY; 3],
            n_params: 0,
            status: 503,
            bytes: if digits_max { MAX_BYTES as u64 } else { 0 },
            duration_centis: if digits_max { (MAX_DURATION_MS * 100.0) as u64 } else { 5 },
            referrer: Referrer::None,
        }
    }

    #[test]
    fn record_part_without_query_and_referrer_fits_the_session_budget() {
        let session = Session::EMPTY.clone();
        for (template, _) in PATH_TEMPLATES.items {
            let mut out = Vec::new();
            render(&session, &rec("DELETE", template, true), &mut out);
            let record_part = out.len() - session.part_len();
            assert!(record_part <= MAX_LINE_BYTES - MAX_SESSION_PART, "{template}: {record_part}");
        }
    }

    #[test]
    fn extreme_records_of_every_agent_are_fitted_into_range() {
        let mut rng = Rng::new(1);
        let long_ip = Ip::V6([0x2a02, 0x810d, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff]);
        let long_template =
            PATH_TEMPLATES.items.iter().map(|(t, _)| *t).max_by_key(|t| t.len()).unwrap();
        let long_params = [ParamKind::Token, ParamKind::Email, ParamKind::Q]
            .map(|kind| Param::new(kind, u64::MAX, u64::MAX));
        let short_params =
            [ParamKind::Page, ParamKind::Lang, ParamKind::Sort].map(|kind| Param::new(kind, 0, 0));
        for (agent, _) in AGENTS.items {
            let class = agent.class;
            let languages = || LOCALES.items.iter().map(|(l, _)| agent.accept_language(l));
            let long = Profile {
                user_agent: agent.ua,
                accept_language: languages().max_by_key(|l| l.len()).unwrap(),
                device_model: agent.model.unwrap_or(longest(class.models())),
                os_version: agent.os.unwrap_or(longest(class.os_versions())),
                carrier: if class.is_mobile() { longest(&CARRIERS) } else { "-" },
                app_version: if class == Class::Bot { "-" } else { longest(&APP_VERSIONS) },
            };
            let short = Profile {
                accept_language: languages().min_by_key(|l| l.len()).unwrap(),
                device_model: agent.model.unwrap_or(shortest(class.models())),
                os_version: agent.os.unwrap_or(shortest(class.os_versions())),
                carrier: if class.is_mobile() { "O2" } else { "-" },
                app_version: if class == Class::Bot { "-" } else { shortest(&APP_VERSIONS) },
                ..long
            };
            let mut session = Session::EMPTY.clone();
            let identity =
                Identity { ip: long_ip, user_no: 9_999_999_999, id: u128::MAX, device: [0xff; 16] };
            session.fill_within_budget(1, class, identity, long);
            let mut worst = rec("DELETE", long_template, true);
            worst.params = long_params;
            worst.n_params = 3;
            worst.referrer =
                Referrer::OwnSite { page: "/search?q=*", id: 9_999_999, words: u64::MAX };
            let mut out = Vec::new();
            fit(&session, &mut worst, &mut rng, &mut out);
            let range = MIN_LINE_BYTES..=MAX_LINE_BYTES;
            assert!(range.contains(&out.len()), "{}: {}", agent.ua, out.len());
            serde_json::from_slice::<serde_json::Value>(&out).unwrap();

            let identity = Identity {
                ip: Ip::V4([1, 1, 1, 1]),
                user_no: 1_000_000_000,
                id: 0,
                device: [0; 16],
            };
            session.fill_within_budget(1, class, identity, short);
            for params in [0, 3] {
                let mut least = rec("GET", "/", false);
                least.params = short_params;
                least.n_params = params;
                let mut out = Vec::new();
                fit(&session, &mut least, &mut rng, &mut out);
                assert!(range.contains(&out.len()), "{}: {}", agent.ua, out.len());
                serde_json::from_slice::<serde_json::Value>(&out).unwrap();
            }
        }
    }

    #[test]
    fn escaping_helper_round_trips_through_json() {
        let samples = [
            "plain",
            "a \"quoted\" word",
            "back\\slash",
            "new\nline\ttab\r",
            "\u{1}\u{1f} control",
            "0123456\"89abcdef\\",
            "",
            "ünïcödé",
        ];
        for s in samples {
            let mut out = b"\"".to_vec();
            push_escaped(&mut out, s);
            out.push(b'"');
            assert_eq!(serde_json::from_slice::<String>(&out).unwrap(), s);
        }
        // The 8-byte-at-a-time check agrees with the plain one everywhere.
        for b in 0..=255u8 {
            for at in 0..19 {
                let mut bytes = vec![b'a'; 19];
                bytes[at] = b;
                let naive = b == b'"' || b == b'\\' || b < 0x20;
                assert_eq!(needs_escape(&bytes), naive, "byte {b} at {at}");
            }
        }
        assert!(AGENTS.items.iter().all(|(a, _)| json_safe(a.ua)));
        assert!(!json_safe("a\"b") && !json_safe("a\\b") && !json_safe("\n") && json_safe(""));
    }

    #[test]
    fn small_helpers() {
        assert_eq!(up_to_comma("de-DE,de;q=0.9,en;q=0.6", 1), "de-DE");
        assert_eq!(up_to_comma("de-DE,de;q=0.9,en;q=0.6", 2), "de-DE,de;q=0.9");
        assert_eq!(up_to_comma("de-DE,de;q=0.9", 2), "de-DE,de;q=0.9");
        assert_eq!(up_to_comma("-", 1), "-");
        assert_eq!(up_to_comma("a,b", 0), "a,b");
        assert_eq!(choose(&[], 5), "-");
        assert_eq!(choose(&["x", "y"], 3), "y");
        assert_eq!(METHODS.pick(0), "GET");
        assert_eq!(METHODS.pick(u64::MAX), "HEAD");
        let mut out = Vec::new();
        push_template(&mut out, "/a/#/b/#.c", [12, 3_456], 0);
        push_hex_group(&mut out, 0x0a0);
        push_uuid(&mut out, &[0xab; 16]);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "/a/12/b/3456.ca0abababab-abab-abab-abab-abababababab"
        );
    }

    #[test]
    fn own_ln_and_exp_match_std_closely() {
        let mut rng = Rng::new(5);
        for _ in 0..10_000 {
            let x = rng.unit() * 50.0 + 1e-9;
            assert!((ln(x) - x.ln()).abs() <= 1e-12 * x.ln().abs().max(1.0), "ln {x}");
            let y = rng.unit() * 60.0 - 30.0;
            assert!((exp(y) - y.exp()).abs() <= 1e-12 * y.exp(), "exp {y}");
        }
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(exp(0.0), 1.0);
        assert!(ln(0.0).is_finite() && ln(-1.0).is_finite() && ln(f64::NAN) == 0.0);
        assert!(exp(1e9).is_finite() && exp(-1e9) >= 0.0 && exp(f64::NAN) == 1.0);
    }

    #[test]
    fn zipf_ranks_stay_in_range() {
        let zipf = Zipf::new(USER_POPULATION, ZIPF_EXPONENT, ZIPF_OFFSET);
        assert_eq!(zipf.rank(0.0), 1);
        assert_eq!(zipf.rank(1.0 - f64::EPSILON), USER_POPULATION as u64);
        let mut rng = Rng::new(3);
        let mut previous = 0;
        for i in 0..=1_000 {
            let rank = zipf.rank(f64::from(i) / 1_001.0);
            assert!(rank >= previous && rank <= USER_POPULATION as u64);
            previous = rank;
        }
        assert!((0..1_000).all(|_| (1..=80_000).contains(&zipf.rank(rng.unit()))));
    }
}
