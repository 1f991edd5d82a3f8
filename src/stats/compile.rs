//! Validation of a `[[stats]]` block into an immutable [`CompiledStat`].
//!
//! Everything that can be wrong with a statistic is rejected here, at start,
//! with an error naming the stat and the offending key
//! (`stats[requests_per_minute].window: ...`); nothing is checked per record.

use std::collections::HashSet;
use std::sync::Arc;

use super::sketch::Mapping;
use super::spec::{DeriveKind, MeasureKind, StatSpec, Suppression, TimeFormat};
use super::time::parse_duration_ms;
use super::StatsError;

/// Largest accepted window (31 days).
const MAX_WINDOW_MS: i64 = 31 * 86_400_000;
/// `allowed_lateness` may be at most this many windows.
const MAX_LATENESS_WINDOWS: i64 = 100;
/// Upper bound for `max_open_windows`.
const MAX_OPEN_WINDOWS_LIMIT: i64 = 1_000;
/// Upper bound for `max_groups`.
const MAX_GROUPS_LIMIT: i64 = 1_000_000;
/// Upper bound for the number of `group_by` dimensions.
const MAX_DIMENSIONS: usize = 32;

fn default_quantiles() -> Vec<f64> {
    vec![0.5, 0.9, 0.99]
}
const DEFAULT_PRECISION: u8 = 12;
const DEFAULT_ACCURACY: f64 = 0.01;

/// Where a dimension or measure value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Source {
    /// A dotted path, split into segments.
    Path(Vec<String>),
    /// A derivation of a dotted path.
    Derived(DeriveKind, Vec<String>),
}

/// Validated measure.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CompiledMeasure {
    pub(crate) name: String,
    pub(crate) kind: CompiledKind,
    pub(crate) source: Option<Source>,
}

/// Validated measure kind with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CompiledKind {
    Count,
    Sum,
    Distinct {
        precision: u8,
    },
    /// `mapping` is the accuracy's bucket mapping, shared by every group's sketch.
    Quantiles {
        accuracy: f64,
        quantiles: Vec<(f64, String)>,
        mapping: Arc<Mapping>,
    },
}

/// A validated, immutable statistic, ready for [`super::StatsEngine::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledStat {
    pub(crate) name: String,
    pub(crate) topic: String,
    pub(crate) window_ms: i64,
    pub(crate) lateness_ms: i64,
    /// See `StatSpec::idle_timeout`.
    pub(crate) idle_ms: i64,
    pub(crate) time_path: Vec<String>,
    pub(crate) time_format: TimeFormat,
    pub(crate) dims: Vec<(String, Source)>,
    pub(crate) measures: Vec<CompiledMeasure>,
    pub(crate) max_groups: usize,
    /// See `StatSpec::max_open_windows`.
    pub(crate) max_open_windows: usize,
    pub(crate) min_count: u64,
    pub(crate) min_distinct: u64,
    pub(crate) suppression: Suppression,
    pub(crate) epsilon: Option<f64>,
}

impl CompiledStat {
    /// Name of the statistic.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Output topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }
}

/// Compiles several blocks, additionally checking that stat names are unique.
///
/// # Errors
/// The first [`StatsError::Spec`] found.
pub fn compile_all(specs: &[StatSpec]) -> Result<Vec<CompiledStat>, StatsError> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(specs.len());
    for spec in specs {
        if !seen.insert(spec.name.as_str()) {
            return Err(spec_err(&spec.name, "name", "duplicate stat name"));
        }
        out.push(spec.compile()?);
    }
    Ok(out)
}

fn spec_err(stat: &str, field: impl Into<String>, problem: &'static str) -> StatsError {
    StatsError::Spec { stat: stat.to_owned(), field: field.into(), problem }
}

fn split_path(path: &str) -> Option<Vec<String>> {
    let segments: Vec<String> = path.split('.').map(str::to_owned).collect();
    (!segments.iter().any(String::is_empty)).then_some(segments)
}

impl StatSpec {
    /// Validates this block and compiles it.
    ///
    /// # Errors
    /// [`StatsError::Spec`] naming the stat and the key, e.g.
    /// `stats[requests_per_minute].window: not a duration like 30s, 1m, 1h, 1d`.
    pub fn compile(&self) -> Result<CompiledStat, StatsError> {
        let err = |field: &str, problem| spec_err(&self.name, field, problem);
        let name_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
        if self.name.is_empty() || !self.name.chars().all(name_ok) {
            return Err(err("name", "must be non-empty letters, digits, '_', '-', '.'"));
        }
        if self.topic.trim().is_empty() {
            return Err(err("topic", "must not be empty"));
        }
        let duration_msg = "not a duration like 30s, 1m, 1h, 1d";
        let window_ms =
            parse_duration_ms(&self.window).ok_or_else(|| err("window", duration_msg))?;
        if !(1_000..=MAX_WINDOW_MS).contains(&window_ms) {
            return Err(err("window", "must be between 1s and 31d"));
        }
        let lateness_ms = parse_duration_ms(&self.allowed_lateness)
            .ok_or_else(|| err("allowed_lateness", duration_msg))?;
        if lateness_ms > window_ms * MAX_LATENESS_WINDOWS {
            return Err(err("allowed_lateness", "must be at most 100 windows"));
        }
        let idle_ms = match &self.idle_timeout {
            None => window_ms,
            Some(text) => {
                parse_duration_ms(text).ok_or_else(|| err("idle_timeout", duration_msg))?
            }
        };
        if !(1_000..=MAX_WINDOW_MS).contains(&idle_ms) {
            return Err(err("idle_timeout", "must be between 1s and 31d"));
        }
        let time_path = split_path(&self.time_field)
            .ok_or_else(|| err("time_field", "must be a dotted path without empty segments"))?;
        if !(1..=MAX_GROUPS_LIMIT).contains(&self.max_groups) {
            return Err(err("max_groups", "must be between 1 and 1000000"));
        }
        if !(1..=MAX_OPEN_WINDOWS_LIMIT).contains(&self.max_open_windows) {
            return Err(err("max_open_windows", "must be between 1 and 1000"));
        }
        let min_count =
            u64::try_from(self.min_count).map_err(|_| err("min_count", "must be >= 0"))?;
        let min_distinct =
            u64::try_from(self.min_distinct).map_err(|_| err("min_distinct", "must be >= 0"))?;
        if let Some(eps) = self.epsilon {
            if !eps.is_finite() || eps <= 0.0 {
                return Err(err("epsilon", "must be a finite number > 0"));
            }
        }
        for (name, derive) in &self.derive {
            let field = format!("derive.{name}");
            if name.is_empty() {
                return Err(err("derive", "derived dimension names must not be empty"));
            }
            if split_path(&derive.from).is_none() {
                return Err(err(&field, "from must be a dotted path without empty segments"));
            }
        }
        let resolve = |name: &str| -> Option<Source> {
            match self.derive.get(name) {
                Some(d) => split_path(&d.from).map(|p| Source::Derived(d.kind, p)),
                None => split_path(name).map(Source::Path),
            }
        };
        if self.group_by.len() > MAX_DIMENSIONS {
            return Err(err("group_by", "at most 32 dimensions"));
        }
        let mut dims = Vec::with_capacity(self.group_by.len());
        for dim in &self.group_by {
            if dims.iter().any(|(n, _)| n == dim) {
                return Err(err("group_by", "duplicate dimension"));
            }
            let source = resolve(dim).ok_or_else(|| {
                err("group_by", "dimensions must be dotted paths or derived names")
            })?;
            dims.push((dim.clone(), source));
        }
        if self.measures.is_empty() {
            return Err(err("measures", "at least one measure is required"));
        }
        let mut measures = Vec::with_capacity(self.measures.len());
        for (i, m) in self.measures.iter().enumerate() {
            let label = if m.name.is_empty() { i.to_string() } else { m.name.clone() };
            let merr = |key: &str, problem| {
                spec_err(&self.name, format!("measures[{label}].{key}"), problem)
            };
            if m.name.is_empty() {
                return Err(merr("name", "must not be empty"));
            }
            if measures.iter().any(|c: &CompiledMeasure| c.name == m.name) {
                return Err(merr("name", "duplicate measure name"));
            }
            let source = match &m.field {
                Some(f) => Some(
                    resolve(f)
                        .ok_or_else(|| merr("field", "must be a dotted path or derived name"))?,
                ),
                None if m.kind == MeasureKind::Count => None,
                None => return Err(merr("field", "required for sum, distinct and quantiles")),
            };
            if m.precision.is_some() && m.kind != MeasureKind::Distinct {
                return Err(merr("precision", "only allowed for kind = \"distinct\""));
            }
            if (m.quantiles.is_some() || m.relative_accuracy.is_some())
                && m.kind != MeasureKind::Quantiles
            {
                return Err(merr(
                    "quantiles",
                    "quantiles/relative_accuracy only allowed for kind = \"quantiles\"",
                ));
            }
            let kind = match m.kind {
                MeasureKind::Count => CompiledKind::Count,
                MeasureKind::Sum => CompiledKind::Sum,
                MeasureKind::Distinct => {
                    let p = m.precision.unwrap_or(i64::from(DEFAULT_PRECISION));
                    let precision = u8::try_from(p)
                        .ok()
                        .filter(|p| (4..=18).contains(p))
                        .ok_or_else(|| merr("precision", "must be between 4 and 18"))?;
                    CompiledKind::Distinct { precision }
                }
                MeasureKind::Quantiles => {
                    let accuracy = m.relative_accuracy.unwrap_or(DEFAULT_ACCURACY);
                    if !(0.005..=0.1).contains(&accuracy) {
                        return Err(merr("relative_accuracy", "must be between 0.005 and 0.1"));
                    }
                    let qs = m.quantiles.clone().unwrap_or_else(default_quantiles);
                    if qs.is_empty() {
                        return Err(merr("quantiles", "must not be empty"));
                    }
                    let mut quantiles: Vec<(f64, String)> = Vec::with_capacity(qs.len());
                    for q in qs {
                        if !(q > 0.0 && q < 1.0) {
                            return Err(merr("quantiles", "each quantile must be in (0, 1)"));
                        }
                        let label = quantile_label(q);
                        if quantiles.iter().any(|(_, l)| *l == label) {
                            return Err(merr("quantiles", "duplicate quantile"));
                        }
                        quantiles.push((q, label));
                    }
                    CompiledKind::Quantiles {
                        accuracy,
                        quantiles,
                        mapping: Mapping::shared(accuracy),
                    }
                }
            };
            measures.push(CompiledMeasure { name: m.name.clone(), kind, source });
        }
        Ok(CompiledStat {
            name: self.name.clone(),
            topic: self.topic.clone(),
            window_ms,
            lateness_ms,
            idle_ms,
            time_path,
            time_format: self.time_format,
            dims,
            measures,
            max_groups: self.max_groups as usize,
            max_open_windows: self.max_open_windows as usize,
            min_count,
            min_distinct,
            suppression: self.suppression,
            epsilon: self.epsilon,
        })
    }
}

/// `0.5` -> `p50`, `0.999` -> `p99.9` (up to four decimals of percent).
fn quantile_label(q: f64) -> String {
    let pct = format!("{:.4}", q * 100.0);
    let pct = pct.trim_end_matches('0').trim_end_matches('.');
    format!("p{pct}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::spec::tests::{parse, EXAMPLE};

    fn compile_err(edit: impl Fn(&mut StatSpec)) -> String {
        let mut spec = parse(EXAMPLE).remove(0);
        edit(&mut spec);
        spec.compile().unwrap_err().to_string()
    }

    #[test]
    fn example_compiles() {
        let c = compile_all(&parse(EXAMPLE)).unwrap().remove(0);
        assert_eq!((c.window_ms, c.lateness_ms, c.max_groups), (60_000, 30_000, 10_000));
        assert_eq!(c.max_open_windows, 64);
        assert_eq!((c.min_count, c.min_distinct, c.epsilon), (5, 3, None));
        assert_eq!(c.dims[0].1, Source::Derived(DeriveKind::PathTemplate, vec!["path".into()]));
        assert_eq!(c.dims[2].1, Source::Path(vec!["user_agent".into(), "browser".into()]));
        assert_eq!(c.measures[1].kind, CompiledKind::Distinct { precision: 12 });
        let CompiledKind::Quantiles { quantiles, accuracy, .. } = &c.measures[3].kind else {
            panic!("not quantiles")
        };
        let labels: Vec<&str> = quantiles.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["p50", "p90", "p99", "p99.9"]);
        assert_eq!(*accuracy, 0.01);
    }

    #[test]
    fn defaults_apply() {
        let text = "[[stats]]\nname = \"a\"\ntopic = \"t\"\nwindow = \"10s\"\n[[stats.measures]]\nname = \"n\"\nkind = \"count\"\n";
        let c = parse(text).remove(0).compile().unwrap();
        assert_eq!(c.time_path, vec!["ts".to_owned()]);
        assert_eq!((c.lateness_ms, c.min_count, c.min_distinct, c.max_groups), (0, 1, 0, 10_000));
        assert_eq!(c.suppression, Suppression::Other);
        assert_eq!(c.time_format, TimeFormat::Auto);
    }

    #[test]
    fn errors_name_stat_and_field() {
        type Edit = Box<dyn Fn(&mut StatSpec)>;
        let cases: Vec<(Edit, &str)> = vec![
            (Box::new(|s| s.window = "1x".into()), "stats[requests_per_minute].window: "),
            (Box::new(|s| s.window = "0s".into()), "stats[requests_per_minute].window: "),
            (Box::new(|s| s.window = "40d".into()), "stats[requests_per_minute].window: "),
            (Box::new(|s| s.allowed_lateness = "2h".into()), "].allowed_lateness: "),
            (Box::new(|s| s.allowed_lateness = "x".into()), "].allowed_lateness: "),
            (Box::new(|s| s.min_count = -1), "stats[requests_per_minute].min_count: "),
            (Box::new(|s| s.min_distinct = -3), "].min_distinct: "),
            (Box::new(|s| s.max_groups = 0), "].max_groups: "),
            (Box::new(|s| s.max_open_windows = 0), "].max_open_windows: "),
            (Box::new(|s| s.max_open_windows = 1001), "].max_open_windows: "),
            (Box::new(|s| s.epsilon = Some(0.0)), "].epsilon: "),
            (Box::new(|s| s.epsilon = Some(f64::NAN)), "].epsilon: "),
            (Box::new(|s| s.name = "a|b".into()), "stats[a|b].name: "),
            (Box::new(|s| s.topic = " ".into()), "].topic: "),
            (Box::new(|s| s.time_field = "a..b".into()), "].time_field: "),
            (Box::new(|s| s.group_by.push("status_class".into())), "].group_by: duplicate"),
            (Box::new(|s| s.group_by.push("x.".into())), "].group_by: "),
            (Box::new(|s| s.measures.clear()), "].measures: "),
            (
                Box::new(|s| s.measures[1].name = "requests".into()),
                "].measures[requests].name: duplicate",
            ),
            (Box::new(|s| s.measures[2].field = None), "].measures[bytes].field: required"),
            (Box::new(|s| s.measures[1].precision = Some(3)), "].measures[users].precision: "),
            (Box::new(|s| s.measures[0].precision = Some(12)), "].measures[requests].precision: "),
            (
                Box::new(|s| s.measures[3].quantiles = Some(vec![1.0])),
                "].measures[duration_ms].quantiles: ",
            ),
            (
                Box::new(|s| s.measures[3].quantiles = Some(vec![0.0])),
                "].measures[duration_ms].quantiles: ",
            ),
            (Box::new(|s| s.measures[3].quantiles = Some(vec![0.5, 0.5])), "quantiles: duplicate"),
            (
                Box::new(|s| s.measures[3].quantiles = Some(vec![])),
                "].measures[duration_ms].quantiles: ",
            ),
            (Box::new(|s| s.measures[3].relative_accuracy = Some(0.5)), "].relative_accuracy: "),
            (
                Box::new(|s| s.measures[2].quantiles = Some(vec![0.5])),
                "].measures[bytes].quantiles: ",
            ),
            (
                Box::new(|s| s.derive.get_mut("status_class").unwrap().from = String::new()),
                "].derive.status_class: ",
            ),
        ];
        for (edit, expected) in cases {
            let msg = compile_err(edit);
            assert!(msg.contains(expected), "{msg:?} lacks {expected:?}");
            assert!(msg.starts_with("stats["), "{msg}");
        }
    }

    #[test]
    fn duplicate_stat_names_rejected() {
        let mut specs = parse(EXAMPLE);
        specs.push(specs[0].clone());
        let msg = compile_all(&specs).unwrap_err().to_string();
        assert_eq!(msg, "stats[requests_per_minute].name: duplicate stat name");
    }

    #[test]
    fn quantile_labels() {
        assert_eq!(quantile_label(0.5), "p50");
        assert_eq!(quantile_label(0.999), "p99.9");
        assert_eq!(quantile_label(0.25), "p25");
        assert_eq!(quantile_label(0.0001), "p0.01");
    }
}
