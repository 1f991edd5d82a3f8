//! Compiles [`ServiceSettings`] into librdkafka client configurations.
//!
//! Order of precedence, lowest first: logveil's defaults, the typed fields,
//! `[kafka.client]`, then `[kafka.consumer]` / `[kafka.producer]`. The
//! properties the delivery guarantee depends on are set last and cannot be
//! overridden (validation refuses them in the pass-through maps).

use rdkafka::ClientConfig;

use super::ServiceSettings;

/// Configuration of the group consumer (also used by benchmarks so the
/// baseline runs with exactly the service's client settings).
pub fn consumer_config(s: &ServiceSettings) -> ClientConfig {
    let k = &s.kafka;
    let mut c = ClientConfig::new();
    c.set("client.id", "logveil")
        // The librdkafka default (1000 ms) starves a fast consumer.
        .set("fetch.queue.backoff.ms", "10")
        // Consumer lag per partition comes from the statistics callback.
        .set("statistics.interval.ms", "5000")
        // Bounds pre-fetched records (librdkafka's default is 64 MiB); with
        // the producer's 8 MiB and the engine this keeps the process well
        // under 128 MiB at any input rate.
        .set("queued.max.messages.kbytes", "16384")
        .set("auto.offset.reset", k.auto_offset_reset.as_str());
    extend(&mut c, &k.client);
    extend(&mut c, &k.consumer);
    c.set("bootstrap.servers", &k.brokers)
        .set("group.id", &k.group_id)
        // At-least-once: an offset is stored only by the service, once every
        // output it caused is delivered; librdkafka commits what is stored.
        .set("enable.auto.offset.store", "false")
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", k.commit_interval_ms.to_string());
    c
}

/// Configuration of the output producer.
pub fn producer_config(s: &ServiceSettings) -> ClientConfig {
    let k = &s.kafka;
    let mut c = ClientConfig::new();
    c.set("client.id", "logveil")
        .set("acks", "all")
        // Bounds the producer's memory (librdkafka's default is 1 GiB); the
        // workers wait when it is full. 8 MiB and at most 5 produce requests
        // in flight per broker (librdkafka's default is unbounded: every
        // request holds its lz4 buffer until the broker answers) took peak
        // RSS at 1M records over 128 partitions from 271 to 190 MiB for
        // `logveil run` and from 118 to 78 MiB for the copy loop, with no
        // loss of throughput (benches/PROFILE.md, round three).
        .set("queue.buffering.max.kbytes", "8192")
        .set("max.in.flight.requests.per.connection", "5")
        .set("linger.ms", k.linger_ms.to_string())
        .set("batch.size", k.batch_size.to_string())
        .set("compression.type", k.compression.as_str())
        .set("message.timeout.ms", k.message_timeout_ms.to_string());
    extend(&mut c, &k.client);
    extend(&mut c, &k.producer);
    c.set("bootstrap.servers", &k.brokers);
    c
}

fn extend(c: &mut ClientConfig, map: &std::collections::BTreeMap<String, String>) {
    for (key, value) in map {
        c.set(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pass_through_wins_over_defaults_but_not_over_guarantees() {
        let mut s = ServiceSettings::default();
        s.kafka.client.insert("security.protocol".into(), "SSL".into());
        s.kafka.consumer.insert("fetch.queue.backoff.ms".into(), "50".into());
        s.kafka.producer.insert("linger.ms".into(), "20".into());
        let c = consumer_config(&s);
        assert_eq!(c.get("security.protocol"), Some("SSL"));
        assert_eq!(c.get("fetch.queue.backoff.ms"), Some("50"));
        assert_eq!(c.get("enable.auto.offset.store"), Some("false"));
        let p = producer_config(&s);
        assert_eq!(p.get("linger.ms"), Some("20"));
        assert_eq!(p.get("compression.type"), Some("lz4"));
        assert_eq!(p.get("security.protocol"), Some("SSL"));
    }
}
