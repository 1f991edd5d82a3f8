//! The per-worker cache of User-Agent reductions: bounded, two-generation,
//! allocation-free on hits.

use std::collections::HashMap;

use super::classify;

/// The cache's hasher: foldhash, seeded randomly per process (so colliding
/// User-Agents cannot be precomputed), several times faster than SipHash on
/// 100–200-byte strings.
type UaHasher = foldhash::fast::RandomState;

/// User-Agents longer than this are classified on every call instead of being
/// cached, so the cache's memory stays bounded by its capacity.
pub const MAX_CACHED_UA_BYTES: usize = 1024;

/// Bounded cache of reductions (user-agents repeat heavily), storing the
/// serialised JSON per User-Agent.
///
/// Not thread-safe by design: one per worker thread.
///
/// Eviction is two-generation ("hot"/"cold"), a cheap approximation of LRU:
/// new entries go to the hot map; a hit in the cold map moves the entry back
/// to hot; when hot holds `capacity / 2` entries, the cold generation is
/// dropped and hot becomes cold. User-agents seen at least once per
/// generation therefore stay cached, and the total never exceeds `capacity`
/// (with `capacity == 1` there is only one generation; `0` disables caching).
/// Both maps are allocated up front, so hits never allocate.
/// User-agents longer than [`MAX_CACHED_UA_BYTES`] are not cached.
#[derive(Debug)]
pub struct UserAgentCache {
    hot: HashMap<Box<str>, Box<[u8]>, UaHasher>,
    cold: HashMap<Box<str>, Box<[u8]>, UaHasher>,
    capacity: usize,
    generation_limit: usize,
}

impl UserAgentCache {
    /// Creates a cache holding at most `capacity` user-agents.
    pub fn new(capacity: usize) -> Self {
        let (generation_limit, cold_capacity) =
            if capacity >= 2 { (capacity / 2, capacity / 2) } else { (capacity, 0) };
        UserAgentCache {
            hot: HashMap::with_capacity_and_hasher(generation_limit, UaHasher::default()),
            cold: HashMap::with_capacity_and_hasher(cold_capacity, UaHasher::default()),
            capacity,
            generation_limit,
        }
    }

    /// Appends the JSON object for `ua` to `out`, classifying on a miss. Does
    /// not allocate on a hit (beyond growing `out`).
    pub fn write_reduced(&mut self, ua: &str, out: &mut Vec<u8>) {
        if let Some(json) = self.hot.get(ua) {
            out.extend_from_slice(json);
            return;
        }
        if let Some((key, json)) = self.cold.remove_entry(ua) {
            out.extend_from_slice(&json);
            self.insert_hot(key, json);
            return;
        }
        let start = out.len();
        classify(ua).write_json(out);
        if self.capacity > 0 && ua.len() <= MAX_CACHED_UA_BYTES {
            let json: Box<[u8]> = out[start..].into();
            self.insert_hot(ua.into(), json);
        }
    }

    fn insert_hot(&mut self, key: Box<str>, json: Box<[u8]>) {
        if self.hot.len() >= self.generation_limit {
            if self.capacity >= 2 {
                std::mem::swap(&mut self.hot, &mut self.cold);
            }
            self.hot.clear();
        }
        self.hot.insert(key, json);
    }

    /// Number of cached user-agents (never more than the capacity).
    pub fn len(&self) -> usize {
        self.hot.len() + self.cold.len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity given to [`UserAgentCache::new`].
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::user_agent::tests::{json_of, CASES};

    #[test]
    fn cache_hit_returns_identical_bytes() {
        let mut cache = UserAgentCache::new(16);
        assert!(cache.is_empty());
        for &(ua, ..) in CASES.iter().take(8) {
            let mut first = Vec::new();
            cache.write_reduced(ua, &mut first);
            let mut second = b"prefix".to_vec();
            cache.write_reduced(ua, &mut second);
            assert_eq!(&second[..6], b"prefix");
            assert_eq!(&second[6..], &first[..]);
            assert_eq!(first, json_of(&classify(ua)).into_bytes());
        }
        assert_eq!(cache.len(), 8);
    }

    #[test]
    fn cache_respects_capacity_and_keeps_hot_entries() {
        let hot_ua = CASES[0].0;
        for capacity in [0, 1, 2, 3, 7, 10] {
            let mut cache = UserAgentCache::new(capacity);
            let mut out = Vec::new();
            for i in 0..100 {
                cache.write_reduced(&format!("curl/{i}"), &mut out);
                assert!(cache.len() <= capacity, "capacity {capacity}");
                cache.write_reduced(hot_ua, &mut out);
                assert!(cache.len() <= capacity, "capacity {capacity}");
            }
            if capacity >= 2 {
                // Used every generation, so it survives eviction.
                assert!(cache.hot.contains_key(hot_ua) || cache.cold.contains_key(hot_ua));
            }
            assert_eq!(cache.is_empty(), capacity == 0);
        }
    }

    #[test]
    fn cache_hits_do_not_grow_the_maps() {
        let mut cache = UserAgentCache::new(8);
        let mut out = Vec::new();
        for &(ua, ..) in CASES.iter().take(8) {
            cache.write_reduced(ua, &mut out);
        }
        let capacities = (cache.hot.capacity(), cache.cold.capacity());
        let len = cache.len();
        for _ in 0..3 {
            for &(ua, ..) in CASES.iter().take(8) {
                cache.write_reduced(ua, &mut out);
            }
        }
        assert_eq!((cache.hot.capacity(), cache.cold.capacity()), capacities);
        assert!(cache.len() <= len);
    }

    #[test]
    fn overlong_user_agents_are_not_cached() {
        let mut cache = UserAgentCache::new(4);
        let ua = format!("curl/8.0 {}", "x".repeat(MAX_CACHED_UA_BYTES));
        let mut out = Vec::new();
        cache.write_reduced(&ua, &mut out);
        assert!(cache.is_empty());
        assert_eq!(out, json_of(&classify(&ua)).into_bytes());
    }
}
