//! Shared helpers of the Kafka integration tests: service settings for the
//! mock cluster, an HTTP probe of the service, and (in [`kafka`]) the
//! cluster, topics, producer, reader and committed offsets.
//!
//! Each test binary compiles this module and uses a part of it.
#![allow(dead_code)]

pub mod kafka;

use std::net::SocketAddr;

use logveil::service::ServiceSettings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

/// `GET path` on the service's HTTP listener: (status, body).
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("service listens");
    let req = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("request sent");
    let mut out = String::new();
    s.read_to_string(&mut out).await.expect("response read");
    let status = out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}
