//! Shared helpers of the Kafka integration tests.

use logveil::service::ServiceSettings;

/// Service settings for a test against the mock cluster: free HTTP port,
/// fast group membership (the 45 s session default makes rebalances crawl),
/// short fetch waits, frequent commits.
pub fn test_settings(
    bootstrap: &str,
    group: &str,
    dead_letter_topic: &str,
    workers: usize,
) -> ServiceSettings {
    let mut s = ServiceSettings::default();
    s.service.worker_threads = workers;
    s.service.queue_capacity = 256;
    s.service.shutdown_grace_secs = 20;
    s.service.http_listen = "127.0.0.1:0".parse().expect("literal address");
    s.kafka.brokers = bootstrap.to_owned();
    s.kafka.group_id = group.to_owned();
    s.kafka.dead_letter_topic = dead_letter_topic.to_owned();
    s.kafka.commit_interval_ms = 200;
    for (k, v) in [
        ("session.timeout.ms", "6000"),
        ("heartbeat.interval.ms", "500"),
        ("fetch.wait.max.ms", "20"),
        ("fetch.queue.backoff.ms", "10"),
    ] {
        s.kafka.consumer.insert(k.into(), v.into());
    }
    s
}
