//! Crypto-PAn (J. Xu, J. Fan, M. Ammar, S. Moon, "Prefix-Preserving IP
//! Address Anonymization", 2002): keyed, prefix-preserving IP anonymization,
//! bit-compatible with the original C++ distribution (`panonymizer.cpp`).
//! The cipher behind the [`pseudonymize_ip`](super::pseudonymize_ip) action.
//!
//! Why Crypto-PAn: two addresses that share a k-bit prefix map to addresses
//! that share exactly a k-bit prefix, so subnet structure survives (per-network
//! statistics, abuse analysis) while the addresses themselves are unlinkable
//! without the key. The mapping is a bijection and deterministic for a key, so
//! the same client gets the same pseudonym in every record and every process.
//!
//! Construction (32-byte key): the first 16 bytes are an AES-128 key; the
//! second 16 bytes, encrypted with it, form the `pad`. For output bit `i`, the
//! AES input block is the first `i` bits of the original address followed by
//! the pad's remaining bits; the most significant bit of the ciphertext is
//! XORed into address bit `i`. IPv4 takes 32 such blocks, IPv6 128. The blocks
//! depend only on the input, never on earlier outputs, so all of them are
//! built first and encrypted in one `encrypt_blocks` call, which lets AES-NI
//! pipeline them.
//!
//! IPv6: the original distribution is IPv4 only and has no IPv6 test vectors.
//! The same construction over 128 bits is what the widely used ports do (Go
//! `Yawning/cryptopan`, Python `yacryptopan`, C# `Sappan.CryptoPAn`, C
//! `libanon`, Node `node-cryptopan`); the tests pin their published vectors.
//!
//! IPv6 addresses that carry an IPv4 address (IPv4-mapped, IPv4-compatible,
//! NAT64 `64:ff9b::/96`, 6to4 `2002::/16`; see
//! [`crate::actions::ip::embedded_ipv4`]) are one client under two spellings,
//! so [`CryptoPan::anonymize`] gives them the pseudonym of the bare IPv4
//! address, re-embedded under the same marker: `::ffff:a.b.c.d` becomes
//! `::ffff:` + the pseudonym of `a.b.c.d`. For 6to4 the subnet and interface
//! ids (bits 48–127) are taken from the 128-bit pseudonym of the whole
//! address, so they stay hidden, the mapping stays a bijection and addresses
//! sharing a prefix still share one. (The ports above anonymize these as plain
//! 128-bit addresses; [`CryptoPan::anonymize_v6`] still does, and reproduces
//! their vectors.) Teredo addresses are anonymized as plain IPv6: every bit,
//! the obfuscated client IPv4 included, is pseudonymized.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use aes::cipher::{BlockEncrypt, KeyInit};

use super::ip::{embedded_ipv4, reembed_ipv4, Embedding};
use aes::{Aes128, Block};

/// A Crypto-PAn instance for one key: the AES-128 key schedule and the
/// precomputed pad. Immutable and cheap to share across threads.
///
/// `Debug` prints `CryptoPan([redacted])` and never any key material.
#[derive(Clone)]
pub struct CryptoPan {
    cipher: Aes128,
    /// `AES_K(key[16..32])` as a big-endian integer: bit 127 is the first bit.
    pad: u128,
}

impl fmt::Debug for CryptoPan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CryptoPan([redacted])")
    }
}

impl CryptoPan {
    /// Builds the instance from a 32-byte key: bytes `0..16` are the AES-128
    /// key, bytes `16..32` are encrypted with it to form the pad.
    pub fn new(key: &[u8; 32]) -> Self {
        let (aes_key, pad_seed) = key.split_at(16);
        let cipher = Aes128::new(aes_key.into());
        let mut pad = Block::clone_from_slice(pad_seed);
        cipher.encrypt_block(&mut pad);
        Self { cipher, pad: u128::from_be_bytes(pad.into()) }
    }

    /// Anonymizes an IPv4 address (32 AES blocks, encrypted in one batch).
    pub fn anonymize_v4(&self, ip: Ipv4Addr) -> Ipv4Addr {
        let orig = u32::from(ip);
        let otp = self.one_time_pad::<32>(u128::from(orig) << 96);
        // The pad bits sit at the top of the u128 (bits 127..96).
        Ipv4Addr::from(orig ^ (otp >> 96) as u32)
    }

    /// Anonymizes an IPv6 address over all 128 bits (128 AES blocks,
    /// encrypted in one batch).
    pub fn anonymize_v6(&self, ip: Ipv6Addr) -> Ipv6Addr {
        let orig = u128::from(ip);
        Ipv6Addr::from(orig ^ self.one_time_pad::<128>(orig))
    }

    /// Anonymizes either family (the `pseudonymize_ip` action). An IPv6
    /// address with an embedded IPv4 address gets the IPv4 pseudonym,
    /// re-embedded (see the module note).
    pub fn anonymize(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(v4) => IpAddr::V4(self.anonymize_v4(v4)),
            IpAddr::V6(v6) => IpAddr::V6(match embedded_ipv4(v6) {
                Some((how @ Embedding::SixToFour, v4)) => {
                    let rest = u128::from(self.anonymize_v6(v6));
                    reembed_ipv4(v6, how, self.anonymize_v4(v4), rest)
                }
                Some((how, v4)) => reembed_ipv4(v6, how, self.anonymize_v4(v4), 0),
                None => self.anonymize_v6(v6),
            }),
        }
    }

    /// Computes the first `N` bits (`N` ≤ 128) of the one-time pad for an
    /// address left-aligned in `orig`, returned left-aligned.
    ///
    /// Block `i` is `orig`'s first `i` bits followed by the pad's bits from
    /// `i` on; output bit `i` is the first bit of its ciphertext.
    fn one_time_pad<const N: usize>(&self, orig: u128) -> u128 {
        let mut blocks = [Block::default(); N];
        for (i, block) in blocks.iter_mut().enumerate() {
            // Top `i` bits set; `i < 128`, so the shift cannot overflow.
            let prefix = !(u128::MAX >> i);
            let input = (orig & prefix) | (self.pad & !prefix);
            *block = Block::from(input.to_be_bytes());
        }
        self.cipher.encrypt_blocks(&mut blocks);
        blocks
            .iter()
            .enumerate()
            .fold(0u128, |otp, (i, block)| otp | (u128::from(block[0] >> 7) << (127 - i)))
    }
}

#[cfg(test)]
mod tests;
