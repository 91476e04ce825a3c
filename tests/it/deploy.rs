//! Checks of the deployment files that only this repository can make: `deploy/Dockerfile`,
//! `deploy/docker-compose.yml` and the manifests in `deploy/k8s/` set only variables the binaries
//! read, and agree with each other and with the binaries (ports, paths, service names, time-outs).
//! No container engine or cluster is needed. What a binary reads comes from its `--help`, which
//! lists every variable as `[env: NAME=]`.
//!
//! Generic checks are left to the linters that `scripts/lint-deploy` runs: yamllint (YAML syntax,
//! duplicate keys, indentation), hadolint (Dockerfile practice: exec form, apt use, pinned base
//! images) and kubernetes-validate (every manifest against the Kubernetes API schema).

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
