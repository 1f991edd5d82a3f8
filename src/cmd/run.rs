//! `logveil run`: the service — consumer group on every pipeline's topics.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;

use crate::anonymizer::Anonymizer;
use crate::config::Config;
use crate::keys::{KeyStore, ProcessEnv};
use crate::pipeline::PipelineSet;
use crate::service::{self, EmbeddedBroker, Shutdown};
use crate::stats::StatsMode;

/// Arguments of `run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Service config file.
    #[arg(long, env = "LOGVEIL_CONFIG", default_value = crate::config::DEFAULT_CONFIG)]
    pub config: PathBuf,
    /// Start an in-process Kafka-protocol broker (librdkafka's mock cluster)
    /// and use it instead of `kafka.brokers`: for trying logveil without Kafka.
    #[arg(long)]
    pub embedded_broker: bool,
}

/// Publishes which key id each ring uses (`logveil_key_info`).
pub fn publish_key_ids(keys: &KeyStore) {
    for ring in keys.rings() {
        crate::engine_metrics::key_in_use(&ring.name, &ring.current.id);
    }
}

/// Creates every topic the service touches on an embedded broker.
///
/// # Errors
/// When the broker refuses a topic.
pub fn create_topics(
    broker: &EmbeddedBroker,
    set: &PipelineSet,
    dead_letter_topic: &str,
    stats: &StatsMode,
    input_partitions: i32,
) -> anyhow::Result<()> {
    for p in set.pipelines() {
        for t in &p.input_topics {
            broker.create_topic(t, input_partitions)?;
        }
        broker.create_topic(&p.output_topic, input_partitions)?;
        for s in &p.stats {
            broker.create_topic(s.topic(), 1)?;
        }
    }
    broker.create_topic(dead_letter_topic, 1)?;
    if let StatsMode::Merged { partials_topic, .. } = stats {
        broker.create_topic(partials_topic, input_partitions)?;
    }
    Ok(())
}

/// Runs the service until SIGTERM/SIGINT.
///
/// # Errors
/// Config, key or pipeline errors at start; fatal service errors.
pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config, std::env::vars())?;
    for o in &config.overrides {
        tracing::info!(variable = %o, "config override from environment");
    }
    // Install the recorder before any metric handle is created.
    service::metrics::prometheus_handle().map_err(anyhow::Error::msg)?;
    let (keys, set) = config.load_pipelines(&ProcessEnv)?;
    publish_key_ids(&keys);
    let mut settings = config.service_settings();
    let broker = if args.embedded_broker {
        let b = EmbeddedBroker::start(1)?;
        create_topics(&b, &set, &settings.kafka.dead_letter_topic, &config.file.stats, 4)?;
        settings.kafka.brokers = b.bootstrap_servers().to_string();
        tracing::warn!(brokers = %settings.kafka.brokers, "using an embedded in-process broker; data is lost on exit");
        Some(b)
    } else {
        None
    };
    let processor = Arc::new(Anonymizer::with_stats_mode(set, config.file.stats.clone()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let summary = runtime.block_on(async {
        let shutdown = Shutdown::new();
        shutdown.trigger_on_signals()?;
        let service = service::Service::start(&settings, processor, shutdown).await?;
        tracing::info!(http = %service.http_addr(), "logveil running");
        anyhow::Ok(service.wait().await?)
    })?;
    tracing::info!(
        records_in = summary.records_in,
        records_out = summary.records_out,
        dead_lettered = summary.dead_lettered,
        filtered = summary.filtered,
        stats_out = summary.stats_out,
        "logveil stopped"
    );
    drop(broker);
    Ok(ExitCode::SUCCESS)
}
