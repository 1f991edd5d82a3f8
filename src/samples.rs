//! Bundled sample records for every data category (demo and tests).
//!
//! Deterministic: the same call gives the same records. Access logs come
//! from the reference workload generator; the other categories are built
//! from small fixed vocabularies so statistics have groups on both sides of
//! their privacy thresholds. Each category also gets a few bad records
//! (broken JSON, a non-object, a wrong field type) that must end in the
//! dead-letter topic.

use crate::actions::redact;
use crate::pipeline::spec::Category;
use crate::workload::AccessLogGenerator;

/// A tiny deterministic generator (SplitMix64) for picking sample values.
struct Pick(u64);

impl Pick {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn of<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const SURNAMES: [&str; 8] = ["Wang", "Li", "Zhang", "Müller", "Smith", "García", "Chen", "Okafor"];
const GIVEN: [&str; 8] = ["Wei", "Na", "Alice", "Jonas", "Maria", "Bob", "Chioma", "Ling"];
const DEPARTMENTS: [&str; 4] = ["Finance", "Engineering", "Sales", "HR"];
const REGIONS: [(&str, &str, &str); 4] = [
    ("CN", "Guangdong", "Shenzhen"),
    ("CN", "Beijing", "Beijing"),
    ("DE", "Bavaria", "Munich"),
    ("US", "California", "San Francisco"),
];

fn ts(base_min: u64, i: u64) -> String {
    let total = base_min + i;
    format!("2024-05-14T{:02}:{:02}:{:02}Z", 8 + (total / 60) % 12, total % 60, (i * 7) % 60)
}

/// Valid China resident ID with the GB 11643 check character.
fn cn_id(p: &mut Pick) -> String {
    let body = format!(
        "110105{}{:02}{:02}{:03}",
        1960 + p.below(40),
        1 + p.below(12),
        1 + p.below(28),
        p.below(1000)
    );
    let check = redact::cn_id_check_char(body.as_bytes()) as char;
    format!("{body}{check}")
}

/// A Luhn-valid 16-digit card number.
fn card(p: &mut Pick) -> String {
    let payload: String =
        std::iter::once('4').chain((0..14).map(|_| char::from(b'0' + p.below(10) as u8))).collect();
    (b'0'..=b'9')
        .map(|d| format!("{payload}{}", char::from(d)))
        .find(|c| redact::luhn_valid(c.as_bytes()))
        .unwrap_or(payload)
}

fn mobile(p: &mut Pick) -> String {
    format!("13{}{:08}", p.below(10), p.below(100_000_000))
}

/// Bad records every category gets: each must reach the dead-letter topic.
fn bad_records() -> Vec<Vec<u8>> {
    vec![
        b"{\"ts\": \"2024-05-14T08:00:00Z\", \"broken".to_vec(),
        b"[\"not\", \"an\", \"object\"]".to_vec(),
        b"\xff\xfe not utf-8".to_vec(),
    ]
}

/// `n` good records plus the bad ones for `category`.
pub fn records(category: Category, n: usize) -> Vec<Vec<u8>> {
    let mut p = Pick(0x5EED ^ category as u64);
    let n64 = n as u64;
    let mut out: Vec<Vec<u8>> = match category {
        Category::LogInformation => {
            let mut g = AccessLogGenerator::new(42);
            (0..n).map(|_| { let mut v = Vec::new(); g.write_record(&mut v); v }).collect()
        }
        Category::AccountInformation => (0..n64)
            .map(|i| {
                let (s, g) = (p.of(&SURNAMES), p.of(&GIVEN));
                format!(
                    r#"{{"ts":"{}","event":"{}","account_id":"acc-{:05}","email":"{}.{}@corp.example.com","name":"{} {}","display_name":"{}","position":"{}","department":"{}","employer":"Example Corp","client_ip":"198.51.100.{}"}}"#,
                    ts(0, i), p.of(&["login", "login", "login", "password_change", "created"]), p.below(40), g.to_lowercase(), s.to_lowercase(), g, s, g,
                    p.of(&["Engineer", "Analyst", "Manager"]), p.of(&DEPARTMENTS), p.below(255)
                ).into_bytes()
            })
            .collect(),
        Category::RealNameAuthentication => (0..n64)
            .map(|i| {
                let (c, r, city) = REGIONS[p.below(4) as usize];
                format!(
                    r#"{{"ts":"{}","user_id":"u_{:06}","name":"{} {}","id_type":"id_card","id_number":"{}","bank_card":"{}","industry":"{}","location":{{"country":"{c}","region":"{r}","city":"{city}","district":"Futian","street":"{} Shennan Rd"}},"result":"{}"}}"#,
                    ts(0, i), p.below(1000), p.of(&GIVEN), p.of(&SURNAMES), cn_id(&mut p), card(&mut p),
                    p.of(&["finance", "education", "retail"]), 1 + p.below(999), p.of(&["passed", "passed", "passed", "failed"])
                ).into_bytes()
            })
            .chain(std::iter::once(
                br#"{"ts":"2024-05-14T08:00:00Z","user_id":"u_1","passport_scan":"(base64...)","result":"passed"}"#.to_vec(),
            ))
            .collect(),
        Category::CustomerService => (0..n64)
            .map(|i| {
                let phone = mobile(&mut p);
                let msg = match p.below(4) {
                    0 => format!("Hi, my number is {phone}, please call back"),
                    1 => format!("Refund to card {} please, mail me at buyer{}@example.net", card(&mut p), p.below(99)),
                    2 => "The app crashes when I open my orders".to_string(),
                    _ => format!("ID for verification: {}", cn_id(&mut p)),
                };
                format!(
                    r#"{{"ts":"{}","ticket_id":"T-{:06}","uid":"{:08}","username":"{}_{}","surname":"{}","mobile":"{}","channel":"{}","category":"{}","message":"{}","order":{{"order_id":"O{:09}","amount":{}.{:02},"currency":"CNY","status":"{}","shipping_address":"{} Nanjing Rd"}},"satisfaction":{}}}"#,
                    ts(0, i), i, p.below(10_000_000), p.of(&GIVEN).to_lowercase(), p.below(99), p.of(&SURNAMES), phone,
                    p.of(&["chat", "email", "phone"]), p.of(&["refund", "delivery", "account", "bug"]), msg,
                    p.below(1_000_000_000), p.below(2000), p.below(100), p.of(&["paid", "shipped", "returned"]), 1 + p.below(500), 1 + p.below(5)
                ).into_bytes()
            })
            .collect(),
        Category::OperationalActivities => (0..n64)
            .map(|i| {
                let (c, r, city) = REGIONS[p.below(4) as usize];
                format!(
                    r#"{{"ts":"{}","user_id":"u_{:06}","phone":"+86 {}","contact_address":{{"country":"{c}","region":"{r}","city":"{city}","street":"{} Century Ave","postcode":"{:06}"}},"campaign":"{}","channel":"{}","event":"{}"}}"#,
                    ts(0, i), p.below(500), mobile(&mut p), 1 + p.below(999), p.below(999_999),
                    p.of(&["spring_sale", "newsletter_05"]), p.of(&["sms", "email"]), p.of(&["sent", "sent", "opened", "converted"])
                ).into_bytes()
            })
            .collect(),
        Category::Payment => (0..n64)
            .map(|i| {
                format!(
                    r#"{{"ts":"{}","payment_id":"pay_{:08}","user_id":"u_{:06}","method":"{}","card_number":"{}","account_number":"DE89370400440532013{:03}","vat_id":"DE{:09}","amount":{}.{:02},"currency":"{}","status":"{}","country":"{}"}}"#,
                    ts(0, i), i, p.below(300), p.of(&["card", "card", "sepa", "alipay"]), card(&mut p), p.below(1000), p.below(1_000_000_000),
                    p.below(3000), p.below(100), p.of(&["EUR", "CNY"]), p.of(&["captured", "captured", "declined"]), p.of(&["DE", "CN"])
                ).into_bytes()
            })
            .chain(std::iter::once(
                br#"{"ts":"2024-05-14T08:00:00Z","payment_id":"pay_1","cvv":"123"}"#.to_vec(),
            ))
            .collect(),
        Category::PhishingSimulation => (0..n64)
            .map(|i| {
                let unit = p.of(&["Finance", "Finance", "Engineering", "Engineering", "Sales", "Legal"]);
                let user = p.below(if unit == "Legal" { 3 } else { 40 });
                format!(
                    r#"{{"ts":"{}","campaign_id":"q2-invoice-lure","email":"{}{}@corp.example.com","org_unit":"{unit}","event":"{}","client_ip":"203.0.113.{}","user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"}}"#,
                    ts(0, i), unit.to_lowercase(), user, p.of(&["delivered", "delivered", "opened", "clicked", "reported"]), p.below(255)
                ).into_bytes()
            })
            .collect(),
    };
    out.extend(bad_records());
    out
}

/// `n` Apache/nginx combined-format lines plus two malformed ones.
pub fn combined_lines(n: usize) -> Vec<Vec<u8>> {
    let mut p = Pick(0xC0B1);
    let mut out: Vec<Vec<u8>> = (0..n as u64)
        .map(|i| {
            format!(
                r#"{}.{}.{}.{} - {} [14/May/2024:{:02}:{:02}:{:02} +0200] "{} /shop/item/{}?ref=mail&token={:x} HTTP/1.1" {} {} "{}" "{}""#,
                1 + p.below(223), p.below(256), p.below(256), 1 + p.below(254),
                p.of(&["-", "alice", "bob", "carol"]),
                8 + i / 3600, (i / 60) % 60, i % 60,
                p.of(&["GET", "GET", "POST"]), p.below(10_000), p.next(),
                p.of(&["200", "200", "304", "404", "500"]), p.below(50_000),
                p.of(&["-", "https://www.google.com/search?q=shoes", "https://shop.example.com/cart?session=abc"]),
                p.of(&[
                    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
                    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
                    "curl/8.5.0",
                ])
            )
            .into_bytes()
        })
        .collect();
    out.push(b"this is not a log line".to_vec());
    out.push(b"10.0.0.1 - - [99/Foo/2024:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1".to_vec());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_valid_json() {
        for c in [
            Category::LogInformation,
            Category::AccountInformation,
            Category::RealNameAuthentication,
            Category::CustomerService,
            Category::OperationalActivities,
            Category::Payment,
            Category::PhishingSimulation,
        ] {
            let a = records(c, 30);
            assert_eq!(a, records(c, 30));
            let good = a
                .iter()
                .filter(|r| {
                    serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(r).is_ok()
                })
                .count();
            assert!(good >= 30, "{c:?}: {good}");
        }
    }

    #[test]
    fn generated_ids_pass_their_checksums() {
        let mut p = Pick(1);
        for _ in 0..50 {
            let id = cn_id(&mut p);
            assert!(redact::valid_cn_id(id.as_bytes()), "{id}");
            let c = card(&mut p);
            assert_eq!(c.len(), 16);
            assert!(redact::luhn_valid(c.as_bytes()), "{c}");
        }
    }
}
