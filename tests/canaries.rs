//! The canary sweep (issue 9): every shipped pipeline gets records with
//! unique canary values in every field, nested under every rule, in arrays,
//! as field names, as record keys and in odd encodings (`\u00xx` escapes,
//! full-width digits, percent-encoding), at least 30 shapes per pipeline.
//! They run through the engine with statistics (the `Anonymizer` the Kafka
//! service uses: outputs, output keys, dead letters, statistics rows) and
//! through the real binary (`logveil process --stats --dead-letter` with
//! trace logging: stdout, stderr log lines and summary, dead-letter and
//! statistics files). No canary, nor its recognisable parts (a phone's
//! digits, a card's leading digits, an email's local part), may appear in
//! any of them.
//!
//! A canary is only planted where a rule must remove it: a `keep` field
//! keeps a scalar by design, so it gets ordinary values, and canaries under
//! it sit inside objects and arrays (refused) or next to values that make
//! the record invalid.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use logveil::actions::generalize_location::GeneralizeLocationConfig;
use logveil::actions::pseudonymize::PseudonymizeConfig;
use logveil::actions::redact::action::RedactConfig;
use logveil::actions::url::{UrlConfig, UrlKeep};
use logveil::anonymizer::Anonymizer;
use logveil::dead_letter::{DeadLetter, DeadLetterSource};
use logveil::keys::KeyStore;
use logveil::pipeline::set::{pipeline_files, rings_of};
use logveil::pipeline::spec::{ActionSpec, Format};
use logveil::pipeline::{Pipeline, PipelineSet};
use logveil::processor::{Disposition, OutputKind, RecordProcessor, SourceRecord};

const TS: &str = "2024-05-14T08:17:42Z";

// ------------------------------------------------------------ canaries

/// One text that must never appear in any output channel.
#[derive(Debug, Clone)]
struct Needle {
    /// Lower-cased (outputs are searched lower-cased).
    text: String,
    /// Only a match not touching other digits counts (IP addresses).
    digit_bounded: bool,
}

#[derive(Debug)]
struct Canary {
    shape: &'static str,
    needles: Vec<Needle>,
}

/// One input record (or log line) with its Kafka key.
#[derive(Debug, Clone)]
struct Input {
    shape: &'static str,
    key: Option<Vec<u8>>,
    payload: Option<Vec<u8>>,
}

/// A JSON value written as text, so shapes control escapes, duplicates
/// and layout.
#[derive(Debug, Clone)]
enum J {
    /// A string (escaped on rendering according to the style).
    Str(String),
    /// Raw JSON text.
    Raw(String),
    /// Members in order; keys are raw key text (without quotes).
    Obj(Vec<(String, J)>),
    /// Elements.
    Arr(Vec<J>),
}

#[derive(Debug, Clone, Copy, Default)]
struct Style {
    escape_values: bool,
    escape_keys: bool,
    pretty: bool,
}

/// Every character as a `\uXXXX` escape (surrogate pairs beyond the BMP).
fn escape_all(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let mut buf = [0u16; 2];
        for unit in c.encode_utf16(&mut buf) {
            out.push_str(&format!("\\u{unit:04x}"));
        }
    }
    out
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

fn render(j: &J, style: Style, depth: usize, out: &mut String) {
    let nl = |out: &mut String, d: usize| {
        if style.pretty {
            out.push('\n');
            out.push_str(&"  ".repeat(d));
        }
    };
    match j {
        J::Str(s) if style.escape_values => {
            out.push('"');
            out.push_str(&escape_all(s));
            out.push('"');
        }
        J::Str(s) => out.push_str(&json_str(s)),
        J::Raw(r) => out.push_str(r),
        J::Obj(members) => {
            out.push('{');
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                nl(out, depth + 1);
                out.push('"');
                if style.escape_keys {
                    out.push_str(&escape_all(k));
                } else {
                    out.push_str(k);
                }
                out.push_str(if style.pretty { "\" : " } else { "\":" });
                render(v, style, depth + 1, out);
            }
            nl(out, depth);
            out.push('}');
        }
        J::Arr(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                render(v, style, depth + 1, out);
            }
            out.push(']');
        }
    }
}

/// Sets `path` (dotted) in an object, creating levels in order.
fn set(members: &mut Vec<(String, J)>, path: &[&str], v: J) {
    let (first, rest) = path.split_first().unwrap();
    if rest.is_empty() {
        members.push((first.to_string(), v));
        return;
    }
    if let Some((_, J::Obj(sub))) = members.iter_mut().find(|(k, _)| k == first) {
        set(sub, rest, v);
        return;
    }
    let mut sub = Vec::new();
    set(&mut sub, rest, v);
    members.push((first.to_string(), J::Obj(sub)));
}

fn full_width(digits: &str) -> String {
    digits
        .chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32(0xff10 + d).unwrap(),
            None => c,
        })
        .collect()
}

fn percent_all(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// GB 11643 check character (an independent implementation).
fn cn_id(body17: &str) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body17.bytes().zip(W).map(|(d, w)| u32::from(d - b'0') * w).sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body17}{check}")
}

/// Appends the Luhn check digit.
fn luhn(payload: &str) -> String {
    let sum: u32 = payload
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    format!("{payload}{}", (10 - sum % 10) % 10)
}

/// Builds the inputs of one pipeline and remembers its canaries.
struct Sweep<'p> {
    pipe: &'p Pipeline,
    base: u32,
    next: u32,
    shape: &'static str,
    canaries: Vec<Canary>,
    inputs: Vec<Input>,
}

impl<'p> Sweep<'p> {
    fn new(pipe: &'p Pipeline, index: usize) -> Self {
        Sweep {
            pipe,
            base: index as u32 * 100_000,
            next: 0,
            shape: "",
            canaries: Vec::new(),
            inputs: Vec::new(),
        }
    }

    fn u(&mut self) -> u32 {
        self.next += 1;
        assert!(self.next < 100_000);
        self.base + self.next
    }

    fn forbid(&mut self, texts: &[String], digit_bounded: bool) {
        let needles =
            texts.iter().map(|t| Needle { text: t.to_lowercase(), digit_bounded }).collect();
        self.canaries.push(Canary { shape: self.shape, needles });
    }

    /// `cnry0100023q`: forbidden without its last letter.
    fn word(&mut self) -> String {
        let u = self.u();
        self.forbid(&[format!("cnry{u:07}")], false);
        format!("cnry{u:07}q")
    }

    /// A mainland China mobile number; its last 8 digits are forbidden too,
    /// in ASCII and full-width digits.
    fn phone(&mut self) -> String {
        let u = self.u();
        let tail = format!("{:08}", 37_000_000 + u);
        let phone = format!("139{tail}");
        self.forbid(&[phone.clone(), tail.clone(), full_width(&tail)], false);
        phone
    }

    fn email(&mut self) -> String {
        let w = self.word();
        format!("{w}.wang@example.com")
    }

    fn ipv4(&mut self) -> String {
        let u = self.u();
        let ip = format!("10.{}.{}.{}", 100 + u / 10_000 % 100, 100 + u / 100 % 100, 100 + u % 100);
        self.forbid(std::slice::from_ref(&ip), true);
        ip
    }

    /// A Luhn-valid 16-digit card; all but its last 4 digits are forbidden.
    fn card(&mut self) -> String {
        let u = self.u();
        let head = format!("6288{u:08}");
        self.forbid(std::slice::from_ref(&head), false);
        luhn(&format!("{head}432"))
    }

    /// A valid China resident ID (checksum and birth date).
    fn cn_id(&mut self) -> String {
        let u = self.u();
        let id = cn_id(&format!("11{:04}19491231{:03}", u / 1000 % 10_000, u % 1000));
        self.forbid(&[id.clone(), id[..17].to_string()], false);
        id
    }

    fn number(&mut self) -> String {
        let u = self.u();
        let n = format!("{}.{u:07}", 20 + u % 60);
        self.forbid(std::slice::from_ref(&n), false);
        n
    }

    fn user_agent(&mut self) -> String {
        let w = self.word().to_uppercase();
        format!("Mozilla/5.0 (Linux; Android 14; {w}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36")
    }

    /// A free text with one hit per configured detector.
    fn free_text(&mut self, spec: &ActionSpec) -> String {
        let ActionSpec::Redact(RedactConfig { detectors }) = spec else { unreachable!() };
        let names: Vec<&str> = detectors.iter().map(|d| d.name()).collect();
        let mut text = String::from("Hello, please help:");
        if names.contains(&"email") {
            text.push_str(&format!(" mail {} ", self.email()));
        }
        if names.contains(&"phone") {
            text.push_str(&format!(" call {} or +86 {} ", self.phone(), self.phone()));
        }
        if names.contains(&"cn_id") {
            text.push_str(&format!(" ID {} ", self.cn_id()));
        }
        if names.contains(&"card") {
            text.push_str(&format!(" card {} ", self.card()));
        }
        if names.contains(&"ip") {
            text.push_str(&format!(" from {} ", self.ipv4()));
        }
        if names.contains(&"credentials") {
            let w = self.word();
            text.push_str(&format!(" see https://admin:{w}@intranet.example.com/x "));
        }
        text
    }

    /// A value the rule must remove or transform beyond recognition (or an
    /// ordinary value for `keep`, which keeps scalars by design).
    fn personal(&mut self, path: &str, spec: &ActionSpec) -> J {
        match spec {
            ActionSpec::Keep(_) => J::Str("chat".into()),
            ActionSpec::KeepSubtree(_) => J::Raw("{\"a\":1}".into()),
            ActionSpec::Drop(_) => J::Str(self.word()),
            ActionSpec::TruncateIp(_) | ActionSpec::PseudonymizeIp(_) => J::Str(self.ipv4()),
            ActionSpec::Pseudonymize(PseudonymizeConfig { keep_domain: true, .. }) => {
                J::Str(self.email())
            }
            ActionSpec::Pseudonymize(_) => {
                J::Str(if path.contains("phone") || path.contains("mobile") {
                    self.phone()
                } else if path.contains("id_number") {
                    self.cn_id()
                } else if path.contains("email") || path.contains("account") {
                    self.email()
                } else {
                    self.word()
                })
            }
            ActionSpec::Mask(_) => J::Str(self.card()),
            ActionSpec::CoarsenTime(_) => J::Str(TS.into()),
            ActionSpec::Url(UrlConfig { keep: UrlKeep::Path, .. }) => {
                let (t, e) = (self.word(), self.email());
                J::Str(format!(
                    "/shop/item/4411?token={t}&email={}&page=2#{}",
                    e.replace('@', "%40"),
                    self.word()
                ))
            }
            ActionSpec::Url(_) => {
                let (p, q, f, c) = (self.word(), self.word(), self.word(), self.word());
                J::Str(format!("https://{c}:pw@www.example.com/search/{p}?q={q}#{f}"))
            }
            ActionSpec::ReduceUserAgent(_) => J::Str(self.user_agent()),
            ActionSpec::Redact(_) => J::Str(self.free_text(spec)),
            ActionSpec::Bucket(_) => J::Raw(self.number()),
            ActionSpec::GeneralizeLocation(GeneralizeLocationConfig { keep }) => {
                let mut members: Vec<(String, J)> =
                    keep.iter().map(|l| (l.clone(), J::Str(format!("level-{l}")))).collect();
                members.insert(1.min(members.len()), ("street".into(), J::Str(self.word())));
                members.push(("postcode".into(), J::Str(self.word())));
                members.push(("geo".into(), J::Raw(format!("[{}]", self.number()))));
                J::Obj(members)
            }
            ActionSpec::Language(_) => J::Str(format!("{},de;q=0.9", self.word())),
        }
    }

    fn rules(&self) -> Vec<(String, ActionSpec)> {
        self.pipe.rules.iter().map(|r| (r.path.clone(), r.spec.clone())).collect()
    }

    /// A key canary in one of several encodings.
    fn key(&mut self) -> Vec<u8> {
        match self.next % 5 {
            0 => self.word().into_bytes(),
            1 => self.phone().into_bytes(),
            2 => {
                let p = self.phone();
                full_width(&p).into_bytes()
            }
            3 => {
                let e = self.email();
                percent_all(&e).into_bytes()
            }
            _ => {
                let mut k = self.word().into_bytes();
                k.extend_from_slice(b"\xff\x00");
                k
            }
        }
    }

    fn push(&mut self, payload: Option<Vec<u8>>) {
        let key = Some(self.key());
        self.inputs.push(Input { shape: self.shape, key, payload });
    }

    fn push_json(&mut self, members: Vec<(String, J)>, style: Style) {
        let mut text = String::new();
        render(&J::Obj(members), style, 0, &mut text);
        self.push(Some(text.into_bytes()));
    }

    /// A record with every rule's personal value, `over` replacing the
    /// value of some rules (`None` leaves the field out).
    fn record(
        &mut self,
        mut over: impl FnMut(&mut Self, &str, &ActionSpec) -> Option<Option<J>>,
    ) -> Vec<(String, J)> {
        let mut members = Vec::new();
        for (path, spec) in self.rules() {
            let v = match over(self, &path, &spec) {
                Some(v) => v,
                None => Some(self.personal(&path, &spec)),
            };
            if let Some(v) = v {
                let segs: Vec<&str> = path.split('.').collect();
                set(&mut members, &segs, v);
            }
        }
        members
    }

    fn plain(&mut self) -> Vec<(String, J)> {
        self.record(|_, _, _| None)
    }

    /// One record per rule with `wrap` applied to that rule's value.
    fn per_rule(&mut self, shape: &'static str, wrap: fn(&mut Self, &ActionSpec, J) -> J) {
        self.shape = shape;
        for (i, (target, _)) in self.rules().iter().enumerate() {
            let members = self.record(|s, path, spec| {
                (path == target).then(|| {
                    let v = s.personal(path, spec);
                    Some(wrap(s, spec, v))
                })
            });
            let style = Style { pretty: i % 3 == 0, ..Style::default() };
            self.push_json(members, style);
        }
    }

    /// Paths of nested levels (`order` for `order.amount`).
    fn levels(&self) -> Vec<String> {
        let mut levels = BTreeSet::new();
        for (path, spec) in self.rules() {
            let segs: Vec<&str> = path.split('.').collect();
            for i in 1..segs.len() {
                levels.insert(segs[..i].join("."));
            }
            if matches!(spec, ActionSpec::GeneralizeLocation(_)) {
                levels.insert(path.clone());
            }
        }
        levels.into_iter().collect()
    }

    fn has(&self, f: impl Fn(&ActionSpec) -> bool) -> bool {
        self.pipe.rules.iter().any(|r| f(&r.spec))
    }

    /// Every JSON shape.
    fn json_shapes(&mut self) {
        self.shape = "every_rule_plain";
        for _ in 0..6 {
            let m = self.plain();
            self.push_json(m, Style::default());
        }
        self.shape = "every_rule_pretty";
        let m = self.plain();
        self.push_json(m, Style { pretty: true, ..Style::default() });
        self.shape = "values_unicode_escaped";
        let m = self.plain();
        self.push_json(m, Style { escape_values: true, ..Style::default() });
        self.shape = "keys_unicode_escaped";
        let m = self.plain();
        self.push_json(m, Style { escape_keys: true, ..Style::default() });
        self.shape = "keys_and_values_escaped";
        let m = self.plain();
        self.push_json(m, Style { escape_keys: true, escape_values: true, pretty: true });

        self.per_rule("object_under_rule", |s, _, v| {
            J::Obj(vec![("v".into(), v), ("w".into(), J::Str(s.word()))])
        });
        self.per_rule("array_under_rule", |s, _, v| J::Arr(vec![v, J::Str(s.word())]));
        self.per_rule("array_of_objects_under_rule", |s, _, v| {
            J::Arr(vec![
                J::Obj(vec![("id".into(), v)]),
                J::Obj(vec![("id".into(), J::Str(s.phone()))]),
            ])
        });
        self.per_rule("canary_field_name_under_rule", |s, _, _| {
            let (a, b) = (s.word(), s.phone());
            J::Obj(vec![(a, J::Raw("1".into())), (b, J::Str("x".into()))])
        });
        self.per_rule("empty_containers_and_canary_sibling", |_, _, _| J::Raw("[]".into()));
        // A scalar `keep` keeps numbers by design: only other rules get one.
        self.per_rule("numbers_for_values", |s, spec, v| match (spec, v) {
            (ActionSpec::Keep(_), v) => v,
            (_, J::Str(_) | J::Raw(_)) => J::Raw(s.phone()),
            (_, other) => other,
        });

        // Each rule's field twice: the second copy is a canary.
        self.shape = "duplicate_rule_field";
        for (target, spec) in self.rules() {
            let mut members = self.plain();
            let v = self.personal(&target, &spec);
            let segs: Vec<&str> = target.split('.').collect();
            set(&mut members, &segs, v);
            self.push_json(members, Style::default());
        }

        self.shape = "unlisted_field_canary_value";
        for _ in 0..2 {
            let mut m = self.plain();
            let (w, p) = (self.word(), self.phone());
            m.insert(1, ("remark".into(), J::Str(w)));
            m.push(("contact".into(), J::Str(p)));
            self.push_json(m, Style::default());
        }
        self.shape = "unlisted_field_canary_name";
        for style in [Style::default(), Style { escape_keys: true, ..Style::default() }] {
            let mut m = self.plain();
            let (a, b, c) = (self.cn_id(), self.phone(), self.email());
            m.insert(0, (a, J::Str("x".into())));
            m.push((b, J::Raw("1".into())));
            m.push((c, J::Obj(vec![("k".into(), J::Str("v".into()))])));
            self.push_json(m, style);
        }
        self.shape = "unlisted_canary_name_twice";
        let mut m = self.plain();
        let a = self.word();
        m.push((a.clone(), J::Raw("1".into())));
        m.push((a, J::Raw("2".into())));
        self.push_json(m, Style::default());

        self.shape = "canary_names_in_nested_levels";
        for level in self.levels() {
            let mut m = self.plain();
            let (w, p) = (self.word(), self.phone());
            let segs: Vec<&str> = level.split('.').collect();
            let mut with_name = segs.clone();
            with_name.push(&w);
            set(&mut m, &with_name, J::Str(p));
            self.push_json(m, Style::default());
        }

        self.shape = "nested_levels_as_scalars_and_arrays";
        for level in self.levels() {
            let m = self.record(|_, path, _| {
                (path.starts_with(&format!("{level}.")) || path == level).then_some(None)
            });
            let mut m2 = m.clone();
            let w = self.word();
            m2.push((level.clone(), J::Str(w)));
            self.push_json(m2, Style::default());
            let mut m3 = m;
            let p = self.phone();
            m3.push((level.clone(), J::Arr(vec![J::Obj(vec![("x".into(), J::Str(p))])])));
            self.push_json(m3, Style::default());
        }

        self.shape = "full_width_digits";
        let m = self.record(|s, path, spec| match spec {
            ActionSpec::Pseudonymize(_) | ActionSpec::Drop(_) => {
                Some(Some(J::Str(full_width(&s.phone()))))
            }
            ActionSpec::Redact(_) => {
                s.shape = "redact_full_width_digits";
                let (a, b) = (s.phone(), s.cn_id());
                s.shape = "full_width_digits";
                Some(Some(J::Str(format!("call {} or ID {}", full_width(&a), full_width(&b)))))
            }
            _ => {
                let _ = path;
                None
            }
        });
        self.push_json(m, Style::default());

        self.shape = "percent_encoded";
        let m = self.record(|s, _, spec| match spec {
            ActionSpec::Pseudonymize(_) | ActionSpec::Drop(_) => {
                Some(Some(J::Str(percent_all(&s.email()))))
            }
            ActionSpec::Url(UrlConfig { keep: UrlKeep::Path, .. }) => {
                let (a, b) = (s.word(), s.email());
                Some(Some(J::Str(format!(
                    "/search?token={}&email={}",
                    percent_all(&a),
                    percent_all(&b)
                ))))
            }
            ActionSpec::Redact(_) => {
                s.shape = "redact_percent_encoded";
                let e = s.email();
                s.shape = "percent_encoded";
                Some(Some(J::Str(format!("mail {}", e.replace('@', "%40")))))
            }
            _ => None,
        });
        self.push_json(m, Style::default());

        self.shape = "quotes_and_backslashes";
        let m = self.record(|s, _, spec| match spec {
            ActionSpec::Pseudonymize(_) | ActionSpec::Drop(_) => {
                Some(Some(J::Str(format!("\"{}\\\\{}\"\n\t", s.word(), s.phone()))))
            }
            // Free text keeps what no detector finds: plant detectable values.
            ActionSpec::Redact(_) => {
                Some(Some(J::Str(format!("\"{}\"\\{}\n\t", s.email(), s.phone()))))
            }
            _ => None,
        });
        self.push_json(m, Style::default());

        self.shape = "nulls_everywhere";
        let m = self.record(|_, _, _| Some(Some(J::Raw("null".into()))));
        self.push_json(m, Style::default());

        self.shape = "lone_surrogate_in_kept_field";
        let m = self.record(|s, _, spec| match spec {
            ActionSpec::Keep(_) => Some(Some(J::Raw(format!("\"\\ud800{}\"", s.word())))),
            _ => None,
        });
        if self.has(|a| matches!(a, ActionSpec::Keep(_))) {
            self.push_json(m, Style::default());
        }
        self.shape = "out_of_range_number_in_kept_field";
        let m = self.record(|_, _, spec| {
            matches!(spec, ActionSpec::Keep(_)).then(|| Some(J::Raw("1e400".into())))
        });
        if self.has(|a| matches!(a, ActionSpec::Keep(_))) {
            self.push_json(m, Style::default());
        }
        self.shape = "lone_surrogate_in_unlisted_field";
        let mut m = self.plain();
        let w = self.word();
        m.push(("note".into(), J::Raw(format!("\"{w}\\udc00\""))));
        self.push_json(m, Style::default());

        self.shape = "truncated_json";
        for cut in [0.3, 0.6, 0.95] {
            let mut text = String::new();
            let m = self.plain();
            render(&J::Obj(m), Style::default(), 0, &mut text);
            let mut at = (text.len() as f64 * cut) as usize;
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text.truncate(at);
            self.push(Some(text.into_bytes()));
        }
        self.shape = "invalid_utf8";
        let mut text = String::new();
        let m = self.plain();
        render(&J::Obj(m), Style::default(), 0, &mut text);
        let mut bytes = text.into_bytes();
        let at = bytes.len() / 2;
        bytes.insert(at, 0xff);
        self.push(Some(bytes));

        self.shape = "not_an_object";
        let (a, b) = (self.email(), self.phone());
        self.push(Some(format!("[{},{}]", json_str(&a), b).into_bytes()));
        let c = self.word();
        self.push(Some(json_str(&c).into_bytes()));

        self.shape = "too_deep";
        let w = self.word();
        let deep = format!("{{\"x\":{}{}{}}}", "[".repeat(40), json_str(&w), "]".repeat(40));
        self.push(Some(deep.into_bytes()));
        let mut m = self.plain();
        let p = self.phone();
        let mut nested = J::Str(p);
        for _ in 0..40 {
            nested = J::Obj(vec![("n".into(), nested)]);
        }
        m.push(("extra".into(), nested));
        self.push_json(m, Style::default());

        self.shape = "too_large";
        let mut m = self.plain();
        let filler = self.word().repeat(100_000);
        m.push(("blob".into(), J::Str(filler)));
        self.push_json(m, Style::default());

        self.shape = "whitespace_padded";
        let mut text = String::from(" \t\r\n ");
        let m = self.plain();
        render(&J::Obj(m), Style { pretty: true, ..Style::default() }, 0, &mut text);
        text.push_str("\n\t ");
        self.push(Some(text.into_bytes()));

        self.shape = "trailing_garbage";
        let mut text = String::new();
        let m = self.plain();
        render(&J::Obj(m), Style::default(), 0, &mut text);
        let w = self.word();
        text.push_str(&format!(" {w}"));
        self.push(Some(text.into_bytes()));

        self.shape = "byte_order_mark";
        let mut text = String::from("\u{feff}");
        let m = self.plain();
        render(&J::Obj(m), Style::default(), 0, &mut text);
        self.push(Some(text.into_bytes()));

        self.shape = "upper_case_values";
        let m = self.record(|s, path, spec| match spec {
            ActionSpec::Keep(_) | ActionSpec::CoarsenTime(_) => None,
            _ => Some(Some(match s.personal(path, spec) {
                J::Str(v) => J::Str(v.to_uppercase()),
                other => other,
            })),
        });
        self.push_json(m, Style::default());

        self.shape = "empty_and_tombstone";
        self.push(Some(b"   ".to_vec()));
        self.push(None);

        self.shape = "generalize_location_level_as_container";
        for (path, spec) in self.rules() {
            let ActionSpec::GeneralizeLocation(GeneralizeLocationConfig { keep }) = &spec else {
                continue;
            };
            for level in keep {
                let (w, p) = (self.word(), self.phone());
                let m = self.record(|_, rp, _| {
                    (rp == path).then(|| {
                        Some(J::Obj(vec![(
                            level.clone(),
                            J::Obj(vec![
                                ("street".into(), J::Str(w.clone())),
                                ("tel".into(), J::Str(p.clone())),
                            ]),
                        )]))
                    })
                });
                self.push_json(m, Style::default());
            }
        }
        self.shape = "generalize_location_level_repeated";
        for (path, spec) in self.rules() {
            let ActionSpec::GeneralizeLocation(GeneralizeLocationConfig { keep }) = &spec else {
                continue;
            };
            for level in keep {
                let w = self.word();
                let m = self.record(|_, rp, _| {
                    (rp == path).then(|| {
                        Some(J::Obj(vec![
                            (level.clone(), J::Str("Shenzhen".into())),
                            (level.replace('c', "\\u0063"), J::Str(w.clone())),
                        ]))
                    })
                });
                self.push_json(m, Style::default());
            }
        }

        // Shapes fixed on the privacy-actions branch.
        self.shape = "url_path_segment_identifiers";
        if self.has(|a| matches!(a, ActionSpec::Url(UrlConfig { keep: UrlKeep::Path, .. }))) {
            let m = self.record(|s, _, spec| match spec {
                ActionSpec::Url(UrlConfig { keep: UrlKeep::Path, .. }) => {
                    let (e, p) = (s.email(), s.phone());
                    Some(Some(J::Str(format!("/api/v1/users/{e}/orders/{p}"))))
                }
                _ => None,
            });
            self.push_json(m, Style::default());
        }
        self.shape = "url_matrix_and_encoded_query";
        if self.has(|a| matches!(a, ActionSpec::Url(UrlConfig { keep: UrlKeep::Path, .. }))) {
            let m = self.record(|s, _, spec| match spec {
                ActionSpec::Url(UrlConfig { keep: UrlKeep::Path, .. }) => {
                    let (a, b) = (s.word(), s.word());
                    Some(Some(J::Str(format!("/shop;jsessionid={a}/cart/a%3Ftoken={b}&page=2"))))
                }
                _ => None,
            });
            self.push_json(m, Style::default());
        }
        self.shape = "url_allowed_param_personal_value";
        if self.has(|a| matches!(a, ActionSpec::Url(UrlConfig { keep: UrlKeep::Path, keep_params }) if !keep_params.is_empty())) {
            let m = self.record(|s, _, spec| match spec {
                ActionSpec::Url(UrlConfig { keep: UrlKeep::Path, keep_params }) if !keep_params.is_empty() => {
                    let e = s.email();
                    Some(Some(J::Str(format!("/list?{}={e}", keep_params[0]))))
                }
                _ => None,
            });
            self.push_json(m, Style::default());
        }
        self.shape = "referrer_ip_literal_host";
        if self.has(|a| matches!(a, ActionSpec::Url(UrlConfig { keep: UrlKeep::Origin, .. }))) {
            let m = self.record(|s, _, spec| match spec {
                ActionSpec::Url(UrlConfig { keep: UrlKeep::Origin, .. }) => {
                    Some(Some(J::Str(format!("http://{}:8080/internal", s.ipv4()))))
                }
                _ => None,
            });
            self.push_json(m, Style::default());
        }
        self.shape = "ipv4_embedded_in_ipv6";
        if self.has(|a| matches!(a, ActionSpec::TruncateIp(_))) {
            let m = self.record(|s, _, spec| match spec {
                ActionSpec::TruncateIp(_) => Some(Some(J::Str(s.six_to_four()))),
                _ => None,
            });
            self.push_json(m, Style::default());
        }
        self.shape = "mask_with_trailing_cvv";
        if self.has(|a| matches!(a, ActionSpec::Mask(_))) {
            let m = self.record(|s, _, spec| match spec {
                ActionSpec::Mask(_) => {
                    // Masking the whole value would show the expiry's last
                    // digit and the CVV instead of the card's last 4.
                    let u = s.u();
                    let cvv = format!("{}", 100 + u % 900);
                    s.forbid(&[format!("*9{cvv}\"")], false);
                    Some(Some(J::Str(format!("{}|12/29|{cvv}", s.card()))))
                }
                _ => None,
            });
            self.push_json(m, Style::default());
        }
        self.shape = "keep_domain_personal_domain";
        if self.has(|a| {
            matches!(a, ActionSpec::Pseudonymize(PseudonymizeConfig { keep_domain: true, .. }))
        }) {
            let m = self.record(|s, _, spec| match spec {
                ActionSpec::Pseudonymize(PseudonymizeConfig { keep_domain: true, .. }) => {
                    let (w, p) = (s.word(), s.phone());
                    Some(Some(J::Str(format!("x@alice-{w}-{p}.example.com"))))
                }
                _ => None,
            });
            self.push_json(m, Style::default());
        }
        self.shape = "stats_path_template_identifiers";
        if self.has(|a| matches!(a, ActionSpec::Url(UrlConfig { keep: UrlKeep::Path, .. }))) {
            let (e, p) = (self.email(), self.phone());
            for _ in 0..6 {
                let e = e.clone();
                let p = p.clone();
                let m = self.record(move |_, _, spec| match spec {
                    ActionSpec::Url(UrlConfig { keep: UrlKeep::Path, .. }) => {
                        Some(Some(J::Str(format!("/api/v1/users/{e}/orders/{p}"))))
                    }
                    ActionSpec::Keep(_) => None,
                    _ => None,
                });
                self.push_json(m, Style::default());
            }
        }
    }

    /// A 6to4 address embedding a canary IPv4 (`2002:AABB:CCDD::1`).
    fn six_to_four(&mut self) -> String {
        let ip = self.ipv4();
        let o: Vec<u32> = ip.split('.').map(|x| x.parse().unwrap()).collect();
        let (hi, lo) = (o[0] << 8 | o[1], o[2] << 8 | o[3]);
        // The embedded address in the compressed hex an output would show.
        self.forbid(&[format!("2002:{hi:x}:{lo:x}")], false);
        format!("2002:{hi:x}:{lo:x}::1")
    }

    /// Combined log lines.
    fn clf_line(
        &mut self,
        ip: &str,
        user: &str,
        request: &str,
        referrer: &str,
        ua: &str,
    ) -> Vec<u8> {
        format!("{ip} - {user} [14/May/2024:08:17:42 +0200] \"{request}\" 200 1156 \"{referrer}\" \"{ua}\"")
            .into_bytes()
    }

    fn clf_shapes(&mut self) {
        self.shape = "clf_every_field";
        for _ in 0..6 {
            let (ip, user, t, r, ua) =
                (self.ipv4(), self.word(), self.word(), self.word(), self.user_agent());
            let line = self.clf_line(
                &ip,
                &user,
                &format!("GET /shop/item/4411?token={t}&page=2 HTTP/1.1"),
                &format!("https://www.google.com/search?q={r}"),
                &ua,
            );
            self.push(Some(line));
        }
        self.shape = "clf_ident_and_email_user";
        let (ip, id, e) = (self.ipv4(), self.word(), self.email());
        let line = format!(
            "{ip} {id} {e} [14/May/2024:08:17:42 +0200] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\""
        );
        self.push(Some(line.into_bytes()));
        self.shape = "clf_phone_user_full_width";
        let (ip, p) = (self.ipv4(), self.phone());
        let line = self.clf_line(&ip, &full_width(&p), "GET / HTTP/1.1", "-", "curl/8.0");
        self.push(Some(line));
        self.shape = "clf_user_percent_encoded";
        let (ip, e) = (self.ipv4(), self.email());
        let line = self.clf_line(&ip, &percent_all(&e), "GET / HTTP/1.1", "-", "curl/8.0");
        self.push(Some(line));
        self.shape = "clf_escaped_quotes_in_fields";
        let (ip, a, b) = (self.ipv4(), self.word(), self.word());
        let line = self.clf_line(
            &ip,
            "-",
            "GET /x HTTP/1.1",
            &format!("https://ex.com/?q=\\\"{a}\\\""),
            &format!("Mozilla/5.0 \\x22{b}\\x22"),
        );
        self.push(Some(line));
        self.shape = "clf_referrer_credentials_path_fragment";
        let (ip, c, pw, p, f) = (self.ipv4(), self.word(), self.word(), self.word(), self.word());
        let line = self.clf_line(
            &ip,
            "-",
            "GET / HTTP/1.1",
            &format!("https://{c}:{pw}@www.example.com/{p}#{f}"),
            "curl/8.0",
        );
        self.push(Some(line));
        self.shape = "clf_path_fragment_and_email_param";
        let (ip, f, e) = (self.ipv4(), self.word(), self.email());
        let line = self.clf_line(
            &ip,
            "-",
            &format!("GET /a?email={}#{f} HTTP/1.1", e.replace('@', "%40")),
            "-",
            "curl/8.0",
        );
        self.push(Some(line));
        self.shape = "clf_request_without_protocol";
        let (ip, t) = (self.ipv4(), self.word());
        let line = self.clf_line(&ip, "-", &format!("GET /a?token={t}"), "-", "curl/8.0");
        self.push(Some(line));
        self.shape = "clf_truncated_line";
        let (ip, u) = (self.ipv4(), self.word());
        self.push(Some(format!("{ip} - {u} [14/May/2024:08:17").into_bytes()));
        self.shape = "clf_status_not_a_number";
        let (ip, w) = (self.ipv4(), self.word());
        let line =
            format!("{ip} - - [14/May/2024:08:17:42 +0200] \"GET / HTTP/1.1\" {w} 1 \"-\" \"-\"");
        self.push(Some(line.into_bytes()));
        self.shape = "clf_bad_time";
        let (ip, w) = (self.ipv4(), self.word());
        let line = format!("{ip} - - [{w}] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"");
        self.push(Some(line.into_bytes()));
        self.shape = "clf_invalid_utf8";
        let (ip, w) = (self.ipv4(), self.word());
        let mut line = self.clf_line(&ip, &w, "GET / HTTP/1.1", "-", "curl/8.0");
        line.insert(5, 0xfe);
        self.push(Some(line));
        self.shape = "clf_json_instead_of_line";
        let (p, e) = (self.phone(), self.email());
        self.push(Some(format!("{{\"user\":\"{e}\",\"phone\":\"{p}\"}}").into_bytes()));
        self.shape = "clf_trailing_fields";
        let (ip, a, b) = (self.ipv4(), self.word(), self.phone());
        let mut line = self.clf_line(&ip, "-", "GET / HTTP/1.1", "-", "curl/8.0");
        line.extend_from_slice(format!(" \"{a}\" {b}").as_bytes());
        self.push(Some(line));
        self.shape = "clf_crlf_and_tabs";
        let (ip, u) = (self.ipv4(), self.word());
        let mut line = self.clf_line(&ip, &u, "GET /\ta HTTP/1.1", "-", "curl\t8");
        line.extend_from_slice(b"\r\n");
        self.push(Some(line));
        self.shape = "clf_empty_and_tombstone";
        self.push(Some(Vec::new()));
        self.push(None);
        self.shape = "clf_too_large";
        let (ip, w) = (self.ipv4(), self.word());
        let line =
            self.clf_line(&ip, "-", &format!("GET /?q={} HTTP/1.1", w.repeat(100_000)), "-", "x");
        self.push(Some(line));
        self.shape = "clf_ipv6_client";
        let u = self.u();
        let v6 = format!("2a02:810d:9f:3a::{:x}", 0x1000 + u % 0xe000);
        self.forbid(std::slice::from_ref(&v6), false);
        let line = self.clf_line(&v6, "-", "GET / HTTP/1.1", "-", "curl/8.0");
        self.push(Some(line));
        self.shape = "clf_bad_ip";
        let w = self.word();
        let line = self.clf_line(&w, "-", "GET / HTTP/1.1", "-", "curl/8.0");
        self.push(Some(line));
        self.shape = "clf_language_free_ua_and_bot";
        let (ip, w) = (self.ipv4(), self.word());
        let line = self.clf_line(
            &ip,
            "-",
            "GET / HTTP/1.1",
            "-",
            &format!("Googlebot/2.1 (+http://www.google.com/bot.html; {w})"),
        );
        self.push(Some(line));
        self.shape = "clf_many_params";
        let (ip, a, b, c) = (self.ipv4(), self.word(), self.phone(), self.email());
        let line = self.clf_line(
            &ip,
            "-",
            &format!("POST /login?user={a}&tel={b}&mail={c}&sort=asc&lang=de HTTP/2.0"),
            "-",
            "x",
        );
        self.push(Some(line));
        self.shape = "clf_unicode_escapes_in_quoted";
        let (ip, w) = (self.ipv4(), self.word());
        let line = self.clf_line(
            &ip,
            "-",
            &format!("GET /?q={} HTTP/1.1", escape_all(&w)),
            "-",
            &escape_all(&w),
        );
        self.push(Some(line));
        self.shape = "clf_lone_surrogate_escape";
        let (ip, w) = (self.ipv4(), self.word());
        let line = self.clf_line(&ip, "-", "GET / HTTP/1.1", "-", &format!("\\ud800{w}"));
        self.push(Some(line));
        self.shape = "clf_dash_everywhere";
        self.push(Some(b"- - - [14/May/2024:08:17:42 +0200] \"-\" 400 - \"-\" \"-\"".to_vec()));
        self.shape = "clf_common_format_line";
        let (ip, u) = (self.ipv4(), self.word());
        let line = format!("{ip} - {u} [14/May/2024:08:17:42 +0200] \"GET / HTTP/1.1\" 200 1");
        self.push(Some(line.into_bytes()));
        self.shape = "clf_pretty_spaces";
        let (ip, u) = (self.ipv4(), self.word());
        let line = format!(
            "{ip}  -  {u}  [14/May/2024:08:17:42 +0200]  \"GET / HTTP/1.1\"  200  1  \"-\"  \"-\""
        );
        self.push(Some(line.into_bytes()));
        self.shape = "clf_time_offsets";
        let (ip, u) = (self.ipv4(), self.phone());
        let line =
            format!("{ip} - {u} [31/Dec/2023:23:59:59 -1200] \"GET / HTTP/1.1\" 304 0 \"-\" \"-\"");
        self.push(Some(line.into_bytes()));

        // Shapes fixed on the privacy-actions branch.
        self.shape = "clf_request_line_spill";
        let (ip, a, b) = (self.ipv4(), self.word(), self.word());
        let line = self.clf_line(
            &ip,
            "-",
            &format!("GET /login?user={a} password={b} HTTP/1.1"),
            "-",
            "x",
        );
        self.push(Some(line));
        self.shape = "clf_path_segment_identifiers";
        let (ip, e, p) = (self.ipv4(), self.email(), self.phone());
        let line = self.clf_line(
            &ip,
            "-",
            &format!("GET /api/v1/users/{e}/orders/{p} HTTP/1.1"),
            "-",
            "x",
        );
        for _ in 0..6 {
            self.push(Some(line.clone()));
        }
        self.shape = "clf_encoded_query";
        let (ip, a, b) = (self.ipv4(), self.word(), self.word());
        let line = self.clf_line(
            &ip,
            "-",
            &format!("GET /shop;jsessionid={a}/a%3Ftoken={b}&page=2 HTTP/1.1"),
            "-",
            "x",
        );
        self.push(Some(line));
        self.shape = "clf_referrer_ip_literal_host";
        let (ip, r) = (self.ipv4(), self.ipv4());
        let line =
            self.clf_line(&ip, "-", "GET / HTTP/1.1", &format!("http://{r}:8080/internal"), "x");
        self.push(Some(line));
        self.shape = "clf_client_ip_6to4";
        let v6 = self.six_to_four();
        let line = self.clf_line(&v6, "-", "GET / HTTP/1.1", "-", "x");
        self.push(Some(line));
    }
}

// ------------------------------------------------------------ checking

/// Where a leak was found.
#[derive(Debug)]
struct Leak {
    pipeline: String,
    shape: &'static str,
    channel: String,
    needle: String,
}

fn contains(hay: &str, needle: &Needle) -> bool {
    if !needle.digit_bounded {
        return hay.contains(&needle.text);
    }
    let h = hay.as_bytes();
    hay.match_indices(&needle.text).any(|(at, m)| {
        let before = at.checked_sub(1).map(|i| h[i]);
        let after = h.get(at + m.len()).copied();
        !before.is_some_and(|b| b.is_ascii_digit() || b == b'.')
            && !after.is_some_and(|b| b.is_ascii_digit())
    })
}

/// Every output channel of the engine: anonymized records and their keys,
/// dead letters as the service writes them, statistics rows and keys.
fn run_engine(set: PipelineSet, inputs: &BTreeMap<String, Vec<Input>>) -> Vec<(String, String)> {
    let anonymizer = Anonymizer::new(set);
    let mut worker = anonymizer.new_worker();
    let mut channels: Vec<(String, String)> = Vec::new();
    let mut sink_out: Vec<(String, String)> = Vec::new();
    for (topic, records) in inputs {
        for (offset, r) in records.iter().enumerate() {
            let source = SourceRecord {
                topic,
                partition: 0,
                offset: offset as i64,
                key: r.key.as_deref(),
                payload: r.payload.as_deref(),
                timestamp_ms: None,
            };
            let mut sink = |o: logveil::processor::OutputRecord<'_>| {
                let kind = match o.kind {
                    OutputKind::Anonymized => "record",
                    OutputKind::Stats => "stats row",
                    OutputKind::StatsPartial => "stats partial",
                };
                sink_out.push((
                    format!("engine {kind} on {}", o.topic),
                    String::from_utf8_lossy(o.payload).into_owned(),
                ));
                if let Some(k) = o.key {
                    sink_out.push((
                        format!("engine {kind} key on {}", o.topic),
                        String::from_utf8_lossy(k).into_owned(),
                    ));
                }
            };
            match anonymizer.process(&mut worker, &source, &mut sink) {
                Disposition::Failed(f) => {
                    let dl = DeadLetter::new(
                        f.error_code,
                        &f.message,
                        f.pipeline.as_deref(),
                        DeadLetterSource::Kafka { topic, partition: 0, offset: offset as i64 },
                        r.payload.as_ref().map_or(0, Vec::len),
                    );
                    channels.push((
                        format!("engine dead letter from {topic}"),
                        String::from_utf8(dl.to_json()).unwrap(),
                    ));
                }
                Disposition::Emitted
                | Disposition::Filtered { .. }
                | Disposition::Absorbed { .. } => {}
            }
        }
    }
    anonymizer.finish(&mut worker, &mut |o| {
        sink_out.push((
            format!("engine output at finish on {}", o.topic),
            String::from_utf8_lossy(o.payload).into_owned(),
        ));
    });
    channels.extend(sink_out);
    channels
}

/// Every output channel of `logveil process` on one pipeline: stdout,
/// stderr (trace-level logs, dead letters are in their file, summary),
/// the dead-letter file and the statistics file.
fn run_binary(file: &Path, records: &[Input]) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.log");
    let mut text = Vec::new();
    for r in records {
        let Some(p) = &r.payload else { continue };
        // One record per line: pretty-printed records go through the engine only.
        if p.contains(&b'\n') || p.contains(&b'\r') {
            continue;
        }
        text.extend_from_slice(p);
        text.push(b'\n');
    }
    std::fs::write(&input, text).unwrap();
    let (dead, stats) = (dir.path().join("dead.jsonl"), dir.path().join("stats.jsonl"));
    let out = Command::new(env!("CARGO_BIN_EXE_logveil"))
        .args(["process", "--test-keys", "--pipeline"])
        .arg(file)
        .arg("--input")
        .arg(&input)
        .arg("--dead-letter")
        .arg(&dead)
        .arg("--stats")
        .arg(&stats)
        .env("LOGVEIL_LOG", "trace")
        .env_remove("LOGVEIL_KEY_IDS")
        .env_remove("LOGVEIL_CONFIG")
        .output()
        .expect("binary runs");
    assert!(out.status.success(), "process failed: {}", String::from_utf8_lossy(&out.stderr));
    let name = file.display();
    vec![
        (format!("process stdout ({name})"), String::from_utf8_lossy(&out.stdout).into_owned()),
        (format!("process stderr ({name})"), String::from_utf8_lossy(&out.stderr).into_owned()),
        (format!("process dead letters ({name})"), std::fs::read_to_string(&dead).unwrap()),
        (format!("process stats ({name})"), std::fs::read_to_string(&stats).unwrap()),
    ]
}

#[test]
fn no_canary_reaches_any_output_channel() {
    let files: Vec<PathBuf> = pipeline_files(Path::new("pipelines")).unwrap();
    let keys = KeyStore::for_tests(&rings_of(&files).unwrap());
    let set = PipelineSet::load(&files, &keys).unwrap();
    assert_eq!(set.pipelines().len(), 8, "every shipped pipeline is swept");

    let mut inputs: BTreeMap<String, Vec<Input>> = BTreeMap::new();
    let mut canaries: Vec<(String, Canary)> = Vec::new();
    let mut files_by_topic: BTreeMap<String, PathBuf> = BTreeMap::new();
    for (i, p) in set.pipelines().iter().enumerate() {
        let mut sweep = Sweep::new(p, i + 1);
        match p.format {
            Format::Json => sweep.json_shapes(),
            Format::Combined | Format::Common => sweep.clf_shapes(),
        }
        let shapes: BTreeSet<&str> = sweep.inputs.iter().map(|r| r.shape).collect();
        assert!(shapes.len() >= 30, "{}: only {} shapes", p.name, shapes.len());
        assert!(sweep.canaries.len() >= 100, "{}: {} canaries", p.name, sweep.canaries.len());
        // The planted needles really are in the plain inputs (the check can fail).
        let plain: String = sweep
            .inputs
            .iter()
            .filter(|r| r.shape == "every_rule_plain" || r.shape == "clf_every_field")
            .map(|r| String::from_utf8_lossy(r.payload.as_deref().unwrap()).to_lowercase())
            .collect();
        let planted = sweep
            .canaries
            .iter()
            .filter(|c| c.shape == "every_rule_plain" || c.shape == "clf_every_field")
            .filter(|c| c.needles.iter().all(|n| contains(&plain, n)))
            .count();
        assert!(planted >= 6, "{}: plain canaries not found in their own inputs", p.name);
        let topic = p.input_topics[0].clone();
        files_by_topic.insert(topic.clone(), p.file.clone());
        canaries.extend(sweep.canaries.into_iter().map(|c| (p.name.clone(), c)));
        inputs.insert(topic, sweep.inputs);
    }

    let mut channels = run_engine(set, &inputs);
    for (topic, records) in &inputs {
        channels.extend(run_binary(&files_by_topic[topic], records));
    }
    // Not vacuous: records, dead letters of several kinds, statistics rows and
    // pseudonymized keys all came out.
    let count = |what: &str| channels.iter().filter(|(c, _)| c.contains(what)).count();
    assert!(count("engine record on") > 100, "{} records", count("engine record on"));
    assert!(count("engine record key on") > 50, "{} keys", count("engine record key on"));
    assert!(count("engine dead letter") > 200, "{} dead letters", count("engine dead letter"));
    assert!(count("at finish") >= 3, "{} stats rows", count("at finish"));
    let dead: String = channels
        .iter()
        .filter(|(c, _)| c.contains("dead letter"))
        .map(|(_, t)| t.as_str())
        .collect();
    for code in [
        "wrong_type",
        "duplicate_field",
        "unknown_field",
        "invalid_json",
        "invalid_utf8",
        "not_an_object",
        "too_deep",
        "too_large",
        "empty_record",
        "invalid_log_line",
    ] {
        assert!(dead.contains(&format!("\"{code}\"")), "no {code} dead letter");
    }

    // One text per channel, lower-cased (canaries are searched without case).
    let mut grouped: BTreeMap<String, String> = BTreeMap::new();
    for (channel, text) in channels {
        let all = grouped.entry(channel).or_default();
        all.push_str(&text.to_lowercase());
        all.push('\n');
    }
    let lowered: Vec<(String, String)> = grouped.into_iter().collect();
    let mut leaks = Vec::new();
    for (pipeline, canary) in &canaries {
        for needle in &canary.needles {
            for (channel, text) in &lowered {
                if contains(text, needle) {
                    leaks.push(Leak {
                        pipeline: pipeline.clone(),
                        shape: canary.shape,
                        channel: channel.clone(),
                        needle: needle.text.clone(),
                    });
                }
            }
        }
    }
    let report: Vec<String> = leaks
        .iter()
        .take(400)
        .map(|l| format!("{}: shape `{}`: `{}` in {}", l.pipeline, l.shape, l.needle, l.channel))
        .collect();
    assert!(leaks.is_empty(), "{} leaks:\n{}", leaks.len(), report.join("\n"));
}
