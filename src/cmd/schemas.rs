//! JSON Schemas of the statistics topics, generated from the `[[stats]]`
//! blocks (`logveil explain --schemas DIR` writes one file per stats topic).

use serde_json::{json, Map, Value};

use crate::pipeline::PipelineSet;
use crate::stats::spec::{MeasureKind, StatSpec};

/// The JSON Schema of one statistic's group rows and window summaries.
pub fn stat_schema(spec: &StatSpec) -> Value {
    let dims: Map<String, Value> = spec
        .group_by
        .iter()
        .map(|d| (d.clone(), json!({"type": ["string", "number", "boolean", "null"]})))
        .collect();
    let measures: Map<String, Value> = spec
        .measures
        .iter()
        .map(|m| {
            let schema = match m.kind {
                MeasureKind::Count | MeasureKind::Distinct => json!({"type": "integer", "minimum": 0}),
                MeasureKind::Sum => json!({"type": "number"}),
                MeasureKind::Quantiles => json!({
                    "type": "object",
                    "additionalProperties": {"type": ["number", "null"]},
                    "description": "quantile name (p50, p99.9, ...) to value, DDSketch within the relative accuracy"
                }),
            };
            (m.name.clone(), schema)
        })
        .collect();
    let common = json!({
        "schema": {"const": "logveil.stats/1"},
        "stat": {"const": spec.name},
        "window_start": {"type": "string", "format": "date-time"},
        "window_end": {"type": "string", "format": "date-time"},
        "partial": {"type": "boolean", "description": "true for windows flushed early at shutdown"}
    });
    let mut group = common.clone();
    group["dimensions"] = json!({"type": "object", "properties": dims, "additionalProperties": false,
        "description": "all \"__other__\" for the row that folds suppressed groups"});
    group["measures"] =
        json!({"type": "object", "properties": measures, "additionalProperties": false});
    let mut summary = common;
    summary["summary"] = json!({"const": true});
    for k in ["groups_emitted", "groups_suppressed", "late_records"] {
        summary[k] = json!({"type": "integer", "minimum": 0});
    }
    for k in ["records_suppressed", "overflow_records"] {
        summary[k] = json!({"type": ["integer", "null"], "minimum": 0,
            "description": "null when withheld: fewer than two groups, or fewer than min_count records"});
    }
    summary["other_emitted"] = json!({"type": "boolean"});
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": format!("logveil statistics row: {} (topic {})", spec.name, spec.topic),
        "oneOf": [
            {"type": "object", "properties": group,
             "required": ["schema", "stat", "window_start", "window_end", "partial", "dimensions", "measures"],
             "additionalProperties": false},
            {"type": "object", "properties": summary,
             "required": ["schema", "stat", "window_start", "window_end", "partial", "summary"],
             "additionalProperties": false}
        ]
    })
}

/// One schema per stats topic: `(topic, schema)`; a topic shared by several
/// statistics gets a `oneOf` over them.
pub fn topic_schemas(set: &PipelineSet) -> Vec<(String, Value)> {
    let mut by_topic: std::collections::BTreeMap<String, Vec<Value>> = Default::default();
    for p in set.pipelines() {
        for s in &p.stats_specs {
            by_topic.entry(s.topic.clone()).or_default().push(stat_schema(s));
        }
    }
    by_topic
        .into_iter()
        .map(|(topic, mut schemas)| {
            let schema = if schemas.len() == 1 {
                schemas.remove(0)
            } else {
                json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "oneOf": schemas})
            };
            (topic, schema)
        })
        .collect()
}
