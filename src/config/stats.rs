//! `[stats]` of `config/logveil.toml`: how a pipeline's statistics are
//! finalized across instances ([`StatsMode`]). Read by the anonymizer that
//! runs the statistics and by `logveil run` (which creates the partials
//! topic on an embedded broker).

use serde::Deserialize;

/// How statistics are finalized.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "StatsTable")]
pub enum StatsMode {
    /// Each instance thresholds and emits its own windows (default).
    #[default]
    Direct,
    /// Partials go through `partials_topic`; the owner of a window's key merges them.
    Merged {
        /// Internal topic for partial aggregates (also consumed by the group).
        partials_topic: String,
        /// Wall-clock milliseconds a window's owner waits after a sender's
        /// watermark arrives before it may close windows with it, so partials
        /// from instances that tick later are merged, not counted late.
        merge_delay_ms: i64,
    },
}

/// The `[stats]` table as written. serde's internally tagged enums accept
/// unknown keys beside a unit variant (`mode = "direct"` with a stray
/// `partials_topic` would pass silently), so the table is read flat, with
/// unknown keys refused, and then checked per mode.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatsTable {
    /// `direct` or `merged`.
    mode: ModeName,
    /// Merged only.
    partials_topic: Option<String>,
    /// Merged only.
    merge_delay_ms: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum ModeName {
    Direct,
    Merged,
}

/// The problem of a direct `[stats]` table with merged-only settings.
pub(crate) const MERGED_ONLY: &str =
    "`partials_topic` and `merge_delay_ms` only apply to mode = \"merged\"";

impl TryFrom<StatsTable> for StatsMode {
    type Error = &'static str;

    fn try_from(t: StatsTable) -> Result<Self, Self::Error> {
        match t.mode {
            ModeName::Direct if t.partials_topic.is_some() || t.merge_delay_ms.is_some() => {
                Err(MERGED_ONLY)
            }
            ModeName::Direct => Ok(StatsMode::Direct),
            ModeName::Merged => Ok(StatsMode::Merged {
                partials_topic: t.partials_topic.unwrap_or_else(default_partials_topic),
                merge_delay_ms: t.merge_delay_ms.unwrap_or_else(default_merge_delay_ms),
            }),
        }
    }
}

/// Default merge delay: a few service ticks (1 s each) plus produce latency.
pub fn default_merge_delay_ms() -> i64 {
    5_000
}

/// Default internal topic for statistics partials.
pub fn default_partials_topic() -> String {
    "logveil.stats.partials".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct T {
        #[serde(default)]
        stats: StatsMode,
    }

    #[test]
    fn direct_by_default_merged_with_defaults() {
        let t: T = toml::from_str("").unwrap();
        assert_eq!(t.stats, StatsMode::Direct);
        let t: T = toml::from_str("[stats]\nmode = \"merged\"\n").unwrap();
        assert_eq!(
            t.stats,
            StatsMode::Merged { partials_topic: default_partials_topic(), merge_delay_ms: 5_000 }
        );
        let t: T = toml::from_str(
            "[stats]\nmode = \"merged\"\npartials_topic = \"p\"\nmerge_delay_ms = 0\n",
        )
        .unwrap();
        assert_eq!(t.stats, StatsMode::Merged { partials_topic: "p".into(), merge_delay_ms: 0 });
    }

    #[test]
    fn unknown_and_misplaced_keys_are_refused() {
        for text in [
            "[stats]\nmode = \"direct\"\ntopic = \"x\"\n",
            "[stats]\nmode = \"merged\"\ntopic = \"x\"\n",
            "[stats]\nmode = \"direct\"\npartials_topic = \"x\"\n",
            "[stats]\nmode = \"both\"\n",
            "[stats]\npartials_topic = \"x\"\n",
        ] {
            assert!(toml::from_str::<T>(text).is_err(), "{text}");
        }
    }
}
