//! `redact` throughput in MB/s on chat-like text, next to the detector set
//! that shipped before issue 10 (a frozen copy in
//! `benches/redact_baseline/redact_before_issue10.rs`, used only here),
//! measured in the same run. `cargo bench --bench redact`
//!
//! Two texts, both deterministic chat, ticket and log lines in Chinese and
//! English full of numbers that are not personal (order numbers, times,
//! prices, versions, dates):
//! - few hits: about one line in twenty carries a phone, email or card;
//! - many hits: every line carries two or three values of several classes.
//!
//! Variants run round-robin, one run of each per round, so load from other
//! processes on a shared machine hits both alike; medians are printed, with
//! the ratio new/baseline. A timing never decides a test.
//!
//! Environment: `LOGVEIL_BENCH_LINES` (default 20000), `LOGVEIL_BENCH_RUNS`
//! (default 7), `LOGVEIL_BENCH_ONLY=few|many` (one text, for profiling),
//! `LOGVEIL_BENCH_DETECTORS=phone,ip,…` (the new set restricted to these
//! detectors, to find which one costs what under callgrind).

use std::time::Instant;

use logveil::actions::redact::{Detector, Redactor};

#[allow(dead_code, unused_imports, clippy::all, clippy::pedantic)]
#[path = "redact_baseline/redact_before_issue10.rs"]
mod baseline;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// SplitMix64: deterministic picks without a dependency.
struct Pick(u64);

impl Pick {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn of<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
    fn digits(&mut self, n: usize) -> String {
        (0..n).map(|_| char::from(b'0' + self.below(10) as u8)).collect()
    }
}

const PLAIN: &[&str] = &[
    "您好，我的订单DD2024051{d}还没有收到，物流显示{t}已发出，麻烦帮忙查一下。",
    "Hi, the app version 4.12.{n} keeps crashing after the update on 2024-05-14 at {t}.",
    "客服回复：已为您登记，预计3-5个工作日内处理完成，退款金额¥{n}.50。",
    "[2024-05-14 {t}] INFO chat.session msg=\"customer asked about delivery\" order=SO{d}",
    "Refund of $1{n}.99 approved for order #{n}{n}, tracking SF{d}.",
    "用户反馈：页面加载很慢，大概{n}秒才打开，浏览器是Chrome 124。",
    "Thanks for waiting! Your ticket T-{n} is now assigned to team 3.",
    "商品SKU-AB{n}-XL库存不足，已通知仓库补货，批次20240514。",
];

const PII: &[&str] = &[
    "手机13{d8}",
    "mail wei.{n}@example.com",
    "card 4111 1111 1111 1111",
    "身份证11010519491231002X",
    "password={n}Secr3t!",
    "from 203.0.113.{n}",
    "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r",
    "IBAN DE89 3704 0044 0532 0130 00",
    "tel +86 138 0013 {n}",
];

fn fill(p: &mut Pick, template: &str) -> String {
    let n = p.below(90) + 10;
    let t = format!("{:02}:{:02}:{:02}", p.below(24), p.below(60), p.below(60));
    template
        .replace("{d8}", &p.digits(9))
        .replace("{d}", &p.digits(8))
        .replace("{t}", &t)
        .replace("{n}", &n.to_string())
}

/// `lines` chat lines; each carries `pii_per_line` values with probability `share`.
fn chat(seed: u64, lines: usize, share: u64, pii_per_line: usize) -> Vec<String> {
    let mut p = Pick(seed);
    (0..lines)
        .map(|_| {
            let template = p.of(PLAIN);
            let mut line = fill(&mut p, template);
            if p.below(100) < share {
                for _ in 0..pii_per_line {
                    let template = p.of(PII);
                    let pii = fill(&mut p, template);
                    line.push_str(if p.below(2) == 0 { "，" } else { " " });
                    line.push_str(&pii);
                }
            }
            line
        })
        .collect()
}

fn main() {
    let lines = env_usize("LOGVEIL_BENCH_LINES", 20_000);
    let runs = env_usize("LOGVEIL_BENCH_RUNS", 7);
    let selected: Vec<Detector> = match std::env::var("LOGVEIL_BENCH_DETECTORS") {
        Ok(names) => Detector::ALL
            .into_iter()
            .filter(|d| names.split(',').any(|n| n.trim() == d.name()))
            .collect(),
        Err(_) => Detector::ALL.to_vec(),
    };
    let new = Redactor::new(&selected);
    let old = baseline::Redactor::new(&baseline::Detector::ALL);
    let only = std::env::var("LOGVEIL_BENCH_ONLY").unwrap_or_default();
    for (name, text) in [("few hits", chat(7, lines, 5, 1)), ("many hits", chat(11, lines, 100, 3))]
    {
        if !only.is_empty() && !name.starts_with(only.as_str()) {
            continue;
        }
        let mb = text.iter().map(String::len).sum::<usize>() as f64 / 1e6;
        let (mut new_rates, mut old_rates) = (Vec::new(), Vec::new());
        let (mut new_hits, mut old_hits) = (0, 0);
        let mut out = String::with_capacity(4096);
        for _ in 0..runs {
            let t = Instant::now();
            old_hits = 0;
            for line in &text {
                out.clear();
                old_hits += old.redact(line, &mut out);
                std::hint::black_box(&out);
            }
            old_rates.push(mb / t.elapsed().as_secs_f64());
            let t = Instant::now();
            new_hits = 0;
            for line in &text {
                out.clear();
                new_hits += new.redact(line, &mut out);
                std::hint::black_box(&out);
            }
            new_rates.push(mb / t.elapsed().as_secs_f64());
        }
        let (n, o) = (median(new_rates), median(old_rates));
        println!(
            "{name:<10} {lines} lines, {mb:.2} MB: baseline {o:7.1} MB/s ({old_hits} hits), \
             new {n:7.1} MB/s ({new_hits} hits), new/baseline {:.2}",
            n / o
        );
    }
}
