//! Structural checks of the deployment files: `deploy/Dockerfile`, `deploy/docker-compose.yml`
//! and the Kubernetes manifests in `deploy/k8s/`. No container engine or cluster is needed: the
//! files are parsed and checked against the repository and against the built binary, whose
//! `<command> --help` lists every environment variable it reads (`[env: NAME=]`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::Url;
use serde::Deserialize as _;
use serde_norway::Value;

const BIN: &str = env!("CARGO_BIN_EXE_catalog-sync");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Variables read from the environment directly rather than through a command's flags: the log
/// settings (src/telemetry) and the standard OpenTelemetry ones (the OTLP exporter and the SDK).
const DIRECT_ENV: &[&str] = &[
    "RUST_LOG",
    "LOG_FORMAT",
    "LOG_SPAN_CLOSE",
    "OTEL_SDK_DISABLED",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_TRACES_EXPORTER",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    "OTEL_EXPORTER_OTLP_COMPRESSION",
    "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
    "OTEL_BSP_SCHEDULE_DELAY",
    "OTEL_BSP_EXPORT_TIMEOUT",
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_BSP_MAX_CONCURRENT_EXPORTS",
];

/// Where the image puts the binary (the Dockerfile's COPY destination and ENTRYPOINT).
const IMAGE_BINARY: &str = "/usr/local/bin/catalog-sync";

// ---- files --------------------------------------------------------------------------------------

fn repo_path(relative: &str) -> PathBuf {
    Path::new(ROOT).join(relative)
}

fn read(relative: &str) -> String {
    let path = repo_path(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

// ---- the binary ---------------------------------------------------------------------------------

/// `catalog-sync <subcommand> --help`, run with an empty environment so no value is echoed.
fn help(subcommand: &str) -> String {
    let output = Command::new(BIN)
        .args([subcommand, "--help"])
        .env_clear()
        .output()
        .expect("the catalog-sync binary runs");
    assert!(
        output.status.success(),
        "`catalog-sync {subcommand} --help` failed: is `{subcommand}` a subcommand? {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("help is UTF-8")
}

/// Every variable `subcommand` reads: the `[env: NAME=]` (or `[env: NAME]` for hidden values)
/// of its help, plus the ones read directly from the environment.
fn accepted_env(subcommand: &str) -> BTreeSet<String> {
    let text = help(subcommand);
    let mut names: BTreeSet<String> = DIRECT_ENV.iter().map(|s| (*s).to_owned()).collect();
    for (index, marker) in text.match_indices("[env: ") {
        let name: String = text[index + marker.len()..]
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        assert!(
            !name.is_empty(),
            "unparsable [env: ...] in `{subcommand} --help`"
        );
        names.insert(name);
    }
    names
}

/// The default of variable `name` as `<subcommand> --help` prints it (`[default: X]`).
fn env_default(subcommand: &str, name: &str) -> String {
    let text = help(subcommand);
    let line = text
        .lines()
        .find(|line| line.contains(&format!("[env: {name}=")))
        .unwrap_or_else(|| panic!("`{subcommand} --help` does not list {name}"));
    let start = line
        .find("[default: ")
        .unwrap_or_else(|| panic!("`{subcommand} --help` shows no default for {name}"))
        + "[default: ".len();
    let end = line[start..].find(']').expect("closing bracket") + start;
    line[start..end].to_owned()
}

/// Seconds of a duration as the binary writes them: `500ms`, `30s`, `2m`, `1h`.
fn duration_secs(text: &str) -> f64 {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .unwrap_or_else(|_| panic!("not a duration: {text:?}"));
    let scale = match unit.trim() {
        "ms" => 0.001,
        "s" | "" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => panic!("unknown duration unit {other:?} in {text:?}"),
    };
    number * scale
}

/// Asserts that every name in `names` is in `accepted`.
fn assert_env_accepted<'a>(
    owner: &str,
    names: impl IntoIterator<Item = &'a String>,
    accepted: &BTreeSet<String>,
    commands: &str,
) {
    let unknown: Vec<&String> = names
        .into_iter()
        .filter(|name| !accepted.contains(*name))
        .collect();
    assert!(
        unknown.is_empty(),
        "{owner} sets {unknown:?}, which `catalog-sync {commands}` does not read \
         (see `catalog-sync {commands} --help`)"
    );
}

// ---- addresses ----------------------------------------------------------------------------------

/// `host:port` of a socket address such as `0.0.0.0:9464`.
fn socket_addr(owner: &str, addr: &str) -> (String, u16) {
    let (host, port) = addr
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("{owner}: {addr:?} is not host:port"));
    let port = port
        .parse()
        .unwrap_or_else(|_| panic!("{owner}: bad port in {addr:?}"));
    (host.trim_matches(['[', ']']).to_owned(), port)
}

/// Host and port (explicit or the scheme's default) of a URL.
fn url_host_port(owner: &str, url: &str) -> (String, u16) {
    let parsed = Url::parse(url).unwrap_or_else(|e| panic!("{owner}: {url:?} is not a URL: {e}"));
    let host = parsed
        .host_str()
        .unwrap_or_else(|| panic!("{owner}: {url:?} has no host"))
        .to_owned();
    let port = parsed
        .port_or_known_default()
        .or(match parsed.scheme() {
            "nats" => Some(4222),
            "postgres" | "postgresql" => Some(5432),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{owner}: {url:?} has no port"));
    (host, port)
}

/// The OTLP endpoint's port matches the protocol: 4317 for `grpc`, 4318 for `http/protobuf`
/// (the default when no protocol is set). Returns the endpoint's host.
fn check_otlp(owner: &str, env: &BTreeMap<String, String>) -> Option<String> {
    let endpoint = env.get("OTEL_EXPORTER_OTLP_ENDPOINT")?;
    let (host, port) = url_host_port(owner, endpoint);
    let protocol = env
        .get("OTEL_EXPORTER_OTLP_PROTOCOL")
        .map_or("http/protobuf", String::as_str);
    let expected = match protocol {
        "grpc" => 4317,
        "http/protobuf" => 4318,
        other => panic!(
            "{owner}: OTEL_EXPORTER_OTLP_PROTOCOL {other:?} is neither grpc nor http/protobuf"
        ),
    };
    assert_eq!(
        port, expected,
        "{owner}: OTEL_EXPORTER_OTLP_ENDPOINT {endpoint} does not match protocol {protocol} \
         (4317 is gRPC, 4318 is HTTP)"
    );
    Some(host)
}

// ---- YAML ---------------------------------------------------------------------------------------

/// One YAML document with its `<<` merge keys applied (compose extension fields).
fn yaml(relative: &str) -> Value {
    let mut value: Value = serde_norway::from_str(&read(relative))
        .unwrap_or_else(|e| panic!("{relative} is not valid YAML: {e}"));
    value
        .apply_merge()
        .unwrap_or_else(|e| panic!("{relative}: bad `<<` merge: {e}"));
    value
}

/// Every non-empty document of a multi-document YAML file.
fn yaml_documents(relative: &str) -> Vec<Value> {
    let text = read(relative);
    serde_norway::Deserializer::from_str(&text)
        .map(|document| {
            Value::deserialize(document)
                .unwrap_or_else(|e| panic!("{relative} is not valid YAML: {e}"))
        })
        .filter(|value| !value.is_null())
        .collect()
}

/// The value at `path` (mapping keys) under `value`.
fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |value, key| value.get(*key))
}

/// A scalar as text (strings, numbers and booleans alike).
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn text_at(value: &Value, path: &[&str]) -> Option<String> {
    at(value, path).and_then(scalar)
}

/// A sequence of scalars, or a string split on whitespace (compose's `command: worker`).
fn words(value: Option<&Value>) -> Vec<String> {
    match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        Some(Value::Sequence(items)) => items
            .iter()
            .map(|item| scalar(item).expect("a scalar in a list of words"))
            .collect(),
        Some(other) => panic!("expected a string or a list, got {other:?}"),
    }
}

/// The mapping's keys as text.
fn keys(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_mapping)
        .map(|mapping| mapping.keys().filter_map(scalar).collect())
        .unwrap_or_default()
}

/// A mapping of scalars (compose `environment`, ConfigMap `data`, labels), or a list of
/// `NAME=value` (compose's other `environment` form).
fn string_map(value: Option<&Value>) -> BTreeMap<String, String> {
    match value {
        None => BTreeMap::new(),
        Some(Value::Mapping(mapping)) => mapping
            .iter()
            .map(|(k, v)| {
                (
                    scalar(k).expect("variable name"),
                    scalar(v).unwrap_or_default(),
                )
            })
            .collect(),
        Some(Value::Sequence(items)) => items
            .iter()
            .map(|item| {
                let item = scalar(item).expect("NAME=value");
                let (k, v) = item.split_once('=').unwrap_or((&item, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect(),
        Some(other) => panic!("environment must be a mapping or a list, got {other:?}"),
    }
}

// ---- Dockerfile ---------------------------------------------------------------------------------

struct Instruction {
    keyword: String,
    args: String,
}

struct Stage {
    base: String,
    name: Option<String>,
    instructions: Vec<Instruction>,
}

/// The Dockerfile's stages, continuation lines joined and comments dropped.
fn dockerfile_stages(text: &str) -> Vec<Stage> {
    let mut logical = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                logical.push(std::mem::take(&mut current));
            }
        }
    }
    let mut stages: Vec<Stage> = Vec::new();
    for line in logical.iter().filter(|l| !l.trim().is_empty()) {
        let (keyword, args) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let keyword = keyword.to_ascii_uppercase();
        let args = args.trim().to_owned();
        if keyword == "FROM" {
            let parts: Vec<&str> = args
                .split_whitespace()
                .filter(|p| !p.starts_with("--"))
                .collect();
            let name = match parts.as_slice() {
                [_, as_, name] if as_.eq_ignore_ascii_case("as") => Some((*name).to_owned()),
                _ => None,
            };
            stages.push(Stage {
                base: parts.first().expect("FROM names an image").to_string(),
                name,
                instructions: Vec::new(),
            });
        } else if let Some(stage) = stages.last_mut() {
            stage.instructions.push(Instruction { keyword, args });
        }
    }
    stages
}

impl Stage {
    fn all(&self, keyword: &str) -> impl Iterator<Item = &Instruction> {
        self.instructions
            .iter()
            .filter(move |i| i.keyword == keyword)
    }

    fn last(&self, keyword: &str) -> Option<&Instruction> {
        self.all(keyword).last()
    }
}

/// An exec-form (`["a", "b"]`) instruction argument.
fn exec_form(instruction: &Instruction) -> Vec<String> {
    serde_json::from_str(&instruction.args).unwrap_or_else(|_| {
        panic!(
            "{} should use the exec form [\"...\"], got {}",
            instruction.keyword, instruction.args
        )
    })
}

/// Dotted version numbers, e.g. `1.94` → [1, 94].
fn version(text: &str) -> Vec<u32> {
    text.split('.')
        .map(|part| {
            part.parse()
                .unwrap_or_else(|_| panic!("not a version: {text:?}"))
        })
        .collect()
}

fn cargo_rust_version() -> Vec<u32> {
    let manifest = read("Cargo.toml");
    let line = manifest
        .lines()
        .find(|line| line.trim_start().starts_with("rust-version"))
        .expect("Cargo.toml sets rust-version");
    let value = line.split_once('=').expect("rust-version = \"...\"").1;
    version(value.trim().trim_matches('"'))
}

#[test]
fn dockerfile_builds_a_non_root_image_of_the_binary() {
    let stages = dockerfile_stages(&read("deploy/Dockerfile"));
    assert!(
        stages.len() >= 2,
        "deploy/Dockerfile should be multi-stage (a builder and a runtime stage), found {} FROM",
        stages.len()
    );
    let runtime = stages.last().unwrap();

    // The runtime stage copies the binary out of an earlier (builder) stage.
    let copy = runtime
        .all("COPY")
        .find(|copy| copy.args.contains("--from=") && copy.args.ends_with(IMAGE_BINARY))
        .unwrap_or_else(|| {
            panic!("the final stage should COPY --from=<builder> the binary to {IMAGE_BINARY}")
        });
    let from = copy
        .args
        .split_whitespace()
        .find_map(|word| word.strip_prefix("--from="))
        .unwrap();
    let builder = stages[..stages.len() - 1]
        .iter()
        .enumerate()
        .find(|(index, stage)| stage.name.as_deref() == Some(from) || index.to_string() == from)
        .map(|(_, stage)| stage)
        .unwrap_or_else(|| panic!("COPY --from={from} names no earlier stage"));
    let build = builder
        .all("RUN")
        .find(|run| run.args.contains("cargo build"))
        .expect("the builder stage runs cargo build");
    for flag in ["--release", "--locked"] {
        assert!(
            build.args.contains(flag),
            "the builder should run `cargo build {flag}`: {}",
            build.args
        );
    }

    // The builder's toolchain is new enough for the crate.
    let tag = builder.base.strip_prefix("rust:").unwrap_or_else(|| {
        panic!(
            "the builder should be an official rust image, not {}",
            builder.base
        )
    });
    let toolchain = version(tag.split('-').next().unwrap());
    let required = cargo_rust_version();
    assert!(
        toolchain >= required,
        "the builder's Rust {toolchain:?} is older than Cargo.toml's rust-version {required:?}"
    );

    // Runs as a fixed, non-root numeric user.
    let user = runtime.last("USER").expect("the final stage sets USER");
    let (uid, gid) = user.args.split_once(':').unwrap_or((&user.args, ""));
    let uid: u32 = uid
        .parse()
        .unwrap_or_else(|_| panic!("USER should be numeric (uid[:gid]), got {}", user.args));
    assert_ne!(uid, 0, "USER must not be root");
    assert!(
        gid.is_empty() || gid.parse::<u32>().is_ok_and(|gid| gid != 0),
        "the USER group should be a non-zero number, got {}",
        user.args
    );

    // The entrypoint is the binary; the default command is a real subcommand.
    let entrypoint = runtime
        .last("ENTRYPOINT")
        .expect("the final stage sets ENTRYPOINT");
    assert_eq!(
        exec_form(entrypoint),
        [IMAGE_BINARY],
        "ENTRYPOINT should be exactly the binary"
    );
    let cmd = exec_form(runtime.last("CMD").expect("the final stage sets CMD"));
    assert_eq!(cmd, ["worker"], "the default command should be `worker`");
    help(&cmd[0]);

    // EXPOSE the worker's metrics port.
    let (_, metrics_port) = socket_addr("METRICS_LISTEN", &env_default("worker", "METRICS_LISTEN"));
    assert!(
        runtime.all("EXPOSE").any(|e| e
            .args
            .split_whitespace()
            .any(|p| p.trim_end_matches("/tcp") == metrics_port.to_string())),
        "the final stage should EXPOSE the metrics port {metrics_port}"
    );

    // What the builder copies from the context exists and is not excluded by .dockerignore.
    let ignored: Vec<String> = read(".dockerignore")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| line.trim_matches('/').to_owned())
        .collect();
    for entry in ["target", ".git"] {
        assert!(
            ignored.iter().any(|i| i == entry),
            ".dockerignore should exclude {entry}/"
        );
    }
    for copy in builder.all("COPY") {
        let parts: Vec<&str> = copy
            .args
            .split_whitespace()
            .filter(|p| !p.starts_with("--"))
            .collect();
        for source in &parts[..parts.len() - 1] {
            assert!(
                repo_path(source).exists(),
                "the builder copies {source}, which is not in the repository"
            );
            let top = source.trim_start_matches("./").split('/').next().unwrap();
            assert!(
                !ignored.iter().any(|i| i == top || i == source),
                "the builder copies {source}, which .dockerignore excludes"
            );
        }
    }
}

// ---- docker compose ---------------------------------------------------------------------------

const COMPOSE: &str = "deploy/docker-compose.yml";

fn compose_services() -> BTreeMap<String, Value> {
    let compose = yaml(COMPOSE);
    assert!(
        compose.get("version").is_none(),
        "{COMPOSE}: the compose specification has no `version:` key"
    );
    compose
        .get("services")
        .and_then(Value::as_mapping)
        .unwrap_or_else(|| panic!("{COMPOSE} has no services"))
        .iter()
        .map(|(name, service)| (scalar(name).unwrap(), service.clone()))
        .collect()
}

/// Ports a compose service publishes on the host, as (published, container) pairs.
fn published_ports(service: &Value) -> Vec<(u16, u16)> {
    let Some(ports) = service.get("ports").and_then(Value::as_sequence) else {
        return Vec::new();
    };
    ports
        .iter()
        .map(|port| match port {
            Value::Mapping(_) => {
                let target = text_at(port, &["target"]).expect("ports: target");
                let published = text_at(port, &["published"]).unwrap_or_else(|| target.clone());
                (published.parse().unwrap(), target.parse().unwrap())
            }
            other => {
                let text = scalar(other).expect("ports entry");
                let text = text.split('/').next().unwrap();
                let parts: Vec<&str> = text.rsplitn(3, ':').collect();
                let target: u16 = parts[0].parse().expect("container port");
                let published = parts
                    .get(1)
                    .map_or(target, |p| p.parse().expect("host port"));
                (published, target)
            }
        })
        .collect()
}

/// The catalog-sync services: the ones built from this repository's default image target (the
/// simulator is built from its own target).
fn catalog_sync_services(services: &BTreeMap<String, Value>) -> BTreeMap<String, &Value> {
    services
        .iter()
        .filter(|(_, service)| {
            service.get("build").is_some() && at(service, &["build", "target"]).is_none()
        })
        .map(|(name, service)| (name.clone(), service))
        .collect()
}

/// The subcommand a catalog-sync service runs (the image's default is `worker`).
fn compose_subcommand(service: &Value) -> String {
    words(service.get("command"))
        .into_iter()
        .next()
        .unwrap_or_else(|| "worker".to_owned())
}

/// The value of `--flag X` or `--flag=X` in a command line.
fn flag_value(args: &[String], flags: &[&str]) -> Option<String> {
    args.iter().enumerate().find_map(|(i, arg)| {
        flags.iter().find_map(|flag| {
            if arg == flag {
                args.get(i + 1).cloned()
            } else {
                arg.strip_prefix(&format!("{flag}=")).map(str::to_owned)
            }
        })
    })
}

#[test]
fn compose_file_wires_the_services_together() {
    let services = compose_services();
    for name in [
        "nats",
        "postgres",
        "jaeger",
        "simulator",
        "setup",
        "worker",
        "scheduler",
    ] {
        assert!(
            services.contains_key(name),
            "{COMPOSE} has no `{name}` service"
        );
    }

    for (name, service) in &services {
        // depends_on: a list of names or a mapping of name → condition.
        let depends_on = service.get("depends_on");
        let targets = match depends_on {
            Some(Value::Sequence(_)) => words(depends_on),
            _ => keys(depends_on),
        };
        for target in targets {
            let Some(dependency) = services.get(&target) else {
                panic!("service {name} depends on {target}, which is not a service");
            };
            let condition = text_at(service, &["depends_on", &target, "condition"]);
            if condition.as_deref() == Some("service_healthy") {
                assert!(
                    dependency.get("healthcheck").is_some(),
                    "service {name} waits for {target} to be healthy, but {target} has no healthcheck"
                );
            }
        }
    }

    // The worker starts after setup has completed, and after NATS and PostgreSQL are healthy.
    for (target, condition) in [
        ("setup", "service_completed_successfully"),
        ("nats", "service_healthy"),
        ("postgres", "service_healthy"),
    ] {
        assert_eq!(
            text_at(&services["worker"], &["depends_on", target, "condition"]).as_deref(),
            Some(condition),
            "the worker should depend on {target} with condition {condition}"
        );
    }

    // Jaeger's UI is published.
    assert!(
        published_ports(&services["jaeger"])
            .iter()
            .any(|(_, target)| *target == 16686),
        "jaeger should publish its UI port 16686"
    );
}

#[test]
fn compose_nats_uses_the_repository_configuration() {
    let services = compose_services();
    let nats = &services["nats"];
    let command = words(nats.get("command"));
    let config_path = flag_value(&command, &["-c", "--config"])
        .expect("the nats command should pass --config <file>");

    // The file mounted at the --config path exists in the repository.
    let mounts = words(nats.get("volumes"));
    let mount = mounts
        .iter()
        .find_map(|mount| {
            let mut parts = mount.split(':');
            let (source, target) = (parts.next()?, parts.next()?);
            (target == config_path).then(|| source.to_owned())
        })
        .unwrap_or_else(|| panic!("nats mounts nothing at its --config path {config_path}"));
    let source = repo_path("deploy").join(&mount);
    assert!(
        source.is_file(),
        "nats mounts {mount} (resolved against deploy/: {}), which does not exist",
        source.display()
    );
    let config = std::fs::read_to_string(&source).unwrap();

    // JetStream is on, and the server listens on all interfaces of its container.
    assert!(
        config.contains("jetstream") || command.iter().any(|a| a == "-js" || a == "--jetstream"),
        "nats should run with JetStream"
    );
    let loopback_only = config.lines().any(|line| {
        line.trim_start().starts_with("listen:")
            && (line.contains("127.0.0.1") || line.contains("localhost"))
    });
    if loopback_only {
        assert_eq!(
            flag_value(&command, &["-a", "--addr", "--net"]).as_deref(),
            Some("0.0.0.0"),
            "{mount} listens on loopback only: the nats command should pass --addr 0.0.0.0"
        );
    }
    // nats-server refuses a store directory given both in the file and on the command line;
    // the one in the file is kept in a volume.
    let store_dir = config.lines().find_map(|line| {
        let value = line.trim_start().strip_prefix("store_dir:")?;
        Some(value.trim().trim_matches('"').to_owned())
    });
    match store_dir {
        Some(store_dir) => {
            assert_eq!(
                flag_value(&command, &["-sd", "--store_dir"]),
                None,
                "{mount} sets store_dir: the nats command must not pass --store_dir too"
            );
            assert!(
                mounts.iter().any(|m| m
                    .split(':')
                    .nth(1)
                    .is_some_and(|target| Path::new(&store_dir).starts_with(target))),
                "nats should keep its store directory {store_dir} in a volume"
            );
        }
        None => assert!(
            flag_value(&command, &["-sd", "--store_dir"]).is_some(),
            "{mount} sets no store_dir: pass --store_dir and mount a volume there"
        ),
    }
    let monitoring = flag_value(&command, &["-m", "--http_port"]);
    if let Some(port) = monitoring {
        let check = words(at(nats, &["healthcheck", "test"])).join(" ");
        assert!(
            check.contains(&format!(":{port}/")),
            "the nats healthcheck should use the monitoring port {port}: {check}"
        );
    }
}

#[test]
fn compose_catalog_sync_services_set_only_variables_the_binary_reads() {
    let services = compose_services();
    let ours = catalog_sync_services(&services);
    for name in ["setup", "worker", "scheduler"] {
        assert!(
            ours.contains_key(name),
            "{name} should run the catalog-sync image (build: ...)"
        );
    }

    // One image, built from the repository root with deploy/Dockerfile.
    let images: BTreeSet<Option<String>> = ours.values().map(|s| text_at(s, &["image"])).collect();
    assert_eq!(
        images.len(),
        1,
        "catalog-sync services should share one image: {images:?}"
    );
    for (name, service) in &ours {
        let context = repo_path("deploy")
            .join(text_at(service, &["build", "context"]).unwrap_or_else(|| ".".into()));
        assert!(
            context.join("Cargo.toml").is_file(),
            "service {name}: the build context {} is not the repository root",
            context.display()
        );
        let dockerfile =
            text_at(service, &["build", "dockerfile"]).unwrap_or_else(|| "Dockerfile".into());
        assert!(
            context.join(&dockerfile).is_file(),
            "service {name}: {dockerfile} does not exist in the build context"
        );
        assert!(
            service.get("env_file").is_none(),
            "service {name}: use `environment`, so the variables can be checked"
        );

        let subcommand = compose_subcommand(service);
        let env = string_map(service.get("environment"));
        assert_env_accepted(
            &format!("compose service {name}"),
            env.keys(),
            &accepted_env(&subcommand),
            &subcommand,
        );
        if let Some(host) = check_otlp(&format!("compose service {name}"), &env) {
            assert!(
                services.contains_key(&host),
                "service {name}: the OTLP endpoint host {host} is not a service"
            );
        }
    }
}

#[test]
fn compose_worker_reaches_nats_postgres_simulator_and_jaeger() {
    let services = compose_services();
    let worker = &services["worker"];
    assert_eq!(compose_subcommand(worker), "worker");
    let env = string_map(worker.get("environment"));
    let var = |name: &str| {
        env.get(name)
            .unwrap_or_else(|| panic!("the worker should set {name}"))
            .clone()
    };

    // Traces go to the jaeger service, on the port of the chosen protocol.
    let otlp_host =
        check_otlp("compose worker", &env).expect("the worker sets OTEL_EXPORTER_OTLP_ENDPOINT");
    assert_eq!(
        otlp_host, "jaeger",
        "the worker's OTLP endpoint should be the jaeger service"
    );

    // The upstream is the simulator, on the port it listens on (on all interfaces).
    let simulator = &services["simulator"];
    let sim_env = string_map(simulator.get("environment"));
    let sim_listen = flag_value(&words(simulator.get("command")), &["--listen"])
        .or_else(|| sim_env.get("SIM_LISTEN").cloned())
        .expect("the simulator service sets SIM_LISTEN");
    let (sim_host, sim_port) = socket_addr("SIM_LISTEN", &sim_listen);
    assert!(
        sim_host == "0.0.0.0" || sim_host == "::",
        "the simulator listens on {sim_listen}: other containers cannot reach it"
    );
    let api_url = var("SYNC_API_URL");
    assert_eq!(
        url_host_port("SYNC_API_URL", &api_url),
        ("simulator".to_owned(), sim_port),
        "SYNC_API_URL {api_url} should point at the simulator service's port {sim_port}"
    );
    assert!(
        Url::parse(&api_url).unwrap().path().ends_with("/products"),
        "SYNC_API_URL {api_url} should be the simulator's /products endpoint"
    );

    // NATS and PostgreSQL are the compose services, with the credentials postgres is set up with.
    assert_eq!(
        url_host_port("NATS_URL", &var("NATS_URL")),
        ("nats".to_owned(), 4222)
    );
    let database_url = Url::parse(&var("DATABASE_URL")).expect("DATABASE_URL is a URL");
    let pg_env = string_map(services["postgres"].get("environment"));
    assert_eq!(
        database_url.host_str(),
        Some("postgres"),
        "DATABASE_URL should name the postgres service"
    );
    assert_eq!(
        Some(database_url.username()),
        pg_env.get("POSTGRES_USER").map(String::as_str),
        "DATABASE_URL's user should be postgres' POSTGRES_USER"
    );
    assert_eq!(
        database_url.password(),
        pg_env.get("POSTGRES_PASSWORD").map(String::as_str),
        "DATABASE_URL's password should be postgres' POSTGRES_PASSWORD"
    );
    assert_eq!(
        Some(database_url.path().trim_start_matches('/')),
        pg_env.get("POSTGRES_DB").map(String::as_str),
        "DATABASE_URL's database should be postgres' POSTGRES_DB"
    );

    // The metrics endpoint is published on its own port.
    let metrics_listen = env
        .get("METRICS_LISTEN")
        .cloned()
        .unwrap_or_else(|| env_default("worker", "METRICS_LISTEN"));
    let (_, metrics_port) = socket_addr("METRICS_LISTEN", &metrics_listen);
    assert!(
        published_ports(worker).contains(&(metrics_port, metrics_port)),
        "the worker should publish its metrics port {metrics_port}"
    );

    // The scheduler requests syncs on a schedule of its own.
    let scheduler = string_map(services["scheduler"].get("environment"));
    assert!(
        scheduler.contains_key("SYNC_SCHEDULE"),
        "the scheduler should set SYNC_SCHEDULE, so syncs (and traces) come soon after `up`"
    );
}

// ---- Kubernetes ---------------------------------------------------------------------------------

const K8S: &str = "deploy/k8s";

/// Every resource of the kustomization, with the file it came from.
fn k8s_resources() -> Vec<(String, Value)> {
    let kustomization = yaml(&format!("{K8S}/kustomization.yaml"));
    let files = words(kustomization.get("resources"));
    assert!(
        !files.is_empty(),
        "{K8S}/kustomization.yaml lists no resources"
    );
    for file in &files {
        assert!(
            repo_path(K8S).join(file).is_file(),
            "{K8S}/kustomization.yaml lists {file}, which does not exist"
        );
    }
    // Every manifest in the directory is listed, so none is silently left out.
    for entry in std::fs::read_dir(repo_path(K8S)).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if (name.ends_with(".yaml") || name.ends_with(".yml")) && name != "kustomization.yaml" {
            assert!(
                files.contains(&name),
                "{K8S}/{name} is not listed in kustomization.yaml"
            );
        }
    }
    files
        .iter()
        .flat_map(|file| {
            yaml_documents(&format!("{K8S}/{file}"))
                .into_iter()
                .map(move |doc| (file.clone(), doc))
        })
        .collect()
}

fn kind(resource: &Value) -> String {
    text_at(resource, &["kind"]).unwrap_or_default()
}

fn name(resource: &Value) -> String {
    text_at(resource, &["metadata", "name"]).unwrap_or_default()
}

/// Deployments, Jobs and other workloads: the ones with a pod template.
fn workloads(resources: &[(String, Value)]) -> Vec<&Value> {
    resources
        .iter()
        .map(|(_, r)| r)
        .filter(|r| at(r, &["spec", "template", "spec"]).is_some())
        .collect()
}

fn pod_spec(workload: &Value) -> &Value {
    at(workload, &["spec", "template", "spec"]).expect("a pod template")
}

/// Init containers and containers of a pod spec.
fn containers(pod: &Value) -> Vec<&Value> {
    ["initContainers", "containers"]
        .iter()
        .filter_map(|key| pod.get(*key).and_then(Value::as_sequence))
        .flatten()
        .collect()
}

/// The subcommand a container runs: its first argument, else the image's default (`worker`).
fn container_subcommand(container: &Value) -> String {
    let command = words(container.get("command"));
    assert!(
        command.is_empty() || command == [IMAGE_BINARY],
        "container {}: leave `command` to the image's entrypoint and pass the subcommand in args",
        text_at(container, &["name"]).unwrap_or_default()
    );
    words(container.get("args"))
        .into_iter()
        .next()
        .unwrap_or_else(|| "worker".to_owned())
}

/// Names of the ConfigMaps (`configMapRef`) or Secrets (`secretRef`) a container takes `envFrom`.
fn env_from(container: &Value, reference: &str) -> Vec<String> {
    container
        .get("envFrom")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|source| text_at(source, &[reference, "name"]))
        .collect()
}

/// Keys and values of the ConfigMaps or Secrets of the manifests, by name.
fn env_sources(
    resources: &[(String, Value)],
    wanted: &str,
) -> BTreeMap<String, BTreeMap<String, String>> {
    resources
        .iter()
        .filter(|(_, r)| kind(r) == wanted)
        .map(|(_, r)| {
            let mut values = BTreeMap::new();
            for field in ["data", "stringData"] {
                values.extend(string_map(r.get(field)));
            }
            (name(r), values)
        })
        .collect()
}

/// The environment a container sees: its ConfigMaps and Secrets, then its own `env`.
fn container_env(container: &Value, resources: &[(String, Value)]) -> BTreeMap<String, String> {
    let config_maps = env_sources(resources, "ConfigMap");
    let secrets = env_sources(resources, "Secret");
    let mut env = BTreeMap::new();
    for name in env_from(container, "configMapRef") {
        env.extend(config_maps.get(&name).cloned().unwrap_or_default());
    }
    for name in env_from(container, "secretRef") {
        env.extend(secrets.get(&name).cloned().unwrap_or_default());
    }
    for var in container
        .get("env")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        let name = text_at(var, &["name"]).expect("env entries have a name");
        env.insert(name, text_at(var, &["value"]).unwrap_or_default());
    }
    env
}

/// The workloads whose containers run `subcommand`.
fn workloads_running<'a>(resources: &'a [(String, Value)], subcommand: &str) -> Vec<&'a Value> {
    workloads(resources)
        .into_iter()
        .filter(|w| {
            containers(pod_spec(w))
                .iter()
                .any(|c| container_subcommand(c) == subcommand)
        })
        .collect()
}

/// Whether every label of `selector` is among `labels`.
fn selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

#[test]
fn k8s_manifests_parse_and_are_complete() {
    let resources = k8s_resources();
    for (file, resource) in &resources {
        for field in ["apiVersion", "kind"] {
            assert!(
                text_at(resource, &[field]).is_some_and(|v| !v.is_empty()),
                "{K8S}/{file}: a document has no {field}"
            );
        }
        assert!(
            !name(resource).is_empty(),
            "{K8S}/{file}: a {} has no metadata.name",
            kind(resource)
        );
    }
    let kinds: BTreeSet<String> = resources.iter().map(|(_, r)| kind(r)).collect();
    for wanted in ["ConfigMap", "Secret", "Job", "Deployment"] {
        assert!(kinds.contains(wanted), "{K8S} has no {wanted}");
    }
    for subcommand in ["setup", "worker", "scheduler"] {
        assert!(
            !workloads_running(&resources, subcommand).is_empty(),
            "{K8S}: no workload runs `catalog-sync {subcommand}`"
        );
    }
    for secret in resources
        .iter()
        .map(|(_, r)| r)
        .filter(|r| kind(r) == "Secret")
    {
        assert_eq!(
            text_at(secret, &["type"]).as_deref(),
            Some("Opaque"),
            "Secret {} should be of type Opaque",
            name(secret)
        );
    }
}

#[test]
fn k8s_worker_is_replicated_probed_and_stops_in_time() {
    let resources = k8s_resources();
    let workers = workloads_running(&resources, "worker");
    for worker in workers {
        let owner = format!("{} {}", kind(worker), name(worker));
        assert_eq!(
            kind(worker),
            "Deployment",
            "{owner}: the worker should be a Deployment"
        );
        let replicas: u64 =
            text_at(worker, &["spec", "replicas"]).map_or(1, |r| r.parse().unwrap());
        assert!(
            replicas >= 2,
            "{owner}: {replicas} replica(s); the worker should have at least 2"
        );

        let pod = pod_spec(worker);
        let container = containers(pod)
            .into_iter()
            .find(|c| container_subcommand(c) == "worker")
            .unwrap();
        let env = container_env(container, &resources);

        // Both probes hit the port METRICS_LISTEN binds, declared by the container.
        let metrics_listen = env
            .get("METRICS_LISTEN")
            .cloned()
            .unwrap_or_else(|| env_default("worker", "METRICS_LISTEN"));
        let (_, metrics_port) = socket_addr("METRICS_LISTEN", &metrics_listen);
        let ports: Vec<(Option<String>, u16)> = container
            .get("ports")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .map(|p| {
                (
                    text_at(p, &["name"]),
                    text_at(p, &["containerPort"]).unwrap().parse().unwrap(),
                )
            })
            .collect();
        for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
            let get = at(container, &[probe, "httpGet"])
                .unwrap_or_else(|| panic!("{owner}: the worker needs an httpGet {probe}"));
            assert_eq!(
                text_at(get, &["path"]).as_deref(),
                Some(path),
                "{owner}: {probe} path"
            );
            let port = text_at(get, &["port"]).expect("probe port");
            let resolved = ports
                .iter()
                .find(|(name, number)| {
                    name.as_deref() == Some(port.as_str()) || number.to_string() == port
                })
                .map(|(_, number)| *number)
                .unwrap_or_else(|| {
                    panic!(
                        "{owner}: {probe} uses port {port}, which the container does not declare"
                    )
                });
            assert_eq!(
                resolved, metrics_port,
                "{owner}: {probe} port {resolved} is not METRICS_LISTEN's port {metrics_port}"
            );
        }

        // SIGTERM leaves the worker SHUTDOWN_TIMEOUT to finish; Kubernetes must wait longer.
        let shutdown = env
            .get("SHUTDOWN_TIMEOUT")
            .cloned()
            .unwrap_or_else(|| env_default("worker", "SHUTDOWN_TIMEOUT"));
        let grace: f64 =
            text_at(pod, &["terminationGracePeriodSeconds"]).map_or(30.0, |g| g.parse().unwrap());
        assert!(
            grace > duration_secs(&shutdown),
            "{owner}: terminationGracePeriodSeconds {grace} should exceed SHUTDOWN_TIMEOUT {shutdown}"
        );

        // Memory is requested and capped.
        for limit in [
            ["resources", "requests", "memory"],
            ["resources", "limits", "memory"],
        ] {
            assert!(
                at(container, &limit).is_some(),
                "{owner}: set {}",
                limit.join(".")
            );
        }
        assert!(
            env.contains_key("DATABASE_URL"),
            "{owner}: the worker gets no DATABASE_URL (from its Secret or env)"
        );
    }
}

#[test]
fn k8s_workloads_run_as_non_root_and_select_their_pods() {
    let resources = k8s_resources();
    for workload in workloads(&resources) {
        let owner = format!("{} {}", kind(workload), name(workload));
        let pod = pod_spec(workload);
        if let Some(selector) = at(workload, &["spec", "selector", "matchLabels"]) {
            assert!(
                selects(
                    &string_map(Some(selector)),
                    &string_map(at(workload, &["spec", "template", "metadata", "labels"]))
                ),
                "{owner}: spec.selector.matchLabels must match the pod template's labels"
            );
        } else {
            assert_eq!(kind(workload), "Job", "{owner}: a selector is required");
        }
        for container in containers(pod) {
            let cname = text_at(container, &["name"]).unwrap_or_default();
            let security = |key: &str| {
                text_at(container, &["securityContext", key])
                    .or_else(|| text_at(pod, &["securityContext", key]))
            };
            assert_eq!(
                security("runAsNonRoot").as_deref(),
                Some("true"),
                "{owner}/{cname}: runAsNonRoot"
            );
            let uid: u64 = security("runAsUser")
                .unwrap_or_else(|| panic!("{owner}/{cname}: set runAsUser"))
                .parse()
                .unwrap();
            assert_ne!(uid, 0, "{owner}/{cname}: runAsUser must not be root");
            for (key, wanted) in [
                ("allowPrivilegeEscalation", "false"),
                ("readOnlyRootFilesystem", "true"),
            ] {
                assert_eq!(
                    text_at(container, &["securityContext", key]).as_deref(),
                    Some(wanted),
                    "{owner}/{cname}: securityContext.{key} should be {wanted}"
                );
            }
            assert!(
                words(at(container, &["securityContext", "capabilities", "drop"]))
                    .contains(&"ALL".to_owned()),
                "{owner}/{cname}: drop ALL capabilities"
            );
        }
    }

    // Services and disruption budgets select pods of a workload, on ports the pods declare.
    let templates: Vec<(BTreeMap<String, String>, &Value)> = workloads(&resources)
        .into_iter()
        .map(|w| {
            (
                string_map(at(w, &["spec", "template", "metadata", "labels"])),
                pod_spec(w),
            )
        })
        .collect();
    for (_, resource) in resources
        .iter()
        .filter(|(_, r)| matches!(kind(r).as_str(), "Service" | "PodDisruptionBudget"))
    {
        let owner = format!("{} {}", kind(resource), name(resource));
        let selector = string_map(
            at(resource, &["spec", "selector"]).map(|s| s.get("matchLabels").unwrap_or(s)),
        );
        let pods: Vec<&Value> = templates
            .iter()
            .filter(|(labels, _)| selects(&selector, labels))
            .map(|(_, pod)| *pod)
            .collect();
        assert!(
            !pods.is_empty(),
            "{owner}: its selector matches no workload's pods"
        );
        for port in at(resource, &["spec", "ports"])
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            let target = text_at(port, &["targetPort"])
                .or_else(|| text_at(port, &["port"]))
                .unwrap();
            let declared = pods.iter().flat_map(|pod| containers(pod)).any(|c| {
                c.get("ports")
                    .and_then(Value::as_sequence)
                    .into_iter()
                    .flatten()
                    .any(|p| {
                        text_at(p, &["name"]).as_deref() == Some(target.as_str())
                            || text_at(p, &["containerPort"]).as_deref() == Some(target.as_str())
                    })
            });
            assert!(
                declared,
                "{owner}: targetPort {target} is not declared by the selected pods"
            );
        }
    }
}

#[test]
fn k8s_settings_are_variables_the_binary_reads() {
    let resources = k8s_resources();
    let mut used_by: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for workload in workloads(&resources) {
        for container in containers(pod_spec(workload)) {
            let subcommand = container_subcommand(container);
            let owner = format!(
                "{} {} container {}",
                kind(workload),
                name(workload),
                text_at(container, &["name"]).unwrap_or_default()
            );
            let own: Vec<String> = container
                .get("env")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .map(|var| text_at(var, &["name"]).unwrap())
                .collect();
            assert_env_accepted(&owner, &own, &accepted_env(&subcommand), &subcommand);
            for (reference, source_kind) in [("configMapRef", "ConfigMap"), ("secretRef", "Secret")]
            {
                for source in env_from(container, reference) {
                    used_by
                        .entry((source_kind.to_owned(), source))
                        .or_default()
                        .insert(subcommand.clone());
                }
            }
            check_otlp(&owner, &container_env(container, &resources));
        }
    }

    // Every key of a ConfigMap or Secret is read by one of the commands that load it.
    for source_kind in ["ConfigMap", "Secret"] {
        for (source, values) in env_sources(&resources, source_kind) {
            let subcommands = used_by
                .get(&(source_kind.to_owned(), source.clone()))
                .unwrap_or_else(|| {
                    panic!("{source_kind} {source} is referenced by no workload's envFrom")
                });
            let accepted: BTreeSet<String> =
                subcommands.iter().flat_map(|s| accepted_env(s)).collect();
            let commands = subcommands.iter().cloned().collect::<Vec<_>>().join("|");
            assert_env_accepted(
                &format!("{source_kind} {source}"),
                values.keys(),
                &accepted,
                &commands,
            );
        }
    }
    // And every envFrom names a ConfigMap or Secret of the manifests.
    for (source_kind, source) in used_by.keys() {
        assert!(
            env_sources(&resources, source_kind).contains_key(source),
            "envFrom references {source_kind} {source}, which the manifests do not define"
        );
    }
}
