//! Canaries through the shipped pipelines for the action-side holes of
//! issue 9: identifiers in URL paths, matrix parameters, encoded queries and
//! kept parameters; IP-literal referrers; IPv4 embedded in IPv6; request
//! lines that would shift fields; `mask` on glued values; personal e-mail
//! domains. Every output channel the engine has is searched: records, error
//! codes and messages (dead letters are built from them) and statistics rows.

use std::path::Path;

use logveil::keys::KeyStore;
use logveil::pipeline::{Pipeline, Scratch};
use logveil::stats::StatsEngine;

/// Everything a batch of records produced, as text to search.
#[derive(Default)]
struct Channels {
    records: Vec<String>,
    errors: Vec<String>,
    stats: Vec<String>,
    fields_dropped: usize,
}

impl Channels {
    fn all(&self) -> String {
        [&self.records[..], &self.errors[..], &self.stats[..]].concat().join("\n")
    }
}

fn run(pipeline_file: &str, inputs: &[String]) -> Channels {
    let keys = KeyStore::for_tests(&["ids".into()]);
    let pipeline = Pipeline::load(Path::new(pipeline_file), &keys).expect("shipped pipeline");
    let mut engine = StatsEngine::new(pipeline.stats.clone());
    let mut scratch = Scratch::default();
    let mut ch = Channels::default();
    for input in inputs {
        match pipeline.process(input.as_bytes(), &mut scratch) {
            Ok(()) => {
                ch.fields_dropped += scratch.failed_rules.len();
                engine.observe(&scratch.out);
                ch.records.push(String::from_utf8(scratch.out.clone()).expect("UTF-8 output"));
            }
            Err(e) => ch.errors.push(format!("{:?} {}", e.code, e.message)),
        }
    }
    let mut rows = Vec::new();
    engine.finish(&mut rows);
    ch.stats = rows.iter().map(|r| String::from_utf8_lossy(&r.json).into_owned()).collect();
    ch
}

fn assert_absent(ch: &Channels, canaries: &[&str]) {
    let all = ch.all();
    for canary in canaries {
        assert!(!all.contains(canary), "canary {canary:?} leaked:\n{all}");
    }
}

/// A JSON access-log record of the reference shape with `path`, `referrer`
/// and `client_ip` planted.
fn access(minute: u32, client_ip: &str, user: &str, path: &str, referrer: &str) -> String {
    serde_json::json!({
        "ts": format!("2024-05-14T08:{minute:02}:10.000Z"),
        "client_ip": client_ip,
        "user_id": user,
        "method": "GET",
        "path": path,
        "status": 200,
        "bytes": 10,
        "referrer": referrer,
        "user_agent": "curl/8.5.0",
    })
    .to_string()
}

/// Path shapes carrying the canary `c` (an identifier in some spelling).
fn path_shapes() -> Vec<(String, &'static str)> {
    vec![
        ("/api/v1/users/alice.k7q2@example.com/orders".into(), "alice.k7q2"),
        ("/api/v1/users/alice.k7q3%40example.com/orders".into(), "alice.k7q3"),
        ("/api/v1/users/alice.k7q4%EF%BC%A0example.com/orders".into(), "alice.k7q4"),
        ("/contact/13912345678".into(), "13912345678"),
        ("/contact/%2B8613912345679".into(), "13912345679"),
        (
            "/contact/%EF%BC%91%EF%BC%93%EF%BC%99%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96%EF%BC%97%EF%BC%98"
                .into(),
            "%EF%BC%91%EF%BC%93%EF%BC%99",
        ),
        ("/kyc/11010519491231002X/status".into(), "11010519491231002X"),
        ("/cards/4111111111111111".into(), "4111111111111111"),
        ("/u/u_7391046628/profile".into(), "7391046628"),
        ("/reset/Qz8vN3xLk2Wp7RtY5mHc".into(), "Qz8vN3xLk2Wp7RtY5mHc"),
        ("/shop;jsessionid=JSESSIONCANARY01/cart".into(), "JSESSIONCANARY01"),
        ("/shop%3Bjsessionid=JSESSIONCANARY02/cart".into(), "JSESSIONCANARY02"),
        ("/a%3Ftoken=QUERYCANARY03&page=2".into(), "QUERYCANARY03"),
        ("/a/b%23FRAGCANARY04".into(), "FRAGCANARY04"),
        ("/a/x%253Ftoken%253DDOUBLECANARY05".into(), "DOUBLECANARY05"),
        ("/search?page=bob.k7q6@example.com".into(), "bob.k7q6"),
        ("/search?page=bob.k7q7%2540example.com".into(), "bob.k7q7"),
        ("/search?sort=13912345680&page=2".into(), "13912345680"),
        ("/search?token=TOKENCANARY08&page=3".into(), "TOKENCANARY08"),
        ("/peers/198.51.100.23/stats".into(), "198.51.100.23"),
    ]
}

#[test]
fn access_log_paths_referrers_and_clients_never_leak() {
    let mut inputs = Vec::new();
    let mut canaries: Vec<&str> = Vec::new();
    let shapes = path_shapes();
    for (i, (path, canary)) in shapes.iter().enumerate() {
        canaries.push(canary);
        // Five clients from five networks per shape, so statistics publish
        // rows for these paths: the templates must carry no canary.
        for k in 0..6u32 {
            let ip = format!("192.0.{}.{}", 10 + k, 1 + i);
            inputs.push(access(1, &ip, &format!("u_{k}"), path, "-"));
        }
    }
    for (referrer, client, canary) in [
        ("http://203.0.113.77:8080/internal", "10.1.2.3", "203.0.113.77"),
        ("https://[2001:db8:cafe:beef::77]/x", "10.1.2.3", "cafe:beef"),
        ("https://[2002:cb00:714e::1]/x", "10.1.2.3", "cb00:714e"),
        ("-", "2002:cb00:714f::1", "cb00:714f"),
        ("-", "64:ff9b::203.0.113.78", "203.0.113.78"),
        ("-", "::ffff:203.0.113.79", "203.0.113.79"),
        ("-", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "3fff:fdd2"),
    ] {
        canaries.push(canary);
        inputs.push(access(2, client, "u_9", "/", referrer));
    }
    let ch = run("pipelines/access_log.toml", &inputs);
    assert!(ch.errors.is_empty(), "{:?}", ch.errors);
    assert_absent(&ch, &canaries);
    // The templates are there, with placeholders.
    let stats = ch.stats.join("\n");
    for template in ["/api/v1/users/{email}/orders", "/contact/{phone}", "/kyc/{cn_id}/status"] {
        assert!(stats.contains(template), "{template} missing:\n{stats}");
    }
}

#[test]
fn combined_lines_never_shift_or_leak() {
    let line = |request: &str, referrer: &str| {
        format!(
            r#"198.51.100.7 - - [14/May/2024:08:17:42 +0200] "{request}" 200 12 "{referrer}" "curl/8.5.0""#
        )
    };
    let refused = [
        ("GET /login?user=alice password=PWCANARY01 HTTP/1.1", "PWCANARY01"),
        ("GET /a SPACECANARY02", "SPACECANARY02"),
        ("GET /a b c HTTP/1.1 EXTRACANARY03", "EXTRACANARY03"),
        ("GET  /DOUBLECANARY04 HTTP/1.1", "DOUBLECANARY04"),
    ];
    let inputs: Vec<String> = refused.iter().map(|(r, _)| line(r, "-")).collect();
    let ch = run("pipelines/web_server_combined.toml", &inputs);
    assert!(ch.records.is_empty(), "{:?}", ch.records);
    assert_eq!(ch.errors.len(), refused.len());
    assert!(ch.errors.iter().all(|e| e.starts_with("InvalidLogLine")), "{:?}", ch.errors);
    assert_absent(&ch, &refused.map(|(_, c)| c));

    // The issue's reproduction: five requests by one person, her email in
    // the path. No row may hold the email, and one person is not a group.
    let email_path = "/api/v1/users/alice.wang.k7q9@example.com/orders";
    let inputs: Vec<String> = (0..5)
        .map(|_| line(&format!("GET {email_path} HTTP/1.1"), "http://203.0.113.80:8080/internal"))
        .collect();
    let ch = run("pipelines/web_server_combined.toml", &inputs);
    assert_eq!(ch.records.len(), 5);
    assert_absent(&ch, &["alice.wang.k7q9", "203.0.113.80"]);
    assert!(
        ch.records[0].contains(r#""path":"/api/v1/users/{email}/orders""#),
        "{}",
        ch.records[0]
    );
    assert!(ch.records[0].contains(r#""referrer":"http://203.0.113.0:8080""#), "{}", ch.records[0]);
    assert!(
        !ch.stats.iter().any(|r| r.contains("/api/v1/users/")),
        "one client network is below min_distinct:\n{}",
        ch.stats.join("\n")
    );
}

#[test]
fn mask_never_shows_part_of_a_glued_value() {
    let record = |card: &str| {
        serde_json::json!({"payment_id": "p1", "method": "card", "card_number": card}).to_string()
    };
    let inputs: Vec<String> = [
        "4111111111111111|12/29|987",
        "4111 1111 1111 1111 exp 12/29 cvv 876",
        "\u{ff14}\u{ff11}\u{ff11}\u{ff11}1111111111765",
    ]
    .iter()
    .map(|c| record(c))
    .collect();
    let ch = run("pipelines/payment.toml", &inputs);
    assert_eq!(ch.records.len(), 3, "{:?}", ch.errors);
    assert_eq!(ch.fields_dropped, 3);
    assert!(ch.records.iter().all(|r| !r.contains("card_number")), "{:?}", ch.records);
    assert_absent(&ch, &["987", "876", "765", "12/29"]);
}

#[test]
fn personal_mail_domains_never_leak() {
    let inputs: Vec<String> = [
        "x@alice-wang-13800138000.example.com",
        "x@mail.corp.example.com",
        "X@DOMAINCANARY.example",
    ]
    .iter()
    .map(|e| serde_json::json!({"event": "login", "email": e}).to_string())
    .collect();
    let ch = run("pipelines/account.toml", &inputs);
    assert_eq!(ch.records.len(), 3, "{:?}", ch.errors);
    assert_absent(&ch, &["alice-wang", "13800138000", "mail.corp", "domaincanary", "DOMAINCANARY"]);
    assert!(ch.records.iter().all(|r| !r.contains('@')), "{:?}", ch.records);
}
