//! `truncate_ip`: zero the host bits of an IP address, keeping its network.
//!
//! Truncation keeps the network part (default IPv4 /24, IPv6 /48) so that
//! coarse location and provider statistics stay possible while the host that
//! identifies a person is gone. Parsing and writing IP text are shared with
//! `pseudonymize_ip` and `url` in [`super::ip`].
//!
//! IPv6 addresses that carry an IPv4 address ([`embedded_ipv4`]) are IPv4
//! clients in disguise: IPv4-mapped `::ffff:0:0/96` (dual-stack sockets),
//! IPv4-compatible `::/96` (deprecated), NAT64 `64:ff9b::/96` (RFC 6052
//! well-known prefix) and 6to4 `2002::/16` (IPv4 in bits 16–47). They stay
//! IPv6 (the output keeps the form the log used), but [`truncate_ip`] applies
//! the *IPv4* prefix to the embedded address: the IPv6 prefix alone would keep
//! the whole client (a /48 of 6to4 `2002:cb00:714d::1` is `203.0.113.77`) or
//! wipe the marker. Teredo (`2001::/32`) carries the client's IPv4 obfuscated
//! in bits 96–127 and its port in bits 80–95: its IPv6 prefix is capped at 64
//! bits, so neither ever survives (the part kept is the public Teredo server).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Deserialize;

use super::ip::{embedded_ipv4, parse_ip, reembed_ipv4, write_ip, Embedding};
use super::{
    write_plain_quoted, ActionConfig, ConfigError, Emit, JsonType, Outcome, Transform, TypeSet,
};
use crate::keys::KeyStore;

/// `{ action = "truncate_ip", ipv4_prefix = 24, ipv6_prefix = 48 }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TruncateIpConfig {
    /// IPv4 prefix bits kept, 0 to 32 (default 24).
    #[serde(default = "default_v4_prefix")]
    pub ipv4_prefix: u8,
    /// IPv6 prefix bits kept, 0 to 128 (default 48).
    #[serde(default = "default_v6_prefix")]
    pub ipv6_prefix: u8,
}

fn default_v4_prefix() -> u8 {
    24
}

fn default_v6_prefix() -> u8 {
    48
}

/// Compiled `truncate_ip`: the validated prefixes.
#[derive(Debug, Clone, Copy)]
pub struct TruncateIp {
    /// IPv4 bits kept.
    pub v4: u8,
    /// IPv6 bits kept.
    pub v6: u8,
}

impl ActionConfig for TruncateIpConfig {
    const NAME: &'static str = "truncate_ip";
    const ACCEPTS: TypeSet = TypeSet::of(&[JsonType::String, JsonType::Null]);
    type Compiled = TruncateIp;

    fn compile(&self, _keys: &KeyStore) -> Result<TruncateIp, ConfigError> {
        if self.ipv4_prefix > 32 {
            return Err(ConfigError::new("ipv4_prefix", "must be between 0 and 32"));
        }
        if self.ipv6_prefix > 128 {
            return Err(ConfigError::new("ipv6_prefix", "must be between 0 and 128"));
        }
        Ok(TruncateIp { v4: self.ipv4_prefix, v6: self.ipv6_prefix })
    }

    fn explain(&self) -> String {
        format!(
            "IP address truncated: IPv4 to /{}, IPv6 to /{} (host bits zeroed)",
            self.ipv4_prefix, self.ipv6_prefix
        )
    }
}

impl Transform for TruncateIp {
    /// Text that is not an IP address ([`parse_ip`]) drops the field.
    #[inline]
    fn apply_str(&self, value: &str, emit: &mut Emit<'_>) -> Outcome {
        let Some(addr) = parse_ip(value) else { return Outcome::Dropped };
        emit.tmp.clear();
        write_ip(truncate_ip(addr, self.v4, self.v6), emit.tmp);
        write_plain_quoted(emit.out, emit.tmp.as_bytes());
        Outcome::Written
    }
}

/// Teredo (`2001:0::/32`, RFC 4380): bits 96–127 hold the client's IPv4 and
/// bits 80–95 its port (both XOR-obfuscated), bits 64–79 flags.
const TEREDO_PREFIX: u128 = 0x2001_0000 << 96;
/// The most of a Teredo address [`truncate_ip`] keeps: prefix and server IPv4.
const TEREDO_MAX_PREFIX: u8 = 64;

/// Zeroes host bits: keeps the first `v4_prefix` bits of an IPv4 address and
/// the first `v6_prefix` bits of an IPv6 address.
///
/// IPv6 addresses with an embedded IPv4 address ([`embedded_ipv4`](super::ip::embedded_ipv4)) get
/// `v4_prefix` on the IPv4 part: mapped, compatible and NAT64 keep their
/// 96-bit marker; 6to4 keeps `2002:` and the truncated IPv4, its subnet and
/// interface ids are zeroed, and a `v6_prefix` shorter than 48 bits applies
/// on top. Teredo addresses keep at most their first 64 bits.
///
/// Prefixes are validated at config load (IPv4 `0..=32`, IPv6 `0..=128`); a
/// larger value is clamped to the full address length, so this never panics.
pub fn truncate_ip(ip: IpAddr, v4_prefix: u8, v6_prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(truncate_v4(v4, v4_prefix)),
        IpAddr::V6(v6) => IpAddr::V6(match embedded_ipv4(v6) {
            Some((how @ Embedding::SixToFour, v4)) => {
                let cut = reembed_ipv4(v6, how, truncate_v4(v4, v4_prefix), 0);
                truncate_v6(cut, v6_prefix)
            }
            Some((how, v4)) => reembed_ipv4(v6, how, truncate_v4(v4, v4_prefix), 0),
            None if u128::from(v6) >> 96 == TEREDO_PREFIX >> 96 => {
                truncate_v6(v6, v6_prefix.min(TEREDO_MAX_PREFIX))
            }
            None => truncate_v6(v6, v6_prefix),
        }),
    }
}

/// Keeps the first `prefix` bits (clamped to 128) of `ip`.
fn truncate_v6(ip: Ipv6Addr, prefix: u8) -> Ipv6Addr {
    let mask = u128::MAX.checked_shl(128 - u32::from(prefix.min(128))).unwrap_or(0);
    Ipv6Addr::from(u128::from(ip) & mask)
}

/// Keeps the first `prefix` bits (clamped to 32) of `ip`.
fn truncate_v4(ip: Ipv4Addr, prefix: u8) -> Ipv4Addr {
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix.min(32))).unwrap_or(0);
    Ipv4Addr::from(u32::from(ip) & mask)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::action::testing;

    fn trunc(s: &str, v4: u8, v6: u8) -> String {
        let ip = parse_ip(s).unwrap();
        let mut out = String::new();
        write_ip(truncate_ip(ip, v4, v6), &mut out);
        out
    }

    /// Runs the compiled action on one string value.
    fn apply(config: &str, value: &str) -> Option<String> {
        let spec: TruncateIpConfig = toml::from_str(config).unwrap();
        testing::apply_str(&spec.compile(&KeyStore::default()).unwrap(), value)
    }

    #[test]
    fn config_defaults_errors_and_explain() {
        let c: TruncateIpConfig = toml::from_str("").unwrap();
        assert_eq!((c.ipv4_prefix, c.ipv6_prefix), (24, 48));
        assert_eq!(
            c.explain(),
            "IP address truncated: IPv4 to /24, IPv6 to /48 (host bits zeroed)"
        );
        let e = toml::from_str::<TruncateIpConfig>("ipv4_prefx = 16").unwrap_err();
        assert!(e.message().contains("ipv4_prefx"), "{e}");
        let c: TruncateIpConfig = toml::from_str("ipv4_prefix = 33").unwrap();
        let e = c.compile(&KeyStore::default()).unwrap_err();
        assert_eq!((e.field, e.problem.as_str()), ("ipv4_prefix", "must be between 0 and 32"));
        let c: TruncateIpConfig = toml::from_str("ipv6_prefix = 129").unwrap();
        assert_eq!(c.compile(&KeyStore::default()).unwrap_err().field, "ipv6_prefix");
    }

    #[test]
    fn apply_writes_quoted_or_drops() {
        assert_eq!(apply("", "203.0.113.77").as_deref(), Some("\"203.0.113.0\""));
        assert_eq!(
            apply("ipv6_prefix = 32", "2001:db8:abcd::1").as_deref(),
            Some("\"2001:db8::\"")
        );
        assert_eq!(apply("", "203.0.113.77:80"), None);
        assert_eq!(apply("", "alice@example.com"), None);
    }

    #[test]
    fn default_prefixes() {
        assert_eq!(trunc("203.0.113.77", 24, 48), "203.0.113.0");
        assert_eq!(trunc("2a02:810d:9f:3a::17", 24, 48), "2a02:810d:9f::");
        assert_eq!(trunc("[2001:db8:abcd:12:34:56:78:9a]", 24, 48), "2001:db8:abcd::");
    }

    #[test]
    fn zero_prefix_wipes_everything() {
        assert_eq!(trunc("203.0.113.77", 0, 0), "0.0.0.0");
        assert_eq!(trunc("2a02:810d:9f:3a::17", 0, 0), "::");
    }

    #[test]
    fn full_prefix_keeps_everything() {
        assert_eq!(trunc("203.0.113.77", 32, 128), "203.0.113.77");
        assert_eq!(trunc("2a02:810d:9f:3a::17", 32, 128), "2a02:810d:9f:3a::17");
    }

    #[test]
    fn odd_prefixes_cut_inside_a_group() {
        assert_eq!(trunc("203.0.113.255", 25, 48), "203.0.113.128");
        assert_eq!(trunc("255.255.255.255", 1, 48), "128.0.0.0");
        assert_eq!(trunc("255.255.255.255", 31, 48), "255.255.255.254");
        assert_eq!(trunc("2a02:810d:9f:3a::17", 24, 20), "2a02:8000::");
        assert_eq!(trunc("ffff:ffff:ffff:ffff::ffff", 24, 127), "ffff:ffff:ffff:ffff::fffe");
        assert_eq!(trunc("ffff:ffff:ffff:ffff::ffff", 24, 1), "8000::");
    }

    #[test]
    fn out_of_range_prefixes_clamp_instead_of_panicking() {
        let v4 = parse_ip("203.0.113.77").unwrap();
        let v6 = parse_ip("2a02:810d:9f:3a::17").unwrap();
        let mapped = parse_ip("::ffff:203.0.113.77").unwrap();
        for p in 0..=u8::MAX {
            let _ = truncate_ip(v4, p, p);
            let _ = truncate_ip(v6, p, p);
            let _ = truncate_ip(mapped, p, p);
        }
        assert_eq!(truncate_ip(v4, 33, 0), v4);
        assert_eq!(truncate_ip(v4, u8::MAX, 0), v4);
        assert_eq!(truncate_ip(v6, 0, 129), v6);
        assert_eq!(truncate_ip(v6, 0, u8::MAX), v6);
        assert_eq!(truncate_ip(mapped, u8::MAX, 0), mapped);
    }

    #[test]
    fn mapped_addresses_use_the_ipv4_prefix() {
        assert_eq!(trunc("::ffff:203.0.113.77", 24, 48), "::ffff:203.0.113.0");
        assert_eq!(trunc("[::ffff:203.0.113.77]", 16, 128), "::ffff:203.0.0.0");
        assert_eq!(trunc("::ffff:203.0.113.77", 0, 128), "::ffff:0.0.0.0");
        assert_eq!(trunc("::ffff:cb00:714d", 24, 0), "::ffff:203.0.113.0");
        // Not mapped (wrong marker): an ordinary IPv6 address.
        assert_eq!(trunc("::fffe:203.0.113.77", 24, 48), "::");
    }

    #[test]
    fn embedded_ipv4_uses_the_ipv4_prefix() {
        // 6to4: a /48 would keep all of 203.0.113.77.
        assert_eq!(trunc("2002:cb00:714d::1", 24, 48), "2002:cb00:7100::");
        assert_eq!(trunc("2002:cb00:714d:ab:1:2:3:4", 24, 128), "2002:cb00:7100::");
        assert_eq!(trunc("2002:cb00:714d::1", 16, 64), "2002:cb00::");
        // A shorter IPv6 prefix still applies on top.
        assert_eq!(trunc("2002:cb00:714d::1", 24, 24), "2002:cb00::");
        // NAT64 and IPv4-compatible keep their marker.
        assert_eq!(trunc("64:ff9b::203.0.113.77", 24, 48), "64:ff9b::cb00:7100");
        assert_eq!(trunc("64:ff9b::cb00:714d", 8, 128), "64:ff9b::cb00:0");
        assert_eq!(trunc("::203.0.113.77", 24, 128), "::cb00:7100");
        // Teredo: never more than 64 bits, so the client IPv4/port are gone.
        assert_eq!(trunc("2001:0:4136:e378:8000:63bf:3fff:fdd2", 24, 128), "2001:0:4136:e378::");
        assert_eq!(trunc("2001:0:4136:e378:8000:63bf:3fff:fdd2", 24, 48), "2001:0:4136::");
        // Not Teredo (2001:db8::/32 documentation range): ordinary IPv6.
        assert_eq!(trunc("2001:db8:1:2:3:4:5:6", 24, 96), "2001:db8:1:2:3:4::");
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        proptest! {
        #[test]
        fn truncation_keeps_prefix_and_zeroes_rest(
            bits in any::<u128>(), v4 in any::<u32>(), p4 in 0u8..=32, p6 in 0u8..=128,
        ) {
            let IpAddr::V4(t4) = truncate_ip(IpAddr::V4(Ipv4Addr::from(v4)), p4, p6) else {
                panic!("family changed");
            };
            let t4 = u32::from(t4);
            let host4 = u32::MAX.checked_shr(u32::from(p4)).unwrap_or(0);
            prop_assert_eq!(t4 & host4, 0);
            prop_assert_eq!(t4, v4 & !host4);

            let v6 = Ipv6Addr::from(bits);
            prop_assume!(embedded_ipv4(v6).is_none() && bits >> 96 != 0x2001_0000);
            let IpAddr::V6(t6) = truncate_ip(IpAddr::V6(v6), p4, p6) else {
                panic!("family changed");
            };
            let t6 = u128::from(t6);
            let host6 = u128::MAX.checked_shr(u32::from(p6)).unwrap_or(0);
            prop_assert_eq!(t6, bits & !host6);
            // Idempotent.
            prop_assert_eq!(truncate_ip(IpAddr::V6(Ipv6Addr::from(t6)), p4, p6), IpAddr::V6(Ipv6Addr::from(t6)));
        }

        /// Oracle built from segments: the truncated IPv4 re-embedded by hand.
        #[test]
        fn embedded_ipv4_never_keeps_more_than_the_ipv4_prefix(
            v4 in any::<u32>(), rest in any::<u128>(), p4 in 0u8..=32, p6 in 48u8..=128,
        ) {
            let t = v4 & u32::MAX.checked_shl(32 - u32::from(p4)).unwrap_or(0);
            let (hi, lo) = ((t >> 16) as u16, t as u16);
            let (vhi, vlo) = ((v4 >> 16) as u16, v4 as u16);
            let r = rest.to_be_bytes();
            let seg = |i: usize| u16::from_be_bytes([r[i], r[i + 1]]);
            for (input, expected) in [
                (Ipv6Addr::new(0x2002, vhi, vlo, seg(0), seg(2), seg(4), seg(6), seg(8)),
                 Ipv6Addr::new(0x2002, hi, lo, 0, 0, 0, 0, 0)),
                (Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, vhi, vlo),
                 Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, hi, lo)),
                (Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, vhi, vlo),
                 Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, hi, lo)),
                (Ipv6Addr::new(0, 0, 0, 0, 0, 0, vhi, vlo),
                 Ipv6Addr::new(0, 0, 0, 0, 0, 0, hi, lo)),
            ] {
                prop_assert_eq!(truncate_ip(IpAddr::V6(input), p4, p6), IpAddr::V6(expected));
            }
        }
        }
    }
}
