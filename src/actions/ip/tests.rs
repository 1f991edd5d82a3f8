//! Unit and property tests of IP parsing and writing (std as the oracle).

use super::*;

#[test]
fn parses_plain_ipv4_and_ipv6() {
    assert_eq!(parse_ip("203.0.113.77"), Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 77))));
    assert_eq!(
        parse_ip("2a02:810d:9f:3a::17"),
        Some(IpAddr::V6(Ipv6Addr::new(0x2a02, 0x810d, 0x9f, 0x3a, 0, 0, 0, 0x17)))
    );
    assert_eq!(
        parse_ip("2001:0DB8:0000:0000:0000:0000:0000:0001"),
        Some(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)))
    );
    assert_eq!(parse_ip("::"), Some(IpAddr::V6(Ipv6Addr::UNSPECIFIED)));
}

#[test]
fn parses_bracketed_ipv6_only() {
    assert_eq!(
        parse_ip("[2001:db8::1]"),
        Some(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)))
    );
    assert_eq!(parse_ip("[1.2.3.4]"), None);
    assert_eq!(parse_ip("[2001:db8::1"), None);
    assert_eq!(parse_ip("2001:db8::1]"), None);
    assert_eq!(parse_ip("[]"), None);
    assert_eq!(parse_ip("[[::1]]"), None);
}

#[test]
fn mapped_addresses_stay_ipv6() {
    let ip = parse_ip("::ffff:192.0.2.128").unwrap();
    assert_eq!(ip, IpAddr::V6(Ipv4Addr::new(192, 0, 2, 128).to_ipv6_mapped()));
    assert_eq!(
        parse_ip("[::ffff:c000:280]"),
        Some(IpAddr::V6(Ipv4Addr::new(192, 0, 2, 128).to_ipv6_mapped()))
    );
}

#[test]
fn rejects_garbage() {
    for bad in [
        "",
        " ",
        " 1.2.3.4",
        "1.2.3.4 ",
        "1.2.3.4:80",
        "[::1]:443",
        "fe80::1%eth0",
        "10.0.0.0/8",
        "2001:db8::/32",
        "1.2.3",
        "1.2.3.4.5",
        "256.1.1.1",
        "01.2.3.4",
        "1.2.3.-4",
        "example.com",
        "localhost",
        "::1::2",
        "12345::",
        "2001:db8:::1",
        "-",
        "null",
        "１.2.3.4",
        "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]x",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    ] {
        assert_eq!(parse_ip(bad), None, "accepted a malformed address");
    }
}

#[test]
fn longest_accepted_text_fits_the_length_guard() {
    let longest = "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]";
    assert_eq!(longest.len(), MAX_IP_TEXT_LEN);
    assert!(parse_ip(longest).is_some());
    assert!(parse_ip(&longest[1..longest.len() - 1]).is_some());
}

#[test]
fn embedded_ipv4_is_found_where_the_rfcs_put_it() {
    let v4 = Ipv4Addr::new(203, 0, 113, 77);
    for (text, how) in [
        ("::ffff:203.0.113.77", Embedding::Mapped),
        ("::203.0.113.77", Embedding::Compatible),
        ("64:ff9b::203.0.113.77", Embedding::Nat64),
        ("2002:cb00:714d:1:2:3:4:5", Embedding::SixToFour),
    ] {
        let IpAddr::V6(v6) = parse_ip(text).unwrap() else { panic!("{text}") };
        assert_eq!(embedded_ipv4(v6), Some((how, v4)), "{text}");
    }
    for text in
        ["2001:db8::cb00:714d", "64:ff9b:1::cb00:714d", "2003:cb00:714d::", "::1:ffff:cb00:714d"]
    {
        let IpAddr::V6(v6) = parse_ip(text).unwrap() else { panic!("{text}") };
        assert_eq!(embedded_ipv4(v6), None, "{text}");
    }
}

#[test]
fn write_ip_appends_canonical_form() {
    let mut out = String::from("ip=");
    write_ip(parse_ip("2001:0db8:0000:0000:0001:0000:0000:0001").unwrap(), &mut out);
    assert_eq!(out, "ip=2001:db8::1:0:0:1");
    out.clear();
    write_ip(parse_ip("2001:DB8:0:0:0:0:2:1").unwrap(), &mut out);
    assert_eq!(out, "2001:db8::2:1");
    out.clear();
    write_ip(parse_ip("2001:db8:0:1:1:1:1:1").unwrap(), &mut out);
    assert_eq!(out, "2001:db8:0:1:1:1:1:1");
    out.clear();
    write_ip(parse_ip("::ffff:c000:280").unwrap(), &mut out);
    assert_eq!(out, "::ffff:192.0.2.128");
    out.clear();
    write_ip(parse_ip("10.0.0.1").unwrap(), &mut out);
    assert_eq!(out, "10.0.0.1");
}

#[test]
fn write_ip_reuses_capacity() {
    let mut out = String::with_capacity(64);
    let ptr = out.as_ptr();
    write_ip(parse_ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe").unwrap(), &mut out);
    assert_eq!(out, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe");
    assert_eq!(out.as_ptr(), ptr);
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn text_round_trips(bits in any::<u128>(), v4 in any::<u32>()) {
            for ip in [IpAddr::V6(Ipv6Addr::from(bits)), IpAddr::V4(Ipv4Addr::from(v4))] {
                let mut out = String::new();
                write_ip(ip, &mut out);
                prop_assert_eq!(parse_ip(&out), Some(ip));
            }
        }

        #[test]
        fn fast_ipv4_agrees_with_std(s in "[0-9.]{0,18}", v4 in any::<u32>()) {
            prop_assert_eq!(parse_ip(&s), s.parse::<IpAddr>().ok());
            let text = Ipv4Addr::from(v4).to_string();
            prop_assert_eq!(parse_ip(&text), Some(IpAddr::V4(Ipv4Addr::from(v4))));
            let mut out = String::new();
            write_ip(IpAddr::V4(Ipv4Addr::from(v4)), &mut out);
            prop_assert_eq!(out, text);
        }

        #[test]
        fn fast_ipv6_agrees_with_std(
            s in "[0-9a-fA-F:]{0,41}",
            groups in proptest::collection::vec(prop_oneof![Just(0u16), any::<u16>()], 8),
            cut in 0usize..9,
        ) {
            prop_assert_eq!(parse_ip(&s), s.parse::<IpAddr>().ok(), "{}", s);
            let ip = Ipv6Addr::from(<[u16; 8]>::try_from(groups).unwrap());
            let text = ip.to_string();
            let mut out = String::new();
            write_ip(IpAddr::V6(ip), &mut out);
            prop_assert_eq!(&out, &text);
            prop_assert_eq!(parse_ip(&text), Some(IpAddr::V6(ip)));
            // Hand-made `::` forms around a cut.
            let segs = ip.segments().map(|g| format!("{g:x}"));
            let (head, tail) = segs.split_at(cut.min(7));
            let form = format!("{}::{}", head.join(":"), tail[1..].join(":"));
            prop_assert_eq!(parse_ip(&form), form.parse::<IpAddr>().ok(), "{}", form);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,60}") {
            let _ = parse_ip(&s);
        }

        #[test]
        fn parse_never_panics_on_ip_like_text(s in "[\\[\\]0-9a-fA-F:.%/]{0,50}") {
            if let Some(ip) = parse_ip(&s) {
                let mut out = String::new();
                write_ip(ip, &mut out);
                prop_assert_eq!(parse_ip(&out), Some(ip));
            }
        }
    }
}
