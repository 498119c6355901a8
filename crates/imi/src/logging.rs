//! Log output: text for people (coloured only on a terminal) or JSON lines for collectors
//! (`IMI_LOG_FORMAT=json`), filtered by `RUST_LOG`; and, when `OTEL_EXPORTER_OTLP_ENDPOINT`
//! is set, traces exported over OTLP/HTTP.
//!
//! The spans traced are those of target [`imi_store::trace::TARGET`] (HTTP request, GraphQL
//! operation, command, append, projection batch, mail). They are at debug level, so without
//! an exporter the log's filter disables them where they are created: they cost nothing.

use anyhow::{bail, Context, Result};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::io::IsTerminal;
use tracing_subscriber::filter::{EnvFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// Keeps the trace exporter; dropping it sends the spans still buffered.
#[must_use = "dropping it stops the trace export"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            if let Err(error) = provider.shutdown() {
                eprintln!("could not send the last traces: {error}");
            }
        }
    }
}

/// Installs the process's subscriber, writing to stderr (and exporting traces when
/// configured).
pub fn init() -> Result<Telemetry> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let format = std::env::var("IMI_LOG_FORMAT").unwrap_or_default();
    let log = match format.trim().to_ascii_lowercase().as_str() {
        "" | "text" => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .with_filter(filter)
            .boxed(),
        // One object a line: time, level, target, and the event's fields (`message` included).
        "json" => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_filter(filter)
            .boxed(),
        other => bail!("IMI_LOG_FORMAT={other:?}: expected json or text"),
    };
    let provider = tracer_provider()?;
    let traces = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("imi"))
            .with_filter(
                Targets::new().with_target(imi_store::trace::TARGET, tracing::Level::DEBUG),
            )
    });
    tracing_subscriber::registry().with(log).with(traces).init();
    Ok(Telemetry { provider })
}

/// The OTLP exporter when `OTEL_EXPORTER_OTLP_ENDPOINT` (or its traces-only variant) is set:
/// HTTP with protobuf, or JSON when `OTEL_EXPORTER_OTLP_PROTOCOL=http/json`. The endpoint,
/// headers and time-out are read from the standard `OTEL_EXPORTER_OTLP_*` variables.
fn tracer_provider() -> Result<Option<SdkTracerProvider>> {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    if !set("OTEL_EXPORTER_OTLP_ENDPOINT") && !set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
        return Ok(None);
    }
    let protocol = match std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL")
        .unwrap_or_default()
        .trim()
    {
        "" | "http/protobuf" => Protocol::HttpBinary,
        "http/json" => Protocol::HttpJson,
        other => {
            bail!("OTEL_EXPORTER_OTLP_PROTOCOL={other:?}: expected http/protobuf or http/json")
        }
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(protocol)
        .build()
        .context("the OTLP trace exporter")?;
    let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "imi".to_string());
    Ok(Some(
        SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(
                opentelemetry_sdk::Resource::builder()
                    .with_service_name(service)
                    .build(),
            )
            .build(),
    ))
}
