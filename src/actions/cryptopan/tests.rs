//! Crypto-PAn tests: the original distribution's sample trace and the published vectors of independent ports.

use super::*;
use proptest::prelude::*;
use std::collections::HashSet;

/// The key of the sample program in the original Crypto-PAn distribution.
const SAMPLE_KEY: [u8; 32] = [
    21, 34, 23, 141, 51, 164, 207, 128, 19, 10, 91, 22, 73, 144, 125, 16, 216, 152, 143, 131, 121,
    121, 101, 39, 98, 87, 76, 45, 42, 132, 34, 2,
];

/// Every distinct (raw, sanitized) pair of `sample_trace_raw.dat` /
/// `sample_trace_sanitized.dat` from the original distribution (100 trace
/// lines, 70 distinct addresses), as extracted in the Go port's tests
/// (github.com/Yawning/cryptopan, `cryptopan_test.go`) and in
/// github.com/noinkling/node-cryptopan `src/test/test_data.ts`.
const SAMPLE_TRACE: [(&str, &str); 70] = [
    ("128.11.68.132", "135.242.180.132"),
    ("129.118.74.4", "134.136.186.123"),
    ("130.132.252.244", "133.68.164.234"),
    ("141.223.7.43", "141.167.8.160"),
    ("141.233.145.108", "141.129.237.235"),
    ("152.163.225.39", "151.140.114.167"),
    ("156.29.3.236", "147.225.12.42"),
    ("165.247.96.84", "162.9.99.234"),
    ("166.107.77.190", "160.132.178.185"),
    ("192.102.249.13", "252.138.62.131"),
    ("192.215.32.125", "252.43.47.189"),
    ("192.233.80.103", "252.25.108.8"),
    ("192.41.57.43", "252.222.221.184"),
    ("193.150.244.223", "253.169.52.216"),
    ("195.205.63.100", "255.186.223.5"),
    ("198.200.171.101", "249.199.68.213"),
    ("198.26.132.101", "249.36.123.202"),
    ("198.36.213.5", "249.7.21.132"),
    ("198.51.77.238", "249.18.186.254"),
    ("199.217.79.101", "248.38.184.213"),
    ("202.49.198.20", "245.206.7.234"),
    ("203.12.160.252", "244.248.163.4"),
    ("204.184.162.189", "243.192.77.90"),
    ("204.202.136.230", "243.178.4.198"),
    ("204.29.20.4", "243.33.20.123"),
    ("205.178.38.67", "242.108.198.51"),
    ("205.188.147.153", "242.96.16.101"),
    ("205.188.248.25", "242.96.88.27"),
    ("205.245.121.43", "242.21.121.163"),
    ("207.105.49.5", "241.118.205.138"),
    ("207.135.65.238", "241.202.129.222"),
    ("207.155.9.214", "241.220.250.22"),
    ("207.188.7.45", "241.255.249.220"),
    ("207.25.71.27", "241.33.119.156"),
    ("207.33.151.131", "241.1.233.131"),
    ("208.147.89.59", "227.237.98.191"),
    ("208.234.120.210", "227.154.67.17"),
    ("208.28.185.184", "227.39.94.90"),
    ("208.52.56.122", "227.8.63.165"),
    ("209.12.231.7", "226.243.167.8"),
    ("209.238.72.3", "226.6.119.243"),
    ("209.246.74.109", "226.22.124.76"),
    ("209.68.60.238", "226.184.220.233"),
    ("209.85.249.6", "226.170.70.6"),
    ("212.120.124.31", "228.135.163.231"),
    ("212.146.8.236", "228.19.4.234"),
    ("212.186.227.154", "228.59.98.98"),
    ("212.204.172.118", "228.71.195.169"),
    ("212.206.130.201", "228.69.242.193"),
    ("216.148.237.145", "235.84.194.111"),
    ("216.157.30.252", "235.89.31.26"),
    ("216.184.159.48", "235.96.225.78"),
    ("216.227.10.221", "235.28.253.36"),
    ("216.254.18.172", "235.7.16.162"),
    ("216.32.132.250", "235.192.139.38"),
    ("216.35.217.178", "235.195.157.81"),
    ("24.0.250.221", "100.15.198.226"),
    ("24.13.62.231", "100.2.192.247"),
    ("24.14.213.138", "100.1.42.141"),
    ("24.5.0.80", "100.9.15.210"),
    ("24.7.198.88", "100.10.6.25"),
    ("24.94.26.44", "100.88.228.35"),
    ("38.15.67.68", "64.3.66.187"),
    ("4.3.88.225", "124.60.155.63"),
    ("63.14.55.111", "95.9.215.7"),
    ("63.195.241.44", "95.179.238.44"),
    ("63.97.7.140", "95.97.9.123"),
    ("64.14.118.196", "0.255.183.58"),
    ("64.34.154.117", "0.221.154.117"),
    ("64.39.15.238", "0.219.7.41"),
];

/// A key and its (original, anonymized) address pairs.
type KeyedVectors = ([u8; 32], Vec<(&'static str, &'static str)>);

/// Vectors published by other widely used ports, collected with their
/// origins in github.com/noinkling/node-cryptopan `src/test/test_data.ts`.
/// Each entry: key, then (original, anonymized) pairs of either family.
fn port_vectors() -> Vec<KeyedVectors> {
    let hex_key = |s: &str| -> [u8; 32] {
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        key
    };
    let text_key = |s: &str| -> [u8; 32] { s.as_bytes().try_into().unwrap() };
    let seq_key = {
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::try_from(i).unwrap();
        }
        key
    };
    vec![
        (
            SAMPLE_KEY,
            vec![
                // C# port (UniStuttgart-VISUS/Sappan.CryptoPAn).
                ("129.69.205.36", "134.182.53.212"),
                ("129.69.215.37", "134.182.41.43"),
                ("127.0.0.1", "33.0.243.129"),
                // Perl port (CPAN IP::Anonymous).
                ("0.0.0.0", "120.255.240.1"),
                ("10.0.1.128", "117.15.1.129"),
                ("169.254.100.50", "169.251.68.45"),
                ("255.255.255.255", "206.120.97.255"),
                // IPv6, Go port (Yawning/cryptopan) and C# port.
                ("::1", "78ff:f001:9fc0:20df:8380:b1f1:704:ed"),
                ("::2", "78ff:f001:9fc0:20df:8380:b1f1:704:ef"),
                ("::ffff", "78ff:f001:9fc0:20df:8380:b1f1:704:f838"),
                ("2001:db8::1", "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1e"),
                ("2001:db8::2", "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1c"),
            ],
        ),
        (
            // C libanon (schoenw/libanon), key from passphrase "testing".
            hex_key("d1c056a983786a38ca76a05cda240c7b86d7713693544000a0e6c4dd5b3dabdd"),
            vec![
                ("1.2.3.4", "236.157.211.10"),
                ("1.2.3.3", "236.157.211.12"),
                ("0.0.0.0", "237.113.211.225"),
                ("1.1.1.1", "236.159.20.242"),
                ("255.255.255.254", "0.0.127.6"),
                ("255.255.255.255", "0.0.127.7"),
                ("2.6.8.15", "238.6.10.23"),
                ("2.6.3.83", "238.6.7.179"),
                ("6.3.11.123", "233.3.231.131"),
                ("112.28.3.2", "136.126.15.210"),
                ("220.201.45.30", "61.17.221.254"),
                (
                    "31d6:1be5:41bd:663c:3e9e:1005:1eec:6f01",
                    "cc29:fb1a:b9fd:613c:e68:a03b:1efd:961f",
                ),
                ("5dc9:b9a:5699:45e4:3c33:2f50:a4d:2fca", "a3cf:3bda:5768:b87b:ac8c:cc56:a43:5235"),
                (
                    "2d70:77b8:119d:918:4165:78ae:2f24:1d00",
                    "dcce:77ba:d5ad:16df:c119:68b2:2f0a:2518",
                ),
                (
                    "17a3:638e:1942:258e:c87:4416:5298:4071",
                    "f7a3:94a6:da41:21f1:8fa6:bbe9:aa59:c001",
                ),
                (
                    "1c12:2019:e3f:648a:1689:65e9:1bcb:2436",
                    "fdf2:1602:ce3f:5a8a:5da9:597:e43b:1bce",
                ),
                (
                    "2cc:5582:1702:485c:4a77:5077:575c:1035",
                    "eecc:4a6d:2f3d:775b:cb88:ae6f:a8a2:6fc1",
                ),
                (
                    "bba:3c9d:5b3a:21de:2cf8:6578:2ae7:779f",
                    "e7bd:c302:a5f5:d85e:3308:768:2570:fa5f",
                ),
                ("e22:869:6f4f:55f9:73d2:7795:3881:1671", "e1ad:da60:80b0:bc67:c2c:7b50:3873:e40f"),
                (
                    "827:7f95:2fe6:531f:d63:7bdf:323f:3ef6",
                    "e527:7fea:c099:b4df:4e9d:73ac:2d3f:eb06",
                ),
                (
                    "1e45:45f7:d60:36d0:1827:6b55:5dae:5741",
                    "fefb:a377:29d:3a2d:e8a6:eb59:a391:d621",
                ),
                ("fffe:638:709:861::3", "1:ce05:ee9:971:7f1f:1f8:ec7:c05b"),
                ("fffe:638:709:861::4", "1:ce05:ee9:971:7f1f:1f8:ec7:c05f"),
                ("ffff:638:709:861::1", "0:e9f8:3928:f76e:3f:3fc6:135:ffa6"),
                ("ffff:638:709:861::2", "0:e9f8:3928:f76e:3f:3fc6:135:ffa5"),
                ("2001:638:709:861::1", "d0f1:f603:8e9:98c:3f5f:1f9:ffcf:bf9f"),
                ("2001:638:709:861::2", "d0f1:f603:8e9:98c:3f5f:1f9:ffcf:bf9d"),
                ("2001:638:709:861::3", "d0f1:f603:8e9:98c:3f5f:1f9:ffcf:bf9c"),
                ("2001:638:709:861::4", "d0f1:f603:8e9:98c:3f5f:1f9:ffcf:bf98"),
                ("2001:638:709:4::1", "d0f1:f603:8e9:6cb:803f:3e39:f134:3fbe"),
                ("2001:638:709:4::2", "d0f1:f603:8e9:6cb:803f:3e39:f134:3fbd"),
                ("2001:638:709:4::3", "d0f1:f603:8e9:6cb:803f:3e39:f134:3fbc"),
                ("2001:638:709:4::4", "d0f1:f603:8e9:6cb:803f:3e39:f134:3fbb"),
            ],
        ),
        (
            // Python yacryptopan, Perl IP::Anonymous, Ruby pwood/cryptopan.
            seq_key,
            vec![
                ("192.0.2.1", "2.90.93.17"),
                ("0.0.0.0", "254.152.65.220"),
                ("10.0.1.128", "246.35.190.47"),
                ("127.0.0.1", "168.227.160.61"),
                ("165.254.100.50", "90.1.157.13"),
                ("255.255.255.255", "56.0.15.254"),
                ("148.88.132.153", "106.38.130.153"),
                ("148.88.132.64", "106.38.130.64"),
                ("148.88.133.200", "106.38.131.223"),
                ("2001:db8::1", "dd92:2c44:3fc0:ff1e:7ff9:c7f0:8180:7e00"),
            ],
        ),
        (
            // Python yacryptopan, contrib/diekmann.
            hex_key("8009ab3a605435bea0c385bea18485d8b0a1103d6590bdf48c968be5de53836e"),
            vec![
                ("123.123.123.123", "117.8.135.123"),
                ("131.159.1.42", "162.112.255.43"),
                ("8.8.8.8", "55.21.62.136"),
                ("255.8.1.100", "240.232.0.156"),
                ("0.0.0.0", "56.131.176.115"),
                ("255.255.255.255", "240.15.248.0"),
                (
                    "2a02:0db8:85a3:0000:0000:8a2e:0370:7344",
                    "1482:f447:75b3:f1f9:fbdf:622e:34f:ff7b",
                ),
                ("2a02:db8:85a3::8a2e:370:7344", "1482:f447:75b3:f1f9:fbdf:622e:34f:ff7b"),
                (
                    "2a02:0db8:85a3:08d3:1319:8a2e:0370:7344",
                    "1482:f447:75b3:f904:c1d9:ba2e:489:1346",
                ),
                ("2001:b8:a3:00:00:2e:70:44", "1f18:b37b:1cc3:8118:41f:9fd1:f875:fab8"),
                ("::ffff:192.0.2.128", "3883:b073:ff0f:fff8:203f:7c8:617:fd01"),
                ("fc00::", "f33c:8ca3:ef0f:e019:e7ff:f1e3:f91f:f800"),
            ],
        ),
        (
            // Python yacryptopan README, certtools/cryptopanwrapper.
            text_key("32-char-str-for-AES-key-and-pad."),
            vec![
                ("192.0.2.1", "192.0.125.244"),
                ("2001:db8::1", "27fe:8bc7:fee:1e:1e1f:f0fe:f0e1:83fd"),
            ],
        ),
        (
            // Ruby pwood/cryptopan README.
            [
                27, 8, 236, 31, 47, 181, 230, 41, 198, 24, 254, 3, 151, 151, 200, 75, 255, 197,
                170, 3, 235, 236, 200, 41, 12, 10, 206, 127, 203, 162, 176, 206,
            ],
            vec![("8.8.8.8", "50.54.20.240"), ("8.8.4.4", "50.54.28.11")],
        ),
        (
            // Java JunjieChou/CryptoPAn.
            text_key("wordlessthanfoursavecodefromboom"),
            vec![("199.32.34.122", "58.161.230.78")],
        ),
        (
            // Python FFM/pycryptopan, Julia CryptoPan.jl.
            text_key("boojahyoo3vaeToong0Eijee7Ahz3yee"),
            vec![("192.0.2.1", "206.2.124.120")],
        ),
    ]
}

/// Straightforward bit-by-bit transcription of `panonymizer.cpp`'s
/// `anonymize` (one AES call per bit), used to cross-check the batched
/// implementation on inputs no published vector covers.
fn reference(cp: &CryptoPan, addr: &[u8]) -> Vec<u8> {
    let bits = addr.len() * 8;
    let pad = cp.pad.to_be_bytes();
    let mut out = addr.to_vec();
    for pos in 0..bits {
        let mut input = pad;
        for b in 0..pos {
            let bit = (addr[b / 8] >> (7 - b % 8)) & 1;
            input[b / 8] = (input[b / 8] & !(1 << (7 - b % 8))) | (bit << (7 - b % 8));
        }
        let mut block = Block::from(input);
        cp.cipher.encrypt_block(&mut block);
        out[pos / 8] ^= (block[0] >> 7) << (7 - pos % 8);
    }
    out
}

fn common_prefix_v4(a: Ipv4Addr, b: Ipv4Addr) -> u32 {
    (u32::from(a) ^ u32::from(b)).leading_zeros()
}

fn common_prefix_v6(a: Ipv6Addr, b: Ipv6Addr) -> u32 {
    (u128::from(a) ^ u128::from(b)).leading_zeros()
}

#[test]
fn reproduces_the_original_sample_trace() {
    let cp = CryptoPan::new(&SAMPLE_KEY);
    for (raw, sanitized) in SAMPLE_TRACE {
        let raw: Ipv4Addr = raw.parse().unwrap();
        let sanitized: Ipv4Addr = sanitized.parse().unwrap();
        assert_eq!(cp.anonymize_v4(raw), sanitized, "sample trace {raw}");
        assert_eq!(cp.anonymize(IpAddr::V4(raw)), IpAddr::V4(sanitized));
    }
}

#[test]
fn sample_trace_has_no_duplicates() {
    let originals: HashSet<_> = SAMPLE_TRACE.iter().map(|(a, _)| a).collect();
    let outputs: HashSet<_> = SAMPLE_TRACE.iter().map(|(_, b)| b).collect();
    assert_eq!(originals.len(), SAMPLE_TRACE.len());
    assert_eq!(outputs.len(), SAMPLE_TRACE.len());
}

#[test]
fn reproduces_vectors_of_other_ports_both_families() {
    let mut v6_checked = 0;
    for (key, pairs) in port_vectors() {
        let cp = CryptoPan::new(&key);
        for (input, expected) in pairs {
            let input: IpAddr = input.parse().unwrap();
            let expected: IpAddr = expected.parse().unwrap();
            let got = match input {
                IpAddr::V4(v4) => IpAddr::V4(cp.anonymize_v4(v4)),
                // The ports treat every IPv6 address as 128 bits.
                IpAddr::V6(v6) => IpAddr::V6(cp.anonymize_v6(v6)),
            };
            assert_eq!(got, expected, "port vector {input}");
            v6_checked += usize::from(input.is_ipv6());
        }
    }
    assert_eq!(v6_checked, 5 + 22 + 1 + 6 + 1);
}

#[test]
fn embedded_ipv4_gets_the_ipv4_pseudonym_reembedded() {
    let cp = CryptoPan::new(&SAMPLE_KEY);
    // 128.11.68.132 -> 135.242.180.132 in the original sample trace.
    for (input, expected) in [
        ("::ffff:128.11.68.132", "::ffff:135.242.180.132"),
        ("::128.11.68.132", "::135.242.180.132"),
        ("64:ff9b::128.11.68.132", "64:ff9b::135.242.180.132"),
    ] {
        let input: IpAddr = input.parse().unwrap();
        let expected: IpAddr = expected.parse().unwrap();
        assert_eq!(cp.anonymize(input), expected, "{input}");
    }
    // 6to4: 2002:800b:4484::/48 carries 128.11.68.132.
    let six: Ipv6Addr = "2002:800b:4484:7:1:2:3:4".parse().unwrap();
    let IpAddr::V6(out) = cp.anonymize(IpAddr::V6(six)) else { panic!("family changed") };
    assert_eq!(&out.segments()[..3], &[0x2002, 0x87f2, 0xb484]);
    assert_eq!(
        u128::from(out) & ((1 << 80) - 1),
        u128::from(cp.anonymize_v6(six)) & ((1 << 80) - 1),
        "subnet and interface ids come from the 128-bit pseudonym"
    );
    assert_ne!(out.segments()[3..], six.segments()[3..]);
    // Teredo and ordinary IPv6: the plain 128-bit construction.
    for text in ["2001:0:4136:e378:8000:63bf:3fff:fdd2", "2a02:810d:9f:3a::17"] {
        let ip: Ipv6Addr = text.parse().unwrap();
        assert_eq!(cp.anonymize(IpAddr::V6(ip)), IpAddr::V6(cp.anonymize_v6(ip)));
    }
}

proptest! {
    /// 6to4 pseudonyms keep the 2002 marker, embed the IPv4 pseudonym,
    /// stay injective and preserve shared prefixes.
    #[test]
    fn six_to_four_is_prefix_preserving_and_injective(a in any::<u128>(), b in any::<u128>()) {
        let cp = CryptoPan::new(&SAMPLE_KEY);
        let a = Ipv6Addr::from((0x2002u128 << 112) | (a & !(0xffffu128 << 112)));
        let b = Ipv6Addr::from((0x2002u128 << 112) | (b & !(0xffffu128 << 112)));
        let (IpAddr::V6(pa), IpAddr::V6(pb)) = (cp.anonymize(IpAddr::V6(a)), cp.anonymize(IpAddr::V6(b))) else {
            panic!("family changed");
        };
        prop_assert_eq!(pa.segments()[0], 0x2002);
        let v4 = Ipv4Addr::from((u128::from(a) >> 80) as u32);
        prop_assert_eq!((u128::from(pa) >> 80) as u32, u32::from(cp.anonymize_v4(v4)));
        prop_assert_eq!(pa == pb, a == b);
        prop_assert_eq!(common_prefix_v6(pa, pb), common_prefix_v6(a, b));
    }
}

#[test]
fn batched_matches_bitwise_reference() {
    let cp = CryptoPan::new(&SAMPLE_KEY);
    for raw in ["0.0.0.0", "255.255.255.255", "128.0.0.1", "203.0.113.77"] {
        let ip: Ipv4Addr = raw.parse().unwrap();
        assert_eq!(cp.anonymize_v4(ip).octets().to_vec(), reference(&cp, &ip.octets()));
    }
    for raw in ["::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2a02:810d:9f:3a::17"] {
        let ip: Ipv6Addr = raw.parse().unwrap();
        assert_eq!(cp.anonymize_v6(ip).octets().to_vec(), reference(&cp, &ip.octets()));
    }
}

#[test]
fn key_halves_both_matter() {
    let ip = Ipv4Addr::new(203, 0, 113, 77);
    let base = CryptoPan::new(&SAMPLE_KEY).anonymize_v4(ip);
    let mut other_aes = SAMPLE_KEY;
    other_aes[0] ^= 1;
    let mut other_pad = SAMPLE_KEY;
    other_pad[31] ^= 1;
    let a = CryptoPan::new(&other_aes);
    let b = CryptoPan::new(&other_pad);
    // A 1-in-2^32 chance each of colliding; with these fixed keys they don't.
    assert_ne!(a.anonymize_v4(ip), base);
    assert_ne!(b.anonymize_v4(ip), base);
    assert_ne!(a.pad, CryptoPan::new(&SAMPLE_KEY).pad);
}

#[test]
fn debug_never_shows_key_material() {
    let cp = CryptoPan::new(&SAMPLE_KEY);
    assert_eq!(format!("{cp:?}"), "CryptoPan([redacted])");
    assert_eq!(format!("{cp:#?}"), "CryptoPan([redacted])");
}

#[test]
fn clone_gives_the_same_mapping() {
    let cp = CryptoPan::new(&SAMPLE_KEY);
    let copy = cp.clone();
    let ip = IpAddr::V6("2001:db8::1".parse().unwrap());
    assert_eq!(copy.anonymize(ip), cp.anonymize(ip));
}

#[test]
fn bijective_on_a_whole_subnet() {
    // Every address of 10.20.16.0/20 maps to a distinct address, and all
    // of them share one 20-bit prefix after anonymization.
    let cp = CryptoPan::new(&SAMPLE_KEY);
    let base = u32::from(Ipv4Addr::new(10, 20, 16, 0));
    let outputs: Vec<u32> =
        (0..4096u32).map(|host| u32::from(cp.anonymize_v4(Ipv4Addr::from(base | host)))).collect();
    let distinct: HashSet<_> = outputs.iter().collect();
    assert_eq!(distinct.len(), outputs.len());
    assert!(outputs.iter().all(|o| o >> 12 == outputs[0] >> 12));

    let base6 = u128::from("2a02:810d:9f:3a::".parse::<Ipv6Addr>().unwrap());
    let outputs6: HashSet<_> =
        (0..512u128).map(|host| cp.anonymize_v6(Ipv6Addr::from(base6 | host))).collect();
    assert_eq!(outputs6.len(), 512);
}

mod prop {
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn v4_preserves_common_prefix_length(key in any::<[u8; 32]>(), a in any::<u32>(), k in 0u32..32, tail in any::<u32>()) {
            let cp = CryptoPan::new(&key);
            // `b` shares exactly `k` bits with `a`: same prefix, bit `k` flipped, random rest.
            let flip = 1u32 << (31 - k);
            let low = flip - 1;
            let b = ((a ^ flip) & !low) | (tail & low);
            let (a, b) = (Ipv4Addr::from(a), Ipv4Addr::from(b));
            prop_assert_eq!(common_prefix_v4(a, b), k);
            prop_assert_eq!(common_prefix_v4(cp.anonymize_v4(a), cp.anonymize_v4(b)), k);
            prop_assert_ne!(cp.anonymize_v4(a), cp.anonymize_v4(b));
        }

        #[test]
        fn v6_preserves_common_prefix_length(key in any::<[u8; 32]>(), a in any::<u128>(), k in 0u32..128, tail in any::<u128>()) {
            let cp = CryptoPan::new(&key);
            let flip = 1u128 << (127 - k);
            let low = flip - 1;
            let b = ((a ^ flip) & !low) | (tail & low);
            let (a, b) = (Ipv6Addr::from(a), Ipv6Addr::from(b));
            prop_assert_eq!(common_prefix_v6(cp.anonymize_v6(a), cp.anonymize_v6(b)), k);
        }

        #[test]
        fn v4_random_pairs_preserve_prefix(a in any::<u32>(), b in any::<u32>()) {
            let cp = CryptoPan::new(&SAMPLE_KEY);
            let (a, b) = (Ipv4Addr::from(a), Ipv4Addr::from(b));
            prop_assert_eq!(
                common_prefix_v4(cp.anonymize_v4(a), cp.anonymize_v4(b)),
                common_prefix_v4(a, b)
            );
        }

        #[test]
        fn batched_matches_reference_on_random_input(key in any::<[u8; 32]>(), v4 in any::<u32>(), v6 in any::<u128>()) {
            let cp = CryptoPan::new(&key);
            let v4 = Ipv4Addr::from(v4);
            let v6 = Ipv6Addr::from(v6);
            prop_assert_eq!(cp.anonymize_v4(v4).octets().to_vec(), reference(&cp, &v4.octets()));
            prop_assert_eq!(cp.anonymize_v6(v6).octets().to_vec(), reference(&cp, &v6.octets()));
        }
    }
}
