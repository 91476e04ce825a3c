//! Checks of the deployment files that only this repository can make: `deploy/Dockerfile`,
//! `deploy/docker-compose.yml` and the manifests in `deploy/k8s/` set only variables the binaries
//! read, and agree with each other and with the binaries (ports, paths, service names, time-outs);
//! the alerts and the dashboard in `deploy/monitoring/` query only metrics the binary serves; the
//! NATS configurations agree on `max_payload`. No container engine or cluster is needed. What a
//! binary reads comes from its `--help`, which lists every variable as `[env: NAME=]`.
//!
//! Generic checks are left to the linters that `scripts/lint-deploy` runs: yamllint (YAML syntax,
//! duplicate keys, indentation), hadolint (Dockerfile practice: exec form, apt use, pinned base
//! images), kubernetes-validate (every manifest against the Kubernetes API schema) and promtool
//! (rule and query syntax, the alerts' unit tests).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::Url;
use serde::Deserialize as _;
use serde_norway::Value;

use crate::support::process::BIN;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Variables read from the environment directly rather than through a command's flags: the log
/// settings (src/telemetry) and the standard OpenTelemetry ones (the OTLP exporter and the SDK).
const DIRECT_ENV: &str = "RUST_LOG LOG_FORMAT LOG_SPAN_CLOSE
    OTEL_SDK_DISABLED OTEL_SERVICE_NAME OTEL_RESOURCE_ATTRIBUTES
    OTEL_TRACES_EXPORTER OTEL_TRACES_SAMPLER OTEL_TRACES_SAMPLER_ARG
    OTEL_EXPORTER_OTLP_ENDPOINT OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
    OTEL_EXPORTER_OTLP_PROTOCOL OTEL_EXPORTER_OTLP_TRACES_PROTOCOL
    OTEL_EXPORTER_OTLP_HEADERS OTEL_EXPORTER_OTLP_TRACES_HEADERS
    OTEL_EXPORTER_OTLP_TIMEOUT OTEL_EXPORTER_OTLP_TRACES_TIMEOUT
    OTEL_EXPORTER_OTLP_COMPRESSION OTEL_EXPORTER_OTLP_TRACES_COMPRESSION
    OTEL_BSP_SCHEDULE_DELAY OTEL_BSP_EXPORT_TIMEOUT OTEL_BSP_MAX_QUEUE_SIZE
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE OTEL_BSP_MAX_CONCURRENT_EXPORTS";

/// The simulator's log filter (tracing's `EnvFilter`), its only variable outside its flags.
const SIMULATOR_DIRECT_ENV: &str = "RUST_LOG";

type Env = BTreeMap<String, String>;

// ---- files -------------------------------------------------------------------------------------

fn read(relative: &str) -> String {
    let path = Path::new(ROOT).join(relative);
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// The documents of a YAML file, with `<<` merge keys applied (compose's extension fields).
fn yaml(relative: &str) -> Vec<Value> {
    let text = read(relative);
    let parse = |document| -> Result<Value, serde_norway::Error> {
        let mut value = Value::deserialize(document)?;
        value.apply_merge()?;
        Ok(value)
    };
    let documents = serde_norway::Deserializer::from_str(&text).map(parse);
    let documents = documents.map(|d| d.unwrap_or_else(|e| panic!("{relative}: {e}")));
    documents.filter(|document| !document.is_null()).collect()
}

/// The items of a sequence; none for anything else (`value["key"]` is null when absent).
fn list(value: &Value) -> &[Value] {
    value.as_sequence().map_or(&[], Vec::as_slice)
}

/// A scalar as text (compose takes numbers and booleans as values too).
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// A mapping of scalars (compose `environment`, ConfigMap `data`), or a list of `NAME=value`.
fn vars(value: &Value) -> Env {
    if let Some(mapping) = value.as_mapping() {
        return mapping.iter().map(|(k, v)| (text(k), text(v))).collect();
    }
    let pair = |item: String| match item.split_once('=') {
        Some((name, value)) => (name.to_owned(), value.to_owned()),
        None => (item, String::new()),
    };
    list(value).iter().map(text).map(pair).collect()
}

/// Host and port of a URL, with the default ports of the schemes used here.
fn host_port(url: &str) -> (String, u16) {
    let parsed = Url::parse(url).unwrap_or_else(|e| panic!("{url:?}: {e}"));
    let default = match parsed.scheme() {
        "nats" => 4222,
        "postgres" | "postgresql" => 5432,
        _ => parsed.port_or_known_default().unwrap_or_default(),
    };
    let host = parsed.host_str().unwrap_or_default().to_owned();
    (host, parsed.port().unwrap_or(default))
}

/// The port of a socket address such as `0.0.0.0:9464`.
fn listen_port(addr: &str) -> u16 {
    let port = addr.rsplit_once(':').map(|(_, port)| port.parse());
    port.and_then(Result::ok).expect("a host:port address")
}

// ---- the binaries ------------------------------------------------------------------------------

/// `<bin> <args> --help`, run with an empty environment so that no variable changes it.
fn help(bin: &Path, args: &[&str]) -> String {
    let mut command = Command::new(bin);
    command.args(args).arg("--help").env_clear();
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{command:?}: {stderr}");
    String::from_utf8(output.stdout).unwrap()
}

/// `catalog-sync <subcommand> --help`.
fn catalog_sync_help(subcommand: &str) -> String {
    help(Path::new(BIN), &[subcommand])
}

/// The variables a help text lists (`[env: NAME=]`, or `[env: NAME]` for hidden values), and
/// the ones the binary reads directly.
fn accepted(help: &str, direct: &str) -> BTreeSet<String> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let listed = help.split("[env: ").skip(1);
    let listed = listed.map(|rest| rest.split(|c| !is_name(c)).next().unwrap());
    let names = direct.split_whitespace().chain(listed);
    names.map(str::to_owned).collect()
}

/// The default of variable `name` as a help text shows it: `[env: NAME=] [default: X]`.
fn default_of(help: &str, name: &str) -> String {
    let line = help.lines().find(|l| l.contains(&format!("[env: {name}=")));
    let default = line.and_then(|l| l.split("[default: ").nth(1)?.split(']').next());
    default.expect("--help shows a default").to_owned()
}

/// `catalog-sync-simulator --help`, rendered from its arguments (a dev-dependency of the tests).
fn simulator_help() -> String {
    #[derive(clap::Parser)]
    struct Simulator {
        #[command(flatten)]
        args: catalog_sync_simulator::SimulatorArgs,
    }
    let mut command = <Simulator as clap::CommandFactory>::command();
    command.render_long_help().to_string()
}

/// Every variable `command` reads: `catalog-sync <subcommand>`, or `catalog-sync-simulator`.
fn reads(command: &str) -> BTreeSet<String> {
    match command.strip_prefix("catalog-sync ") {
        Some(subcommand) => accepted(&catalog_sync_help(subcommand), DIRECT_ENV),
        None => accepted(&simulator_help(), SIMULATOR_DIRECT_ENV),
    }
}

/// Asserts that `owner` sets only variables in `accepted`, the ones `command` reads.
fn assert_accepted<'a, I>(owner: &str, names: I, accepted: &BTreeSet<String>, command: &str)
where
    I: IntoIterator<Item = &'a String>,
{
    let names = names.into_iter();
    let unknown: Vec<_> = names.filter(|n| !accepted.contains(*n)).collect();
    assert!(
        unknown.is_empty(),
        "{owner} sets {unknown:?}, which `{command}` does not read (see `{command} --help`)"
    );
}

/// The OTLP endpoint's port matches the protocol: 4317 for `grpc`, 4318 for `http/protobuf` (the
/// default). Returns the endpoint's host.
fn otlp_host(owner: &str, env: &Env) -> Option<String> {
    let endpoint = env.get("OTEL_EXPORTER_OTLP_ENDPOINT")?;
    let protocol = env.get("OTEL_EXPORTER_OTLP_PROTOCOL");
    let expected = match protocol.map_or("http/protobuf", String::as_str) {
        "grpc" => 4317,
        "http/protobuf" => 4318,
        other => panic!("{owner}: OTLP protocol {other} is neither grpc nor http/protobuf"),
    };
    let (host, port) = host_port(endpoint);
    let otlp = format!("{owner}: OTLP endpoint {endpoint}, protocol {protocol:?}");
    assert_eq!(port, expected, "{otlp}: 4317 is gRPC, 4318 HTTP");
    Some(host)
}

// ---- Dockerfile --------------------------------------------------------------------------------

/// The stages of deploy/Dockerfile, each as its lines from its `FROM` on: trimmed, without
/// comments. None of the instructions read here spans several lines.
fn dockerfile() -> Vec<Vec<String>> {
    let mut stages: Vec<Vec<String>> = Vec::new();
    for line in read("deploy/Dockerfile").lines().map(str::trim) {
        if line.starts_with("FROM ") {
            stages.push(Vec::new());
        }
        if let Some(stage) = stages.last_mut().filter(|_| !line.starts_with('#')) {
            stage.push(line.to_owned());
        }
    }
    stages
}

/// The arguments of a stage's last `keyword` instruction.
fn last<'a>(stage: &'a [String], keyword: &str) -> Option<&'a str> {
    let args = stage.iter().map(|line| line.strip_prefix(keyword));
    args.filter_map(|rest| rest?.strip_prefix(' ')).next_back()
}

/// The exec form of a stage's last `keyword` instruction: `ENTRYPOINT ["/usr/local/bin/x"]`.
fn exec(stage: &[String], keyword: &str) -> Vec<String> {
    let args = last(stage, keyword).unwrap_or_else(|| panic!("{}: no {keyword}", stage[0]));
    serde_json::from_str(args).unwrap_or_else(|_| panic!("{keyword} {args}: not [\"...\"]"))
}

/// What the default image runs without arguments: the first word of the final stage's `CMD`.
fn default_subcommand() -> String {
    exec(dockerfile().last().unwrap(), "CMD").remove(0)
}

/// Dotted version numbers: `1.94` → [1, 94].
fn version(text: &str) -> Vec<u32> {
    let parts: Result<_, _> = text.split('.').map(str::parse).collect();
    parts.unwrap_or_else(|_| panic!("not a version: {text:?}"))
}

#[test]
fn dockerfile_runs_the_binaries_it_builds_as_a_non_root_user() {
    let stages = dockerfile();

    // The builder's toolchain is new enough for the crate.
    let manifest = read("Cargo.toml");
    let required = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version ="));
    let required = version(required.unwrap().trim().trim_matches('"'));
    let tag = stages.iter().find_map(|s| s[0].strip_prefix("FROM rust:"));
    let tag = tag.expect("a builder stage FROM rust:<version>");
    let toolchain = version(tag.split(['-', ' ']).next().unwrap());
    assert!(
        toolchain >= required,
        "FROM rust:{tag} is older than Cargo.toml's rust-version {required:?}"
    );

    // Each image runs the binary its stage copies in, as a numeric non-root user: the default
    // (final) stage catalog-sync, the `simulator` stage the simulator.
    let simulator = stages.iter().find(|s| s[0].ends_with(" AS simulator"));
    let simulator = simulator.expect("a simulator stage");
    let images = [
        (stages.last().unwrap(), "catalog-sync"),
        (simulator, "catalog-sync-simulator"),
    ];
    for (stage, binary) in images {
        let (from, path) = (&stage[0], format!("/usr/local/bin/{binary}"));
        assert_eq!(
            exec(stage, "ENTRYPOINT").join(" "),
            path,
            "{from}: ENTRYPOINT"
        );
        let copy = |line: &String| line.starts_with("COPY ") && line.ends_with(&path);
        let copied = stage.iter().any(copy);
        assert!(copied, "{from}: ENTRYPOINT {path} is no file it copies");
        let user = last(stage, "USER").unwrap_or_else(|| panic!("{from}: no USER"));
        let ids: Result<Vec<u32>, _> = user.split(':').map(str::parse).collect();
        let non_root = ids.is_ok_and(|ids| !ids.contains(&0));
        assert!(non_root, "{from}: USER {user} is not a non-root uid:gid");
    }
    // The default command is one of the binary's subcommands.
    catalog_sync_help(&default_subcommand());
}

// ---- docker compose ----------------------------------------------------------------------------

/// The compose services.
fn compose() -> BTreeMap<String, Value> {
    let compose = yaml("deploy/docker-compose.yml").remove(0);
    let services = compose["services"].as_mapping().expect("services");
    services
        .iter()
        .map(|(name, service)| (text(name), service.clone()))
        .collect()
}

/// A command line: a list, or a string split on whitespace.
fn words(value: &Value) -> Vec<String> {
    match value.as_str() {
        Some(line) => line.split_whitespace().map(str::to_owned).collect(),
        None => list(value).iter().map(text).collect(),
    }
}

/// The value of `--flag X` or `--flag=X` in a service's command, under any of its names.
fn flag(service: &Value, names: &[&str]) -> Option<String> {
    let args = words(&service["command"]);
    let value = args.iter().enumerate().find_map(|(i, arg)| {
        names.iter().find_map(|name| match arg.strip_prefix(name)? {
            "" => args.get(i + 1).map(String::as_str),
            rest => rest.strip_prefix('='),
        })
    });
    value.map(str::to_owned)
}

/// What a service built from deploy/Dockerfile runs: `catalog-sync <subcommand>` for the
/// default target, `catalog-sync-simulator` for the `simulator` target.
fn runs(name: &str, service: &Value) -> Option<String> {
    let build = &service["build"];
    match build["target"].as_str() {
        _ if build.is_null() => None,
        None => {
            let subcommand = words(&service["command"]).into_iter().next();
            let subcommand = subcommand.unwrap_or_else(default_subcommand);
            Some(format!("catalog-sync {subcommand}"))
        }
        Some("simulator") => Some("catalog-sync-simulator".to_owned()),
        Some(other) => panic!("compose service {name}: unknown image target {other}"),
    }
}

#[test]
fn compose_services_set_only_variables_their_binary_reads() {
    for (name, service) in compose() {
        let Some(command) = runs(&name, &service) else {
            continue;
        };
        let owner = format!("compose service {name}");
        let env_file = service["env_file"].is_null();
        assert!(env_file, "{owner}: set `environment`, not env_file");
        let env = vars(&service["environment"]);
        assert_accepted(&owner, env.keys(), &reads(&command), &command);
    }
}

#[test]
fn compose_services_reach_each_other() {
    let services = compose();
    let env_of = |name: &str| vars(&services[name]["environment"]);

    // The simulator listens on every interface of its container, on the port the worker calls.
    let sim_listen = env_of("simulator").get("SIM_LISTEN").cloned();
    let sim_listen = sim_listen.unwrap_or_else(|| default_of(&simulator_help(), "SIM_LISTEN"));
    let everywhere = sim_listen.starts_with("0.0.0.0:") || sim_listen.starts_with("[::]:");
    assert!(
        everywhere,
        "the simulator listens on {sim_listen}: out of reach"
    );

    // The services the URLs must point at, on the ports they listen on.
    let nats_port = flag(&services["nats"], &["-p", "--port"]);
    let nats_port = nats_port.map_or(4222, |port| port.parse().unwrap());
    let targets = [
        ("NATS_URL", "nats", nats_port),
        ("DATABASE_URL", "postgres", 5432),
        ("SYNC_API_URL", "simulator", listen_port(&sim_listen)),
    ];
    let pg = env_of("postgres");
    let pg = ["POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"].map(|k| pg[k].as_str());

    for (name, service) in &services {
        let runs = runs(name, service).unwrap_or_default();
        if !runs.starts_with("catalog-sync ") {
            continue;
        }
        let (owner, env) = (format!("compose service {name}"), env_of(name));
        if let Some(host) = otlp_host(&owner, &env) {
            assert!(services.contains_key(&host), "{owner}: OTLP host {host}");
        }
        for (var, host, port) in targets {
            // Each URL that is set; the worker needs all three.
            let Some(url) = env.get(var) else {
                assert_ne!(name, "worker", "the compose worker sets no {var}");
                continue;
            };
            let target = (host.to_owned(), port);
            assert_eq!(host_port(url), target, "{owner}: {var} {url} (host, port)");
        }
        if let Some(url) = env.get("SYNC_API_URL") {
            assert!(url.ends_with("/products"), "{owner}: SYNC_API_URL {url}");
        }
        if let Some(url) = env.get("DATABASE_URL").map(|url| Url::parse(url).unwrap()) {
            // The role, password and database the postgres service is set up with.
            let password = url.password().unwrap_or_default();
            let found = [url.username(), password, &url.path()[1..]];
            assert_eq!(found, pg, "{owner}: DATABASE_URL's credentials");
        }
    }
}

#[test]
fn compose_nats_runs_the_repository_configuration() {
    let nats = compose().remove("nats").expect("a nats service");
    let config = flag(&nats, &["-c", "--config"]).expect("nats --config <file>");

    // The file mounted there is nats/nats-server.conf (volume paths are relative to deploy/).
    let volumes = words(&nats["volumes"]);
    let source = volumes.iter().find_map(|volume| {
        let (source, target) = volume.split_once(':')?;
        (target.split(':').next() == Some(config.as_str())).then_some(source)
    });
    let source = source.expect("a file mounted at the --config path");
    let canonical = |path: PathBuf| path.canonicalize().unwrap_or(path);
    let mounted = canonical(Path::new(ROOT).join("deploy").join(source));
    let repository = canonical(Path::new(ROOT).join("nats/nats-server.conf"));
    assert_eq!(mounted, repository, "nats mounts {source} at {config}");

    // The file listens on loopback: in a container the server must listen on every interface.
    // And nats-server refuses a store directory set both in the file and on the command line.
    let file = read("nats/nats-server.conf");
    let listen = file.lines().find(|line| line.trim().starts_with("listen:"));
    if listen.is_some_and(|line| line.contains("127.0.0.1")) {
        let addr = flag(&nats, &["-a", "--addr", "--net"]);
        assert_eq!(addr.as_deref(), Some("0.0.0.0"), "{listen:?}: pass --addr");
    }
    let store_dir = flag(&nats, &["-sd", "--store_dir"]);
    let both = file.contains("store_dir") && store_dir.is_some();
    assert!(!both, "the file sets store_dir: drop --store_dir");
}

/// The published ports of a compose service: (host address, host port, container port), from
/// the short syntax `HOST_IP:HOST_PORT:CONTAINER_PORT`.
fn published(owner: &str, service: &Value) -> Vec<(String, u16, u16)> {
    let parse = |entry: String| {
        let fields: Vec<&str> = entry.split(':').collect();
        let [ip, host, container] = fields[..] else {
            panic!("{owner}: port {entry:?} is not HOST_IP:HOST_PORT:CONTAINER_PORT");
        };
        let port = |p: &str| {
            p.parse()
                .unwrap_or_else(|_| panic!("{owner}: port {entry:?}"))
        };
        (ip.to_owned(), port(host), port(container))
    };
    list(&service["ports"])
        .iter()
        .map(text)
        .map(parse)
        .collect()
}

#[test]
fn compose_publishes_on_loopback_only_the_ports_the_services_listen_on() {
    let services = compose();
    let mut host_ports = BTreeMap::new();
    for (name, service) in &services {
        let owner = format!("compose service {name}");
        let env = vars(&service["environment"]);
        // What the container listens on, where this repository decides it.
        let listens: Option<Vec<u16>> = match (name.as_str(), runs(name, service)) {
            ("nats", _) => {
                let port = flag(service, &["-p", "--port"]).map_or(4222, |p| p.parse().unwrap());
                let http = flag(service, &["-m", "--http_port"]).map(|p| p.parse().unwrap());
                Some([Some(port), http].into_iter().flatten().collect())
            }
            ("postgres", _) => Some(vec![5432]),
            (_, Some(command)) if command == "catalog-sync-simulator" => {
                let listen = env.get("SIM_LISTEN").cloned();
                let listen = listen.unwrap_or_else(|| default_of(&simulator_help(), "SIM_LISTEN"));
                Some(vec![listen_port(&listen)])
            }
            // A catalog-sync service publishes its operations endpoint (METRICS_LISTEN) and its
            // webhook routes (INGRESS_LISTEN), where its command serves them.
            (_, Some(command)) => {
                let help = catalog_sync_help(command.strip_prefix("catalog-sync ").unwrap());
                let ports: Vec<u16> = ["METRICS_LISTEN", "INGRESS_LISTEN"]
                    .into_iter()
                    .filter(|var| help.contains(&format!("[env: {var}=")))
                    .map(|var| {
                        let listen = env.get(var).cloned();
                        listen_port(&listen.unwrap_or_else(|| default_of(&help, var)))
                    })
                    .collect();
                (!ports.is_empty()).then_some(ports)
            }
            _ => None,
        };
        for (ip, host, container) in published(&owner, service) {
            // Reachable from this machine's CLI, not from the network.
            assert_eq!(
                ip, "127.0.0.1",
                "{owner}: publish port {host} on 127.0.0.1 only"
            );
            let clash = host_ports.insert(host, name.clone());
            assert!(
                clash.is_none(),
                "{owner}: host port {host} also used by {clash:?}"
            );
            if let Some(listens) = &listens {
                let known = listens.contains(&container);
                assert!(
                    known,
                    "{owner}: publishes {container}, listens on {listens:?}"
                );
            }
        }
        // A healthcheck over /dev/tcp dials the port the endpoint listens on.
        let check = words(&service["healthcheck"]["test"]).join(" ");
        if let (Some(dial), Some(listens)) = (check.split("/dev/tcp/127.0.0.1/").nth(1), &listens) {
            let port = dial.split(|c: char| !c.is_ascii_digit()).next().unwrap();
            let known = listens.iter().any(|p| p.to_string() == port);
            assert!(
                known,
                "{owner}: healthcheck dials {port}, listens on {listens:?}"
            );
        }
    }
}

// ---- Kubernetes --------------------------------------------------------------------------------

const K8S: &str = "deploy/k8s";

/// Every resource the kustomization lists; every manifest of the directory must be listed.
fn k8s_resources() -> Vec<Value> {
    let kustomization = yaml(&format!("{K8S}/kustomization.yaml")).remove(0);
    let files = words(&kustomization["resources"]);
    for entry in std::fs::read_dir(Path::new(ROOT).join(K8S)).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let manifest = name.ends_with(".yaml") && name != "kustomization.yaml";
        let listed = !manifest || files.contains(&name);
        assert!(listed, "{name} is not in kustomization.yaml");
    }
    let documents = files.iter().map(|file| yaml(&format!("{K8S}/{file}")));
    documents.flatten().collect()
}

/// Every container of the workloads: (owner, pod spec, container, subcommand).
fn containers(resources: &[Value]) -> Vec<(String, &Value, &Value, String)> {
    let mut found = Vec::new();
    for workload in resources {
        let pod = &workload["spec"]["template"]["spec"];
        let kind = [&workload["kind"], &workload["metadata"]["name"]].map(text);
        let (init, main) = (list(&pod["initContainers"]), list(&pod["containers"]));
        for container in init.iter().chain(main) {
            let owner = format!("{} container {}", kind.join(" "), text(&container["name"]));
            // The subcommand is the first of `args`: the entrypoint stays the image's.
            let entrypoint = container["command"].is_null();
            assert!(entrypoint, "{owner}: give the subcommand in args");
            let subcommand = list(&container["args"]).first().map(text);
            let subcommand = subcommand.unwrap_or_else(default_subcommand);
            found.push((owner, pod, container, subcommand));
        }
    }
    found
}

/// The ConfigMaps and Secrets of a container's `envFrom`, as (kind, name).
fn env_from(container: &Value) -> Vec<(&'static str, String)> {
    let mut found = Vec::new();
    for source in list(&container["envFrom"]) {
        for (kind, key) in [("ConfigMap", "configMapRef"), ("Secret", "secretRef")] {
            if let Some(name) = source[key]["name"].as_str() {
                found.push((kind, name.to_owned()));
            }
        }
    }
    found
}

/// The data of the ConfigMap or Secret `kind` `name`, if the manifests define it.
fn env_source(resources: &[Value], kind: &str, name: &str) -> Option<Env> {
    let is = |r: &&Value| r["kind"] == kind && r["metadata"]["name"] == name;
    let resource = resources.iter().find(is)?;
    let mut data = vars(&resource["data"]);
    data.extend(vars(&resource["stringData"]));
    Some(data)
}

/// The variables a container sees: its ConfigMaps' and Secrets' data, then its own `env`.
fn container_env(resources: &[Value], container: &Value) -> Env {
    let sources = env_from(container).into_iter();
    let data = sources.flat_map(|(kind, name)| env_source(resources, kind, &name));
    let own = list(&container["env"]).iter();
    let own = own.map(|var| (text(&var["name"]), text(&var["value"])));
    data.flatten().chain(own).collect()
}

#[test]
fn k8s_settings_are_variables_the_binary_reads() {
    let resources = k8s_resources();
    let mut loaded_by: BTreeMap<(&str, String), BTreeSet<String>> = BTreeMap::new();
    for (owner, _, container, subcommand) in containers(&resources) {
        let command = format!("catalog-sync {subcommand}");
        let own: Vec<String> = list(&container["env"])
            .iter()
            .map(|v| text(&v["name"]))
            .collect();
        assert_accepted(&owner, &own, &reads(&command), &command);
        otlp_host(&owner, &container_env(&resources, container));
        for source in env_from(container) {
            let loaders = loaded_by.entry(source).or_default();
            loaders.insert(subcommand.clone());
        }
    }
    // A shared ConfigMap or Secret holds the settings of several commands: each of its keys must
    // be read by one of the commands that load it.
    for ((kind, name), subcommands) in loaded_by {
        let owner = format!("{kind} {name}");
        let data = env_source(&resources, kind, &name);
        let data = data.unwrap_or_else(|| panic!("envFrom names {owner}, which is not defined"));
        let commands = subcommands.iter().map(|s| format!("catalog-sync {s}"));
        let accepted = commands.flat_map(|command| reads(&command)).collect();
        let commands = subcommands.into_iter().collect::<Vec<_>>().join("|");
        let command = format!("catalog-sync {commands}");
        assert_accepted(&owner, data.keys(), &accepted, &command);
    }
}

#[test]
fn k8s_probes_and_grace_period_follow_the_worker_settings() {
    let resources = k8s_resources();
    let mut probed = 0;
    for (owner, pod, container, subcommand) in containers(&resources) {
        let help = catalog_sync_help(&subcommand);
        let env = container_env(&resources, container);
        let default = |name| default_of(&help, name);
        let setting = |name| env.get(name).cloned().unwrap_or_else(|| default(name));

        // The operations endpoint (METRICS_LISTEN) answers the probes: /healthz for liveness and
        // start-up, /readyz for readiness. A probe's port may be the name of a container port.
        if help.contains("[env: METRICS_LISTEN=") {
            probed += 1;
            let metrics = listen_port(&setting("METRICS_LISTEN")).to_string();
            let probes = [
                ("liveness", "/healthz"),
                ("startup", "/healthz"),
                ("readiness", "/readyz"),
            ];
            for (probe, path) in probes {
                let get = &container[format!("{probe}Probe")]["httpGet"];
                if get.is_null() {
                    assert_eq!(probe, "startup", "{owner}: no {probe} probe");
                    continue;
                }
                assert_eq!(get["path"], path, "{owner}: {probe} probe path");
                let mut ports = list(&container["ports"]).iter();
                let port = ports.find(|port| port["name"] == get["port"]);
                let port = port.map_or(&get["port"], |port| &port["containerPort"]);
                assert_eq!(text(port), metrics, "{owner}: {probe} probe port");
            }
        }
        // After SIGTERM the process takes up to SHUTDOWN_TIMEOUT; Kubernetes must wait longer.
        if help.contains("[env: SHUTDOWN_TIMEOUT=") {
            let shutdown = setting("SHUTDOWN_TIMEOUT");
            let seconds = humantime::parse_duration(&shutdown).unwrap().as_secs_f64();
            let grace = &pod["terminationGracePeriodSeconds"];
            let grace = grace.as_f64().unwrap_or(30.0);
            assert!(
                grace > seconds,
                "{owner}: terminationGracePeriodSeconds {grace} <= SHUTDOWN_TIMEOUT {shutdown}"
            );
        }
    }
    assert!(probed > 0, "{K8S}: no workload runs the worker");
}

#[test]
fn k8s_metrics_service_reaches_pods_serving_its_port_even_when_not_ready() {
    let resources = k8s_resources();
    let workloads = containers(&resources);
    let services = resources.iter().filter(|r| r["kind"] == "Service");
    let mut scraped = 0;
    for service in services {
        let owner = format!("Service {}", text(&service["metadata"]["name"]));
        let spec = &service["spec"];
        let selector = spec["selector"].as_mapping().expect("a selector");
        // The workloads whose pods the selector picks.
        let selects = |pod: &Value| {
            let labels = &pod["metadata"]["labels"];
            selector.iter().all(|(k, v)| &labels[text(k).as_str()] == v)
        };
        let selected: Vec<_> = resources
            .iter()
            .filter(|r| selects(&r["spec"]["template"]))
            .collect();
        assert!(!selected.is_empty(), "{owner}: selects no workload's pods");

        for port in list(&spec["ports"]) {
            // The target port is a container port (by name or number) of every selected pod.
            let target = text(&port["targetPort"]);
            for workload in &selected {
                let pod = &workload["spec"]["template"]["spec"];
                let containers = list(&pod["containers"]).iter();
                let mut ports = containers.flat_map(|c| list(&c["ports"]));
                let found = ports.any(|p| {
                    [&p["name"], &p["containerPort"]]
                        .map(text)
                        .contains(&target)
                });
                assert!(found, "{owner}: targetPort {target} is no container port");
            }
        }

        // A Service Prometheus scrapes keeps not-ready pods in its endpoints: a worker's
        // metrics matter most exactly when its /readyz fails. And it scrapes the port that
        // METRICS_LISTEN opens.
        let annotations = &service["metadata"]["annotations"];
        if annotations["prometheus.io/scrape"] != "true" {
            continue;
        }
        scraped += 1;
        let not_ready = spec["publishNotReadyAddresses"].as_bool() == Some(true);
        assert!(not_ready, "{owner}: set publishNotReadyAddresses: true");
        let scrape_port = text(&annotations["prometheus.io/port"]);
        let service_port = list(&spec["ports"]).iter().map(|p| text(&p["port"]));
        assert!(
            service_port.clone().any(|p| p == scrape_port),
            "{owner}: prometheus.io/port {scrape_port} is none of its ports"
        );
        for (container_owner, _, container, subcommand) in &workloads {
            let help = catalog_sync_help(subcommand);
            if !help.contains("[env: METRICS_LISTEN=") {
                continue;
            }
            let env = container_env(&resources, container);
            let listen = env.get("METRICS_LISTEN").cloned();
            let listen = listen.unwrap_or_else(|| default_of(&help, "METRICS_LISTEN"));
            let serves = list(&container["ports"])
                .iter()
                .map(|p| text(&p["containerPort"]));
            let serves = serves.collect::<Vec<_>>();
            let metrics = listen_port(&listen).to_string();
            assert!(
                serves.contains(&metrics),
                "{container_owner}: METRICS_LISTEN {listen} is no containerPort ({serves:?})"
            );
        }
    }
    assert!(scraped > 0, "{K8S}: no Service is annotated for Prometheus");
}

// ---- the operations endpoint -------------------------------------------------------------------

/// The `ENV NAME=value` settings of the default image (the Dockerfile's final stage).
fn image_env() -> Env {
    let stage = dockerfile().pop().expect("a final stage");
    let args = stage.iter().filter_map(|line| line.strip_prefix("ENV "));
    let pairs = args.flat_map(str::split_whitespace);
    let pairs = pairs.filter_map(|pair| pair.split_once('='));
    pairs.map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

#[test]
fn containers_serve_the_operations_endpoint_on_every_interface_and_say_so() {
    // Outside a container METRICS_LISTEN is loopback (its /status answers anyone); inside one,
    // probes and Prometheus come from outside, so every place that runs one sets it itself.
    let every_interface = |owner: &str, listen: Option<&String>| {
        let listen = listen.unwrap_or_else(|| panic!("{owner}: set METRICS_LISTEN=0.0.0.0:9464"));
        let addr: std::net::SocketAddr = listen.parse().unwrap_or_else(|e| panic!("{listen}: {e}"));
        assert!(
            addr.ip().is_unspecified(),
            "{owner}: METRICS_LISTEN {listen} cannot be reached from outside the container"
        );
    };
    every_interface("deploy/Dockerfile", image_env().get("METRICS_LISTEN"));
    let serves = |subcommand: &str| catalog_sync_help(subcommand).contains("[env: METRICS_LISTEN=");
    let mut checked = 0;
    for (name, service) in compose() {
        let command = runs(&name, &service).unwrap_or_default();
        let Some(subcommand) = command.strip_prefix("catalog-sync ") else {
            continue;
        };
        if serves(subcommand) {
            checked += 1;
            let env = vars(&service["environment"]);
            every_interface(
                &format!("compose service {name}"),
                env.get("METRICS_LISTEN"),
            );
        }
    }
    let resources = k8s_resources();
    for (owner, _, container, subcommand) in containers(&resources) {
        if serves(&subcommand) {
            checked += 1;
            let env = container_env(&resources, container);
            every_interface(&owner, env.get("METRICS_LISTEN"));
        }
    }
    assert!(
        checked >= 4,
        "the worker and the scheduler in compose and in {K8S}"
    );
}

#[test]
fn the_ingress_takes_webhooks_on_every_interface_through_a_service_of_ready_pods() {
    let every_interface = |owner: &str, env: &Env| {
        let listen = env.get("INGRESS_LISTEN");
        let listen = listen.unwrap_or_else(|| panic!("{owner}: set INGRESS_LISTEN=0.0.0.0:8088"));
        let addr: std::net::SocketAddr = listen.parse().unwrap_or_else(|e| panic!("{listen}: {e}"));
        assert!(
            addr.ip().is_unspecified(),
            "{owner}: INGRESS_LISTEN {listen} cannot be reached from outside the container"
        );
        addr.port()
    };
    let services = compose();
    let ingress = &services["ingress"];
    assert_eq!(
        runs("ingress", ingress).as_deref(),
        Some("catalog-sync ingress")
    );
    let port = every_interface("compose service ingress", &vars(&ingress["environment"]));
    let published = published("compose service ingress", ingress);
    assert!(
        published.iter().any(|(_, _, container)| *container == port),
        "compose service ingress: INGRESS_LISTEN port {port} is not published ({published:?})"
    );

    let resources = k8s_resources();
    let mut served = 0;
    for (owner, _, container, subcommand) in containers(&resources) {
        if subcommand != "ingress" {
            continue;
        }
        let port = every_interface(&owner, &container_env(&resources, container)).to_string();
        let named = list(&container["ports"])
            .iter()
            .find(|p| text(&p["containerPort"]) == port)
            .map(|p| text(&p["name"]))
            .unwrap_or_else(|| panic!("{owner}: INGRESS_LISTEN port {port} is no containerPort"));
        // A Service sends webhooks to that port, of ready pods only: one that lost NATS answers
        // 503, and a shop's retry should reach another.
        let service = resources.iter().find(|r| {
            r["kind"] == "Service"
                && list(&r["spec"]["ports"])
                    .iter()
                    .any(|p| [&named, &port].contains(&&text(&p["targetPort"])))
        });
        let service = service.unwrap_or_else(|| panic!("{owner}: no Service targets port {port}"));
        let not_ready = service["spec"]["publishNotReadyAddresses"].as_bool() == Some(true);
        assert!(
            !not_ready,
            "{owner}: the webhook Service must route to ready pods only"
        );
        served += 1;
    }
    assert!(served > 0, "{K8S}: no workload runs the ingress");
}

// ---- NATS --------------------------------------------------------------------------------------

/// The NATS server configurations of the repository: nats/ (the single server, the cluster) and
/// deploy/ (none today; one added there must agree too).
fn nats_configs() -> Vec<String> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "conf") {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(&Path::new(ROOT).join("nats"), &mut found);
    walk(&Path::new(ROOT).join("deploy"), &mut found);
    let relative = |p: &PathBuf| p.strip_prefix(ROOT).unwrap().to_string_lossy().into_owned();
    let mut configs: Vec<String> = found.iter().map(relative).collect();
    configs.sort();
    configs
}

#[test]
fn nats_configurations_set_the_same_max_payload() {
    // The worker takes the largest message it handles from the server it is connected to: the
    // servers of a cluster, and the compose and local ones, must agree on it, explicitly.
    let mut limits = BTreeMap::new();
    for config in nats_configs() {
        let file = read(&config);
        let setting = file.lines().map(str::trim).find_map(|line| {
            let value = line.strip_prefix("max_payload")?;
            Some(value.trim_start_matches([' ', ':', '=']).trim().to_owned())
        });
        let setting = setting.unwrap_or_else(|| panic!("{config}: no max_payload"));
        limits.insert(config, setting);
    }
    assert!(limits.contains_key("nats/nats-server.conf"), "{limits:?}");
    let distinct: BTreeSet<_> = limits.values().collect();
    assert_eq!(distinct.len(), 1, "max_payload differs: {limits:?}");
}

// ---- monitoring --------------------------------------------------------------------------------

const MONITORING: &str = "deploy/monitoring";

/// The metric families of src/metrics.rs with their types. A family shows up in the exposition
/// only once it has a sample (prometheus-client leaves empty ones out), so the list is kept here
/// and checked against the registrations in src/metrics.rs and against what the registry shows.
const METRICS: &[(&str, &str)] = &[
    ("catalog_sync_products", "counter"),
    ("catalog_sync_runs", "counter"),
    ("catalog_sync_run_duration_seconds", "histogram"),
    ("catalog_sync_upstream_requests", "counter"),
    ("catalog_sync_upstream_retries", "counter"),
    ("catalog_sync_batch_write_seconds", "histogram"),
    ("catalog_sync_dead_letters", "counter"),
    ("catalog_sync_consumer_pending", "gauge"),
    ("catalog_sync_consumer_ack_pending", "gauge"),
    ("catalog_sync_last_success_timestamp_seconds", "gauge"),
    ("catalog_sync_dead_letters_waiting", "gauge"),
    ("catalog_sync_database_writable", "gauge"),
    ("catalog_sync_medusa_requests", "counter"),
    ("catalog_sync_medusa_pushes", "counter"),
    ("catalog_sync_medusa_owed", "gauge"),
    ("catalog_sync_webhooks", "counter"),
];

/// The families src/metrics.rs registers: the first string of each `register` call, after the
/// registry's prefix.
fn registered_in_source() -> BTreeSet<String> {
    let source = read("src/metrics.rs");
    let literal = |text: &str| text.split('"').nth(1).map(str::to_owned);
    let prefix = source.split("with_prefix(").nth(1).and_then(literal);
    let prefix = prefix.expect("src/metrics.rs: Registry::with_prefix(\"...\")");
    let calls = source.split(".register(").skip(1);
    let names = calls.map(|call| literal(call).expect("register(\"name\", ...)"));
    names.map(|name| format!("{prefix}_{name}")).collect()
}

/// The sample names /metrics serves: each family of [`METRICS`] with its type's suffixes.
fn served_metrics() -> BTreeSet<String> {
    let families: BTreeSet<String> = METRICS.iter().map(|(name, _)| name.to_string()).collect();
    assert_eq!(
        families,
        registered_in_source(),
        "METRICS in tests/it/deploy.rs and the registrations in src/metrics.rs differ"
    );
    // The families the registry shows (those with samples so far) have the types listed.
    let exposition = catalog_sync::metrics::metrics().encode();
    for line in exposition.lines() {
        let Some(family) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let (name, kind) = family.split_once(' ').expect("# TYPE <name> <type>");
        let listed = METRICS.iter().find(|(n, _)| *n == name);
        assert_eq!(listed.map(|(_, t)| *t), Some(kind), "/metrics: {line}");
    }
    let mut names = BTreeSet::new();
    for (name, kind) in METRICS {
        let suffixes: &[&str] = match *kind {
            "counter" => &["_total"],
            "gauge" => &[""],
            "histogram" => &["_bucket", "_sum", "_count"],
            other => panic!("{name}: metric type {other}"),
        };
        names.extend(suffixes.iter().map(|suffix| format!("{name}{suffix}")));
    }
    names
}

/// The metric names a PromQL expression selects. Every identifier counts but function and
/// aggregation names, keywords, numbers and durations, and what is quoted or inside `{}`, `[]`
/// or the label list of `by`, `without`, `on`, `ignoring`, `group_left` and `group_right`.
fn selected_metrics(expr: &str) -> BTreeSet<String> {
    const KEYWORDS: &str = "and or unless bool offset atan2 inf nan by without on ignoring
        group_left group_right sum min max avg group stddev stdvar count count_values bottomk
        topk quantile limitk limit_ratio";
    const LABEL_LISTS: &str = "by without on ignoring group_left group_right";
    let chars: Vec<char> = expr.chars().collect();
    // The index after the one closing what opens at `i` (a quote, `{`, `[` or `(`).
    let skip = |i: usize| {
        let (close, quoted) = match chars[i] {
            '{' => ('}', false),
            '[' => (']', false),
            '(' => (')', false),
            quote => (quote, true),
        };
        let mut j = i + 1;
        while j < chars.len() && chars[j] != close {
            j += match chars[j] {
                '\\' => 2,
                // A string inside braces may hold the closing brace.
                '"' | '\'' if !quoted => {
                    let quote = chars[j];
                    let end = chars[j + 1..].iter().position(|&c| c == quote);
                    end.map_or(chars.len(), |end| end + 2)
                }
                _ => 1,
            };
        }
        j + 1
    };
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, '"' | '\'' | '`' | '{' | '[') {
            i = skip(i);
        } else if c.is_ascii_digit() || c == '.' || c == '$' {
            // Numbers and durations (`0.95`, `3600`, `1h`), Grafana's `$__rate_interval`.
            i += chars[i..]
                .iter()
                .take_while(|&&c| is_word(c) || c == '.' || c == '$')
                .count();
        } else if is_word(c) {
            let len = chars[i..].iter().take_while(|&&c| is_word(c)).count();
            let word: String = chars[i..i + len].iter().collect();
            i += len;
            let next = chars[i..]
                .iter()
                .position(|c| !c.is_whitespace())
                .map(|n| i + n);
            let call = next.is_some_and(|n| chars[n] == '(');
            let keyword = KEYWORDS
                .split_whitespace()
                .any(|k| k == word.to_lowercase());
            if LABEL_LISTS
                .split_whitespace()
                .any(|k| k == word.to_lowercase())
                && call
            {
                i = skip(next.unwrap());
            } else if !keyword && !call {
                names.insert(word);
            }
        } else {
            i += 1;
        }
    }
    names
}

#[test]
fn promql_metric_names_are_told_apart_from_functions_labels_and_keywords() {
    let expr = r#"histogram_quantile(0.95, sum by (le, mode) (rate(a_bucket{mode=~"x|y}"}[5m])))
        / on(pod) group_left (mode) max without(pod) (b offset 1h) > 26 * 3600 or vector(0)
        unless increase(c_total[$__rate_interval]) and time() - d"#;
    let found: Vec<_> = selected_metrics(expr).into_iter().collect();
    assert_eq!(found, ["a_bucket", "b", "c_total", "d"]);
}

/// The alerting and recording rules of alerts.yaml.
fn alert_rules() -> Vec<Value> {
    let file = yaml(&format!("{MONITORING}/alerts.yaml")).remove(0);
    let groups = list(&file["groups"]).iter();
    let rules: Vec<Value> = groups.flat_map(|g| list(&g["rules"]).to_vec()).collect();
    assert!(!rules.is_empty(), "{MONITORING}/alerts.yaml: no rules");
    rules
}

/// The dashboard's panels, those inside collapsed rows included.
fn dashboard_panels(dashboard: &serde_json::Value) -> Vec<&serde_json::Value> {
    let top = dashboard["panels"].as_array().expect("panels");
    let nested = top
        .iter()
        .flat_map(|p| p["panels"].as_array().into_iter().flatten());
    top.iter().chain(nested).collect()
}

fn dashboard() -> serde_json::Value {
    let path = format!("{MONITORING}/grafana-dashboard.json");
    serde_json::from_str(&read(&path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn alerts_and_dashboard_query_only_metrics_the_binary_serves() {
    let served = served_metrics();

    let rules = alert_rules().into_iter().map(|rule| {
        let name = text(&rule["alert"]) + &text(&rule["record"]);
        (format!("alerts.yaml rule {name}"), text(&rule["expr"]))
    });
    let dashboard = dashboard();
    let panels = dashboard_panels(&dashboard).into_iter();
    let targets = panels.flat_map(|panel| {
        let title = panel["title"].as_str().unwrap_or_default().to_owned();
        let targets = panel["targets"].as_array().cloned().unwrap_or_default();
        targets.into_iter().map(move |target| {
            let owner = format!("grafana-dashboard.json panel {title:?}");
            (
                owner,
                target["expr"].as_str().unwrap_or_default().to_owned(),
            )
        })
    });
    let queries: Vec<(String, String)> = rules.chain(targets).collect();
    assert!(queries.len() > 10, "{queries:?}");

    let mut used = BTreeSet::new();
    for (owner, expr) in &queries {
        let metrics = selected_metrics(expr);
        assert!(!metrics.is_empty(), "{owner}: no metric in {expr:?}");
        let unknown: Vec<_> = metrics.iter().filter(|m| !served.contains(*m)).collect();
        assert!(
            unknown.is_empty(),
            "{owner} uses {unknown:?}, which /metrics does not serve: {served:?}"
        );
        used.extend(metrics);
    }
    // And the dashboard or an alert shows every family the binary serves.
    for (family, _) in METRICS {
        let shown = used.iter().any(|name| name.starts_with(family));
        assert!(shown, "{family}: in no alert or dashboard query");
    }
}

#[test]
fn every_alert_says_what_happened_and_links_the_runbook_and_is_unit_tested() {
    let tests = yaml(&format!("{MONITORING}/alerts.test.yaml")).remove(0);
    // The alerts some test expects to fire.
    let cases = list(&tests["tests"]).iter();
    let cases = cases.flat_map(|test| list(&test["alert_rule_test"]));
    let fired = cases.filter(|case| !list(&case["exp_alerts"]).is_empty());
    let tested: BTreeSet<String> = fired.map(|case| text(&case["alertname"])).collect();

    let alerts = alert_rules()
        .into_iter()
        .filter(|rule| !rule["alert"].is_null());
    for alert in alerts {
        let name = text(&alert["alert"]);
        let annotations = &alert["annotations"];
        for key in ["summary", "description"] {
            let set = !text(&annotations[key]).trim().is_empty();
            assert!(set, "alert {name}: no {key} annotation");
        }
        // The README's runbook section; the anchor is that of its heading.
        let runbook = text(&annotations["runbook"]);
        assert_eq!(
            runbook, "README.md#runbook",
            "alert {name}: runbook annotation"
        );
        let severity = text(&alert["labels"]["severity"]);
        let severities = ["warning", "critical"];
        assert!(
            severities.contains(&severity.as_str()),
            "alert {name}: severity {severity:?}"
        );
        assert!(
            tested.contains(&name),
            "alert {name}: alerts.test.yaml never fires it"
        );
    }
}

#[test]
fn grafana_dashboard_imports_with_a_prometheus_datasource_input() {
    let dashboard = dashboard();
    // Grafana's import asks for each input: here the Prometheus data source, ${DS_PROMETHEUS}.
    let inputs = dashboard["__inputs"].as_array().expect("__inputs");
    let prometheus = inputs
        .iter()
        .find(|input| input["name"] == "DS_PROMETHEUS")
        .expect("an input DS_PROMETHEUS");
    assert_eq!(prometheus["type"], "datasource");
    assert_eq!(prometheus["pluginId"], "prometheus");
    assert!(
        dashboard["id"].is_null(),
        "an exported dashboard has id null"
    );
    let uid = dashboard["uid"].as_str().unwrap_or_default();
    assert!(
        !uid.is_empty(),
        "a fixed uid, so a re-import replaces the dashboard"
    );

    // Every panel and query reads that data source; no data source uid of one Grafana remains.
    let source = serde_json::json!({ "type": "prometheus", "uid": "${DS_PROMETHEUS}" });
    let mut ids = BTreeSet::new();
    for panel in dashboard_panels(&dashboard) {
        let title = panel["title"].as_str().unwrap_or_default();
        let id = panel["id"].as_u64().expect("a panel id");
        assert!(ids.insert(id), "panel {title:?}: id {id} taken twice");
        if panel["type"] == "row" {
            continue;
        }
        assert_eq!(panel["datasource"], source, "panel {title:?}: datasource");
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "panel {title:?}: no query");
        for target in targets {
            assert_eq!(
                target["datasource"], source,
                "panel {title:?}: query datasource"
            );
        }
    }
}
