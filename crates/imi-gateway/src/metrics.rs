//! Prometheus metrics: HTTP requests by route and status, command outcomes by aggregate and
//! result, and the projections' lag and the mail outbox's states, read from the database at
//! scrape time.
//!
//! Each router owns its recorder (no process-global state): several gateways in one process
//! (the tests) keep their counts apart, and the binary is free to install a global recorder of
//! its own.

use imi_projections::status::ProjectionStatus;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};
use std::fmt::Write as _;
use std::sync::Arc;

#[derive(Clone)]
pub struct Metrics {
    recorder: Arc<PrometheusRecorder>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let metrics = Self {
            recorder: Arc::new(
                PrometheusBuilder::new()
                    .set_buckets(&LATENCY_BUCKETS)
                    .expect("latency buckets are not empty")
                    .build_recorder(),
            ),
        };
        // Described and shown from the start (at 0), so an alert on them needs no first event.
        metrics::with_local_recorder(metrics.recorder.as_ref(), || {
            metrics::describe_counter!(
                "imi_http_requests_total",
                "HTTP requests answered, by route template, method and status."
            );
            metrics::describe_histogram!(
                "imi_http_request_duration_seconds",
                metrics::Unit::Seconds,
                "Time to answer an HTTP request, by route template and method."
            );
            metrics::describe_histogram!(
                "imi_graphql_operation_duration_seconds",
                metrics::Unit::Seconds,
                "Time to execute a GraphQL operation over HTTP, by operation name."
            );
            metrics::describe_counter!(
                "imi_commands_total",
                "Commands sent to aggregates, by aggregate, command and result."
            );
            metrics::describe_histogram!(
                "imi_command_duration_seconds",
                metrics::Unit::Seconds,
                "Time to run a command (load, decide, append), by aggregate."
            );
            metrics::describe_gauge!(
                "imi_websocket_connections_open",
                "Subscription (graphql-transport-ws) connections open."
            );
            metrics::gauge!("imi_websocket_connections_open").set(0.0);
            metrics::describe_gauge!(
                "imi_subscriptions_open",
                "GraphQL subscriptions streaming, over all websocket connections."
            );
            metrics::gauge!("imi_subscriptions_open").set(0.0);
            metrics::describe_counter!(
                "imi_login_failures_total",
                "Sign-ins refused for a wrong login name or password."
            );
            metrics::describe_counter!(
                "imi_login_lockouts_total",
                "Lockouts started by failed sign-ins, by scope (login name or client address)."
            );
            metrics::describe_counter!(
                "imi_login_throttled_total",
                "Sign-ins refused unchecked during a lockout, by scope."
            );
            metrics::describe_counter!(
                "imi_replica_reads_total",
                "GraphQL queries by the database they read: the read replica, or the primary when \
                 the replica had not replayed the client's write in time."
            );
            metrics::counter!("imi_login_failures_total").absolute(0);
            for scope in ["login", "address"] {
                metrics::counter!("imi_login_lockouts_total", "scope" => scope).absolute(0);
                metrics::counter!("imi_login_throttled_total", "scope" => scope).absolute(0);
            }
        });
        metrics
    }

    pub fn login_failure(&self) {
        metrics::with_local_recorder(self.recorder.as_ref(), || {
            metrics::counter!("imi_login_failures_total").increment(1);
        });
    }

    pub fn login_lockout(&self, scope: &'static str) {
        metrics::with_local_recorder(self.recorder.as_ref(), || {
            metrics::counter!("imi_login_lockouts_total", "scope" => scope).increment(1);
        });
    }

    pub fn login_throttled(&self, scope: &'static str) {
        metrics::with_local_recorder(self.recorder.as_ref(), || {
            metrics::counter!("imi_login_throttled_total", "scope" => scope).increment(1);
        });
    }

    /// A query routed with a read replica configured: read there (`true`) or on the primary.
    pub fn replica_read(&self, on_replica: bool) {
        let database = if on_replica { "replica" } else { "primary" };
        metrics::with_local_recorder(self.recorder.as_ref(), || {
            metrics::counter!("imi_replica_reads_total", "database" => database).increment(1);
        });
    }

    pub fn http_request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let (route, method) = (route.to_string(), method.to_string());
        metrics::with_local_recorder(self.recorder.as_ref(), || {
            metrics::counter!(
                "imi_http_requests_total",
                "route" => route.clone(),
                "method" => method.clone(),
                "status" => status.to_string()
            )
            .increment(1);
            metrics::histogram!(
                "imi_http_request_duration_seconds",
                "route" => route,
                "method" => method
            )
            .record(seconds);
        });
    }

    pub fn graphql_operation(&self, operation: &str, seconds: f64) {
        let operation = operation.to_string();
        metrics::with_local_recorder(self.recorder.as_ref(), || {
            metrics::histogram!("imi_graphql_operation_duration_seconds", "operation" => operation)
                .record(seconds);
        });
    }

    pub fn command(
        &self,
        aggregate: &'static str,
        command: &'static str,
        result: &'static str,
        seconds: f64,
    ) {
        metrics::with_local_recorder(self.recorder.as_ref(), || {
            metrics::counter!(
                "imi_commands_total",
                "aggregate" => aggregate,
                "command" => command,
                "result" => result
            )
            .increment(1);
            metrics::histogram!("imi_command_duration_seconds", "aggregate" => aggregate)
                .record(seconds);
        });
    }

    /// A subscription connection opened (`1.0`) or closed (`-1.0`).
    pub fn websocket_connections(&self, delta: f64) {
        metrics::with_local_recorder(self.recorder.as_ref(), || {
            metrics::gauge!("imi_websocket_connections_open").increment(delta);
        });
    }

    /// A subscription started: counted in `imi_subscriptions_open` until the guard drops
    /// (with its stream: the client stopped it, the connection closed or the stream ended).
    pub fn subscription_opened(&self) -> SubscriptionOpen {
        metrics::with_local_recorder(self.recorder.as_ref(), || {
            metrics::gauge!("imi_subscriptions_open").increment(1.0);
        });
        SubscriptionOpen {
            metrics: self.clone(),
        }
    }

    /// The exposition text: the counters, then the projection gauges (`None` when they could
    /// not be read: `imi_projection_status_up` says so).
    pub fn render(&self, projections: Option<&[ProjectionStatus]>) -> String {
        let mut text = self.recorder.handle().render();
        render_projections(&mut text, projections);
        text
    }
}

/// Counts one open subscription for as long as it lives.
pub struct SubscriptionOpen {
    metrics: Metrics,
}

impl Drop for SubscriptionOpen {
    fn drop(&mut self) {
        metrics::with_local_recorder(self.metrics.recorder.as_ref(), || {
            metrics::gauge!("imi_subscriptions_open").decrement(1.0);
        });
    }
}

/// Latency buckets, in seconds: from a cached read to a slow write.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The deadlines due now and not acted on yet (`None`: not readable).
pub fn render_deadlines(out: &mut String, due: Option<i64>) {
    let Some(due) = due else {
        return;
    };
    let _ = writeln!(
        out,
        "# HELP imi_deadlines_due Scheduled deadlines due and not acted on yet.\n\
         # TYPE imi_deadlines_due gauge\n\
         imi_deadlines_due {due}"
    );
}

/// This process's database pools (`primary`, and `replica` when queries read one): their
/// connections by state, their limit, and the tasks waiting for a connection at the service's
/// own acquisitions ([`imi_store::pool`]).
pub fn render_pools(out: &mut String, pools: &[(&str, &sqlx::PgPool)]) {
    type Figure = fn(&sqlx::PgPool) -> u64;
    let families: [(&str, &str, Figure); 4] = [
        (
            "imi_db_pool_size",
            "Connections this process's pool holds open (idle or in use).",
            |p| u64::from(p.size()),
        ),
        (
            "imi_db_pool_idle",
            "Connections of this process's pool open and free.",
            |p| p.num_idle() as u64,
        ),
        (
            "imi_db_pool_waiting",
            "Tasks waiting for a connection of this process's pool in the service's transactions \
             and held connections (appends, projection batches, sign-in throttles, the scheduler); \
             single statements wait inside the pool unseen.",
            imi_store::pool::waiting,
        ),
        (
            "imi_db_pool_max_connections",
            "The most connections this process's pool opens.",
            |p| u64::from(p.options().get_max_connections()),
        ),
    ];
    for (name, help, figure) in families {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (label, pool) in pools {
            let _ = writeln!(out, "{name}{{pool=\"{label}\"}} {}", figure(pool));
        }
    }
    let _ = writeln!(
        out,
        "# HELP imi_db_pool_connections Connections of this process's pool, by state.\n\
         # TYPE imi_db_pool_connections gauge"
    );
    for (label, pool) in pools {
        let (size, idle) = (pool.size(), pool.num_idle() as u32);
        let _ = writeln!(
            out,
            "imi_db_pool_connections{{pool=\"{label}\",state=\"idle\"}} {idle}\n\
             imi_db_pool_connections{{pool=\"{label}\",state=\"in_use\"}} {}",
            size.saturating_sub(idle)
        );
    }
}

/// The read replica: whether it answered, how far it lags, and how its waits ended.
pub fn render_replica(
    out: &mut String,
    replica: &imi_store::replica::Replica,
    status: Option<&imi_store::replica::ReplicaStatus>,
) {
    use std::sync::atomic::Ordering;
    let _ = writeln!(
        out,
        "# HELP imi_replica_up Whether the read replica answered as a standby (1) or not (0).\n\
         # TYPE imi_replica_up gauge\n\
         imi_replica_up {}",
        u8::from(status.is_some_and(|s| s.replayed.is_some()))
    );
    if let Some(status) = status {
        let _ = writeln!(
            out,
            "# HELP imi_replica_lag_bytes WAL the read replica has not replayed yet.\n\
             # TYPE imi_replica_lag_bytes gauge\n\
             imi_replica_lag_bytes {}",
            status.lag_bytes
        );
        if let Some(seconds) = status.lag_seconds {
            let _ = writeln!(
                out,
                "# HELP imi_replica_replay_age_seconds Since the last transaction the read \
                 replica replayed committed (grows while the primary is idle).\n\
                 # TYPE imi_replica_replay_age_seconds gauge\n\
                 imi_replica_replay_age_seconds {seconds}"
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP imi_replica_waits_total Waits for the read replica to replay a client's write, \
         by result (timed_out: the read went to the primary).\n\
         # TYPE imi_replica_waits_total counter\n\
         imi_replica_waits_total{{result=\"caught_up\"}} {}\n\
         imi_replica_waits_total{{result=\"timed_out\"}} {}",
        replica.caught_up.load(Ordering::Relaxed),
        replica.timed_out.load(Ordering::Relaxed)
    );
}

/// The mail outbox's counts by delivery state (read from the database, so every process shows
/// the same figures): `imi_mail_notifications{state=...}`, and `imi_mail_status_up`.
pub fn render_outbox(out: &mut String, outbox: Option<&imi_notify::status::OutboxStatus>) {
    let _ = writeln!(
        out,
        "# HELP imi_mail_status_up Whether the outbox status could be read (1) or not (0).\n\
         # TYPE imi_mail_status_up gauge\n\
         imi_mail_status_up {}",
        u8::from(outbox.is_some())
    );
    let Some(o) = outbox else {
        return;
    };
    let _ = writeln!(
        out,
        "# HELP imi_mail_notifications Notifications with mail, by delivery state.\n\
         # TYPE imi_mail_notifications gauge"
    );
    for (state, n) in [
        ("pending", o.pending),
        ("sending", o.sending),
        ("retry", o.retrying),
        ("sent", o.sent),
        ("failed", o.failed),
        ("skipped", o.skipped),
    ] {
        let _ = writeln!(out, "imi_mail_notifications{{state=\"{state}\"}} {n}");
    }
}

fn render_projections(out: &mut String, projections: Option<&[ProjectionStatus]>) {
    let _ = writeln!(
        out,
        "# HELP imi_projection_status_up Whether the projection status could be read (1) or not (0).\n\
         # TYPE imi_projection_status_up gauge\n\
         imi_projection_status_up {}",
        u8::from(projections.is_some())
    );
    let Some(projections) = projections else {
        return;
    };
    type Field = fn(&ProjectionStatus) -> f64;
    let gauges: [(&str, &str, Field); 6] = [
        (
            "imi_projection_lag_events",
            "Committed events the projection has not applied yet.",
            |s| s.lag_events as f64,
        ),
        (
            "imi_projection_lag_seconds",
            "Age of the oldest event the projection has not applied yet.",
            |s| s.lag_seconds,
        ),
        (
            "imi_projection_checkpoint_position",
            "Feed position of the last event the projection applied.",
            |s| s.checkpoint.position as f64,
        ),
        (
            "imi_projection_checkpoint_xid",
            "Transaction id of the last event the projection applied.",
            |s| s.checkpoint.xid as f64,
        ),
        (
            "imi_projection_events_applied",
            "Events the projection's slot has applied since it was built.",
            |s| s.events_applied as f64,
        ),
        (
            "imi_projection_version",
            "Version of the projection's slot.",
            |s| f64::from(s.version),
        ),
    ];
    for (name, help, value) in gauges {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for s in projections {
            let _ = writeln!(
                out,
                "{name}{{projection=\"{}\",slot=\"{}\"}} {}",
                escape_label(&s.name),
                escape_label(&s.slot),
                value(s)
            );
        }
    }
}

fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use imi_store::feed::FeedPosition;

    #[test]
    fn renders_counters_and_projection_gauges() {
        let metrics = Metrics::new();
        metrics.http_request("/graphql", "POST", 200, 0.003);
        metrics.command("Authority", "SetInformalTitle", "ok", 0.02);
        let status = ProjectionStatus {
            name: "authority_directory".into(),
            slot: "live".into(),
            version: 1,
            checkpoint: FeedPosition {
                xid: 7,
                position: 42,
            },
            events_applied: 42,
            horizon_xid: 8,
            head_position: 44,
            lag_events: 2,
            lag_seconds: 0.5,
        };
        let text = metrics.render(Some(&[status]));
        assert!(text.contains(
            "imi_http_requests_total{route=\"/graphql\",method=\"POST\",status=\"200\"} 1"
        ));
        assert!(text.contains(
            "imi_commands_total{aggregate=\"Authority\",command=\"SetInformalTitle\",result=\"ok\"} 1"
        ));
        assert!(text.contains(
            "imi_projection_lag_events{projection=\"authority_directory\",slot=\"live\"} 2"
        ));
        assert!(text.contains(
            "imi_projection_checkpoint_position{projection=\"authority_directory\",slot=\"live\"} 42"
        ));
        assert!(metrics.render(None).contains("imi_projection_status_up 0"));
        let mut text = String::new();
        render_outbox(&mut text, None);
        assert!(text.contains("imi_mail_status_up 0"));
        let outbox = imi_notify::status::OutboxStatus {
            pending: 2,
            failed: 1,
            ..Default::default()
        };
        let mut text = String::new();
        render_outbox(&mut text, Some(&outbox));
        assert!(text.contains("imi_mail_status_up 1"));
        assert!(
            text.contains("imi_mail_notifications{state=\"pending\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("imi_mail_notifications{state=\"failed\"} 1"),
            "{text}"
        );
    }
}
