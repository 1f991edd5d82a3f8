//! `logveil check`: validate config, every pipeline and key availability.

use std::path::Path;
use std::process::ExitCode;

use crate::config::Config;
use crate::keys::ProcessEnv;

/// Loads everything `run` would load and reports what it found.
///
/// # Errors
/// The first problem, naming file, field and problem.
pub fn run(config_path: &Path) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path, std::env::vars())?;
    let (keys, set) = config.load_pipelines(&ProcessEnv)?;
    println!("config   {} ok", config.path.display());
    for o in &config.overrides {
        println!("override {o}");
    }
    for ring in keys.rings() {
        let prev = ring
            .previous
            .as_ref()
            .map(|(k, _)| format!(", previous key id {}", k.id))
            .unwrap_or_default();
        println!("key      {}: key id {}{prev}", ring.name, ring.current.id);
    }
    for p in set.pipelines() {
        println!(
            "pipeline {} ({}): {} rules, {} stats, {} tests; {} -> {}",
            p.name,
            serde_json::to_string(&p.category).unwrap_or_default().trim_matches('"'),
            p.rules.len(),
            p.stats.len(),
            p.tests.len(),
            p.input_topics.join(","),
            p.output_topic
        );
    }
    println!("all checks passed");
    Ok(ExitCode::SUCCESS)
}
