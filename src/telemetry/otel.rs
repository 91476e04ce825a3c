//! The OTLP span exporter, configured only through the standard OpenTelemetry variables so the
//! service behaves like every other instrumented process in a deployment:
//!
//! - `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`: where to send spans.
//!   Unset means no exporter at all, and no cost.
//! - `OTEL_EXPORTER_OTLP_PROTOCOL` / `_TRACES_PROTOCOL`: `http/protobuf` (default) or `grpc`;
//!   `_HEADERS`, `_TIMEOUT` and `_COMPRESSION` are read by the exporter itself.
//! - `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`: the resource (the service name defaults to
//!   the process's role: `catalog-sync-worker`, `catalog-sync-scheduler`, `catalog-sync-cli`).
//! - `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`: sampling, read by the SDK.
//! - `OTEL_BSP_*`: batch size and delay of the span processor, read by the SDK.
//! - `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`: no exporter even with an endpoint.
//!
//! The endpoint is never set in code: calling the builder's `with_endpoint` would make the
//! exporter ignore the variables.

use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::resource::{
    EnvResourceDetector, ResourceDetector, TelemetryResourceDetector,
};
use opentelemetry_sdk::trace::SdkTracerProvider;

const ENDPOINTS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];
const PROTOCOLS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
];

/// The tracer provider the environment asks for, or `None` when tracing is not configured or is
/// switched off.
pub(super) fn provider_from_env(service: &str) -> anyhow::Result<Option<SdkTracerProvider>> {
    if !exporter_wanted(&|name| std::env::var(name).ok())? {
        return Ok(None);
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .build()
        .map_err(|e| {
            anyhow::anyhow!("OTEL_EXPORTER_OTLP_ENDPOINT: could not set up the span exporter: {e}")
        })?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource(service))
        .build();
    Ok(Some(provider))
}

/// Whether the settings ask for span export; an invalid value is an error naming its variable.
fn exporter_wanted(var: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<bool> {
    let set = |name: &str| {
        var(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    match set("OTEL_SDK_DISABLED")
        .map(|v| v.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("false") => {}
        Some("true") => return Ok(false),
        Some(other) => anyhow::bail!("OTEL_SDK_DISABLED: expected true or false, got {other:?}"),
    }
    match set("OTEL_TRACES_EXPORTER").as_deref() {
        None | Some("otlp") => {}
        Some("none") => return Ok(false),
        Some(other) => anyhow::bail!("OTEL_TRACES_EXPORTER: expected otlp or none, got {other:?}"),
    }
    for name in PROTOCOLS {
        match set(name).as_deref() {
            None | Some("grpc" | "http/protobuf") => {}
            Some(other) => {
                anyhow::bail!("{name}: expected grpc or http/protobuf, got {other:?}")
            }
        }
    }
    for name in ENDPOINTS {
        if let Some(endpoint) = set(name)
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            let shown = crate::credentials::redact_urls(&endpoint);
            anyhow::bail!("{name}: expected an http:// or https:// URL, got {shown:?}");
        }
    }
    Ok(ENDPOINTS.iter().any(|name| set(name).is_some()))
}

/// `service.name` is `service` (the process's role) unless `OTEL_RESOURCE_ATTRIBUTES` or, above
/// it, `OTEL_SERVICE_NAME` says otherwise: the environment's detector is applied after the
/// default, and the SDK lets a later attribute replace an earlier one.
fn resource(service: &str) -> Resource {
    let detectors: [Box<dyn ResourceDetector>; 2] = [
        Box::new(TelemetryResourceDetector),
        Box::new(EnvResourceDetector::new()),
    ];
    let builder = Resource::builder_empty()
        .with_service_name(service.to_owned())
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .with_detectors(&detectors);
    match std::env::var("OTEL_SERVICE_NAME") {
        Ok(name) if !name.trim().is_empty() => builder.with_service_name(name),
        _ => builder,
    }
    .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted(vars: &[(&str, &str)]) -> anyhow::Result<bool> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        exporter_wanted(&move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn no_endpoint_means_no_exporter() {
        assert!(!wanted(&[]).unwrap());
        assert!(!wanted(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")]).unwrap());
        assert!(!wanted(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).unwrap());
    }

    #[test]
    fn either_endpoint_variable_turns_export_on() {
        assert!(wanted(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")]).unwrap());
        assert!(
            wanted(&[(
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://127.0.0.1:4318/v1/traces"
            )])
            .unwrap()
        );
    }

    #[test]
    fn disabled_sdk_or_none_exporter_wins_over_an_endpoint() {
        let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318");
        assert!(!wanted(&[endpoint, ("OTEL_SDK_DISABLED", "true")]).unwrap());
        assert!(!wanted(&[endpoint, ("OTEL_SDK_DISABLED", "TRUE")]).unwrap());
        assert!(!wanted(&[endpoint, ("OTEL_TRACES_EXPORTER", "none")]).unwrap());
        assert!(wanted(&[endpoint, ("OTEL_SDK_DISABLED", "false")]).unwrap());
    }

    #[test]
    fn bad_values_name_their_variable() {
        let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318");
        for (vars, variable) in [
            (
                vec![endpoint, ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")],
                "OTEL_EXPORTER_OTLP_PROTOCOL",
            ),
            (
                vec![("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "udp")],
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            ),
            (
                vec![("OTEL_EXPORTER_OTLP_ENDPOINT", "jaeger:4317")],
                "OTEL_EXPORTER_OTLP_ENDPOINT",
            ),
            (vec![("OTEL_SDK_DISABLED", "yes")], "OTEL_SDK_DISABLED"),
            (
                vec![("OTEL_TRACES_EXPORTER", "zipkin")],
                "OTEL_TRACES_EXPORTER",
            ),
        ] {
            let error = wanted(&vars).unwrap_err().to_string();
            assert!(error.starts_with(variable), "{error}");
        }
        let error = wanted(&[(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "collector:otlpSECRET@otel:4318",
        )])
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("REDACTED:REDACTED@otel:4318") && !error.contains("otlpSECRET"),
            "{error}"
        );
    }
}
