//! Berth against the native baseline (`tests/native-baseline`: the same `text` tools served by
//! a plain rmcp server, compiled natively), side by side in the same run.
//!
//! Every client calls `text_count` with one short sentence back to back, for a fixed time
//! after a warm-up, and checks each answer's count. Over stdio each client has its own
//! server process, as a stdio MCP client does (1 and 4 clients); over Streamable HTTP N
//! sessions, each with its own keep-alive connection, share one server process (1, 16 and
//! 64). Berth runs three ways: as configured by default (an instance reused within its
//! session, `instance_reuse = "session"`), with a fresh instance per call
//! (`instance_reuse = "call"`), and with instances shared by every client (the operator's
//! `warm_instances` opt-in for the `text` plugin). Each scenario runs berth, berth-call,
//! berth-shared, native, berth, … so that drift in the machine's load hits all alike. Prints
//! calls per second, p50, p99 and the server's CPU time per call for each server (pooled
//! over the rounds) and the ratios of each Berth to native, next to issue 7's targets;
//! nothing is asserted. CPU per call is the figure to trust on a busy machine: throughput
//! moves with what else runs, the server's own work per call much less.
//! Run with `cargo bench -p berth-host --bench versus`; arguments after `--` pick scenarios
//! and servers by name (e.g. `-- http/16 berth-warm native`), for profiling one of them.
//!
//! The `outside/N` scenarios repeat an outside measurement that disagreed with `stdio/1`
//! (issue 26, item 4): a plain sequential client in a process of its own
//! (`outside_client.py`, standard-library Python, which starts the server itself), the
//! example plugins served, Berth's default log level, a fixed number of calls, and N
//! processes spinning on the cores beside it, as on a busy machine.
//!
//! The native servers are this very executable, started again with `BERTH_NATIVE_BASELINE`
//! set (`stdio` or `http`): a bench can run only its own package's binaries, and a child
//! process keeps the comparison fair (each server in its own process, clients in this one).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

/// The environment variable that turns this executable into a native server.
const BASELINE_ENV: &str = "BERTH_NATIVE_BASELINE";
/// The environment variable that turns this executable into a process that only spins,
/// to make the machine busy.
const SPIN_ENV: &str = "BERTH_BENCH_SPIN";
/// Calls of each `outside/*` run after its warm-up calls, as the outside measurement made.
const OUTSIDE_CALLS: usize = 3000;
const OUTSIDE_WARMUP_CALLS: usize = 300;
const WARMUP: Duration = Duration::from_millis(500);
const MEASURE: Duration = Duration::from_secs(3);
const ROUNDS: usize = 3;
const TOOL: &str = "text_count";
/// The argument of every call: one sentence of 44 bytes and 9 words.
const SENTENCE: &str = "The quick brown fox jumps over the lazy dog.";
/// What every answer must contain (in its structured content and its text).
const EXPECTED: &str = r#""words":9"#;
/// The targets printed next to the measured ratios: stdio p50 from issue 7, HTTP with 16
/// clients raised from issue 7's 0.7x to 0.85x by issue 26.
const STDIO_P50_TARGET: f64 = 1.3;
const HTTP_16_THROUGHPUT_TARGET: f64 = 0.85;
/// Berth's settings for the bench: over HTTP, loopback without authentication, no rate
/// limit, no 503s from the request cap, and a call queue deep enough that 64 clients never
/// see "busy" (the queue's length costs nothing).
const BERTH_CONFIG: &str = r#"[http]
max_concurrent_requests = 1024
[http.auth]
enabled = false
[http.rate_limit]
requests_per_minute = 0
[runtime]
max_queued_calls = 1024
"#;
/// What `berth-call` adds (to the `[runtime]` table `BERTH_CONFIG` ends with): a fresh
/// instance for every call.
const CALL_CONFIG: &str = "instance_reuse = \"call\"\n";
/// What `berth-shared` adds: the `text` plugin (which keeps no state) shares its
/// instances between clients.
const SHARED_CONFIG: &str = "[plugins.text]\nwarm_instances = 8\n";

/// Which server a run measures.
#[derive(Clone, Copy, PartialEq)]
enum Server {
    /// As configured by default: instances reused within a session.
    Berth,
    /// A fresh instance for every call (`instance_reuse = "call"`).
    BerthCall,
    /// The operator's opt-in: `warm_instances` for the `text` plugin, shared by all.
    BerthShared,
    Native,
}

impl Server {
    /// Every server, in the order each round runs them.
    const ALL: [Server; 4] = [
        Server::Berth,
        Server::BerthCall,
        Server::BerthShared,
        Server::Native,
    ];

    fn name(self) -> &'static str {
        match self {
            Server::Berth => "berth",
            Server::BerthCall => "berth-call",
            Server::BerthShared => "berth-shared",
            Server::Native => "native",
        }
    }
}

/// One transport and client count.
#[derive(Clone, Copy)]
enum Scenario {
    Stdio(usize),
    Http(usize),
    /// One outside client (see the module documentation) beside this many spinning
    /// processes.
    Outside(usize),
}

/// What one run measured: the latencies of the calls that started inside the measured
/// window, and the CPU time the server processes used in that window.
struct Run {
    samples: Vec<Duration>,
    cpu: Duration,
    /// How long the measured calls took, for calls per second.
    window: Duration,
    /// How often the server's threads parked during the measured calls, and its minor
    /// page faults, where known.
    parks: Option<Parks>,
}

/// A server's thread parks (voluntary context switches) and minor page faults.
#[derive(Default, Clone, Copy)]
struct Parks {
    switches: u64,
    faults: u64,
}

/// What one or more runs of one server measured.
#[derive(Default)]
struct Tally {
    /// Latencies of the calls that started inside the measured windows.
    samples: Vec<Duration>,
    /// Calls per second of each run.
    per_round: Vec<f64>,
    /// Server CPU time (user + system) inside the measured windows.
    cpu: Duration,
    /// The measured windows' total length.
    window: Duration,
    /// The servers' threads' voluntary context switches and minor page faults, where
    /// measured.
    parks: Option<Parks>,
}

impl Tally {
    fn add(&mut self, run: Run) {
        self.per_round
            .push(run.samples.len() as f64 / run.window.as_secs_f64());
        self.samples.extend(run.samples);
        self.cpu += run.cpu;
        self.window += run.window;
        if let Some(run) = run.parks {
            let total = self.parks.get_or_insert_default();
            total.switches += run.switches;
            total.faults += run.faults;
        }
    }

    /// Server CPU time per call. Clients and servers share the machine's cores, so
    /// throughput swings with whatever else the machine runs; the CPU a server spends on
    /// a call is the steadier figure of what it costs.
    fn cpu_per_call(&self) -> Duration {
        self.cpu / self.samples.len().max(1) as u32
    }

    fn throughput(&self) -> f64 {
        self.samples.len() as f64 / self.window.as_secs_f64()
    }

    fn percentile(&mut self, p: f64) -> Duration {
        self.samples.sort_unstable();
        let index = ((self.samples.len() as f64 * p) as usize).min(self.samples.len() - 1);
        self.samples[index]
    }
}

/// Temporary files shared by every run.
struct Setup {
    _dir: tempfile::TempDir,
    /// The `text` plugin alone.
    plugins: PathBuf,
    /// The example plugins that need no grants (the `outside/*` scenarios).
    examples: PathBuf,
    cache: PathBuf,
    config: PathBuf,
    call_config: PathBuf,
    shared_config: PathBuf,
}

fn main() {
    if let Ok(mode) = std::env::var(BASELINE_ENV) {
        native_server(&mode);
        return;
    }
    if std::env::var_os(SPIN_ENV).is_some() {
        let mut counter = 0u64;
        loop {
            counter = std::hint::black_box(counter.wrapping_add(1));
        }
    }
    let wanted = Wanted::from_args();
    let setup = setup();
    fill_cache(&setup);
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");

    println!(
        "tools/call {TOOL} {{\"text\": {SENTENCE:?}}}: Berth (text plugin in its sandbox) against \
         the native baseline (the same functions in a plain rmcp server)"
    );
    println!(
        "each scenario: berth (session reuse), berth-call (fresh per call), berth-shared \
         (warm_instances), native × {ROUNDS} rounds, alternating; \
         {} ms warm-up + {} s measured per round; calls/s and percentiles pooled over the rounds",
        WARMUP.as_millis(),
        MEASURE.as_secs()
    );
    println!(
        "{:<10} {:>7}  {:<12} {:>9} {:>10} {:>10} {:>9}  {:<17}",
        "transport", "clients", "server", "calls/s", "p50", "p99", "CPU/call", "calls/s per round"
    );
    for scenario in [
        Scenario::Stdio(1),
        Scenario::Stdio(4),
        Scenario::Http(1),
        Scenario::Http(16),
        Scenario::Http(64),
        Scenario::Outside(0),
        Scenario::Outside(1),
        Scenario::Outside(2),
    ] {
        if !wanted.scenario(scenario) {
            continue;
        }
        let mut tallies: [Tally; 4] = Default::default();
        for _ in 0..ROUNDS {
            for (server, tally) in Server::ALL.into_iter().zip(&mut tallies) {
                if !wanted.server(server) {
                    continue;
                }
                let run = match scenario {
                    Scenario::Stdio(clients) => stdio_run(server, clients, &setup),
                    Scenario::Http(clients) => runtime.block_on(http_run(server, clients, &setup)),
                    Scenario::Outside(spinners) => outside_run(server, spinners, &setup),
                };
                tally.add(run);
            }
        }
        report(scenario, &mut tallies);
    }
}

/// The scenarios and servers named on the command line; none named means all.
struct Wanted {
    names: Vec<String>,
}

impl Wanted {
    /// The names among the arguments (cargo's and libtest's flags, like `--bench`, are not
    /// names).
    fn from_args() -> Wanted {
        let names = std::env::args()
            .skip(1)
            .filter(|arg| !arg.starts_with('-'))
            .collect();
        Wanted { names }
    }

    /// Whether `scenario` (named like `stdio/1` or `http/16`) runs.
    fn scenario(&self, scenario: Scenario) -> bool {
        let name = match scenario {
            Scenario::Stdio(n) => format!("stdio/{n}"),
            Scenario::Http(n) => format!("http/{n}"),
            Scenario::Outside(n) => format!("outside/{n}"),
        };
        self.allows(&name, |n| n.contains('/'))
    }

    /// Whether `server` runs.
    fn server(&self, server: Server) -> bool {
        self.allows(server.name(), |n| !n.contains('/'))
    }

    /// Whether `name` is named, or no name of its kind is.
    fn allows(&self, name: &str, of_kind: impl Fn(&str) -> bool) -> bool {
        let mut named = self.names.iter().filter(|n| of_kind(n)).peekable();
        named.peek().is_none() || named.any(|n| n == name)
    }
}

/// Prints one scenario's rows (one per server, in [`Server::ALL`] order) and the ratios
/// of each Berth to native.
fn report(scenario: Scenario, tallies: &mut [Tally; 4]) {
    let (transport, clients) = match scenario {
        Scenario::Stdio(n) => ("stdio".to_string(), n),
        Scenario::Http(n) => ("http".to_string(), n),
        Scenario::Outside(n) => (format!("out+{n}spin"), 1),
    };
    for (server, tally) in Server::ALL.into_iter().zip(tallies.iter_mut()) {
        if tally.samples.is_empty() {
            continue;
        }
        let rounds: Vec<String> = tally.per_round.iter().map(|r| format!("{r:.0}")).collect();
        let parked = match tally.parks {
            Some(Parks { switches, faults }) => {
                let calls = tally.samples.len() as f64;
                format!(
                    "  ({:.1} thread parks, {:.1} page faults per call)",
                    switches as f64 / calls,
                    faults as f64 / calls
                )
            }
            None => String::new(),
        };
        println!(
            "{transport:<10} {clients:>7}  {:<12} {:>9.0} {:>10.2?} {:>10.2?} {:>9.1?}  {}{parked}",
            server.name(),
            tally.throughput(),
            tally.percentile(0.50),
            tally.percentile(0.99),
            tally.cpu_per_call(),
            rounds.join(" / ")
        );
    }
    let target = match scenario {
        Scenario::Stdio(_) | Scenario::Outside(_) => format!(" (target ≤{STDIO_P50_TARGET}x p50)"),
        Scenario::Http(16) => format!(" (target ≥{HTTP_16_THROUGHPUT_TARGET}x calls/s)"),
        Scenario::Http(_) => String::new(),
    };
    let [berths @ .., native] = tallies;
    if native.samples.is_empty() {
        return;
    }
    let native_p50 = native.percentile(0.50).as_secs_f64();
    for (server, tally) in Server::ALL.into_iter().zip(berths.iter_mut()) {
        if tally.samples.is_empty() {
            continue;
        }
        let p50 = tally.percentile(0.50).as_secs_f64() / native_p50;
        let throughput = tally.throughput() / native.throughput();
        let cpu = tally.cpu_per_call().as_secs_f64() / native.cpu_per_call().as_secs_f64();
        println!(
            "{:<10} {:>7}  {}/native: p50 {p50:.2}x, calls/s {throughput:.2}x, CPU/call {cpu:.2}x{target}",
            "",
            "",
            server.name()
        );
    }
}

/// The plugins folder (the `text` plugin only), the compilation cache and the HTTP config.
fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let plugins = dir.path().join("plugins");
    let cache = dir.path().join("cache");
    std::fs::create_dir(&plugins).expect("plugins dir");
    std::fs::create_dir(&cache).expect("cache dir");
    berth_test_artifacts::copy_component("berth-plugin-text", &plugins);
    let examples = dir.path().join("examples");
    std::fs::create_dir(&examples).expect("examples dir");
    for package in berth_test_artifacts::EXAMPLES_WITHOUT_GRANTS {
        berth_test_artifacts::copy_component(package, &examples);
    }
    let config = dir.path().join("berth.toml");
    std::fs::write(&config, BERTH_CONFIG).expect("config");
    let call_config = dir.path().join("berth-call.toml");
    std::fs::write(&call_config, format!("{BERTH_CONFIG}{CALL_CONFIG}")).expect("config");
    let shared_config = dir.path().join("berth-shared.toml");
    std::fs::write(&shared_config, format!("{BERTH_CONFIG}{SHARED_CONFIG}")).expect("config");
    Setup {
        plugins,
        examples,
        cache,
        config,
        call_config,
        shared_config,
        _dir: dir,
    }
}

/// `berth serve` with `plugins`, the bench's config (its own for `berth-call` and
/// `berth-shared`) and warm
/// cache, no admin socket, and none of the developer's own `BERTH_*` settings.
fn berth(setup: &Setup, server: Server, plugins: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_berth"));
    for (var, _) in std::env::vars_os() {
        if var.to_string_lossy().starts_with("BERTH_") {
            command.env_remove(var);
        }
    }
    command
        .args(["serve", "--admin-socket", "off", "--plugins"])
        .arg(plugins)
        .arg("--compile-cache")
        .arg(&setup.cache)
        .arg("--config")
        .arg(match server {
            Server::BerthCall => &setup.call_config,
            Server::BerthShared => &setup.shared_config,
            _ => &setup.config,
        })
        .env("BERTH_LOG", "warn");
    command
}

/// One throwaway start that compiles every plugin with Cranelift into the cache, so every
/// run after it starts warm on optimised code. A tiered start would serve on Winch's code
/// and leave Cranelift's to a background thread that competes with the calls measured, and
/// a run killed before that thread is done leaves the cache without it (issue 26: it cost
/// the HTTP@16 figures about 40 µs of CPU per call).
fn fill_cache(setup: &Setup) {
    let mut command = berth(setup, Server::Berth, &setup.plugins);
    command.env("BERTH_RUNTIME__COMPILER", "cranelift");
    let mut first = StdioClient::spawn(command);
    first.call(0);
}

/// This executable as a native server (`mode` is `stdio` or `http`).
fn native(mode: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("own path"));
    command.env(BASELINE_ENV, mode);
    command
}

/// The child side: serve natively until the parent closes stdin or kills the process.
fn native_server(mode: &str) {
    // The runtime `#[tokio::main]` builds, as the baseline's own binary and Berth use.
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let served = runtime.block_on(async {
        match mode {
            "stdio" => berth_native_baseline::serve_stdio().await,
            "http" => {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind 127.0.0.1:0");
                eprintln!("listening addr={}", listener.local_addr().expect("address"));
                berth_native_baseline::serve_http(listener).await
            }
            other => panic!("{BASELINE_ENV} must be `stdio` or `http`, not `{other}`"),
        }
    });
    if let Err(error) = served {
        eprintln!("native baseline: {error}");
        std::process::exit(1);
    }
}

/// The `initialize` request every client sends first.
fn initialize() -> serde_json::Value {
    json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": { "name": "bench", "version": "1" } } })
}

/// The `tools/call` request with `id`.
fn call(id: u64) -> String {
    json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": { "name": TOOL, "arguments": { "text": SENTENCE } } })
    .to_string()
}

/// A stdio client with its own server process: raw JSON-RPC lines over the pipes.
struct StdioClient {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    line: String,
}

impl StdioClient {
    /// Starts `server` over stdio and completes the handshake.
    fn start(server: Server, setup: &Setup) -> StdioClient {
        StdioClient::spawn(match server {
            Server::Berth | Server::BerthCall | Server::BerthShared => {
                berth(setup, server, &setup.plugins)
            }
            Server::Native => native("stdio"),
        })
    }

    /// Starts `command` as a stdio server and initializes a session with it.
    fn spawn(mut command: Command) -> StdioClient {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("server starts");
        let mut client = StdioClient {
            stdin: child.stdin.take().expect("stdin"),
            stdout: BufReader::new(child.stdout.take().expect("stdout")),
            child,
            line: String::new(),
        };
        client.send(&initialize().to_string());
        assert!(client.line.contains("\"result\""), "{}", client.line);
        // The notification has no answer: written without waiting.
        let initialized = json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
        writeln!(client.stdin, "{initialized}").expect("write");
        client
    }

    /// Writes one line and reads the answer into `self.line`.
    fn send(&mut self, request: &str) {
        writeln!(self.stdin, "{request}").expect("write");
        self.stdin.flush().expect("flush");
        self.line.clear();
        self.stdout.read_line(&mut self.line).expect("read");
    }

    /// One checked `tools/call` round trip; returns its latency.
    fn call(&mut self, id: u64) -> Duration {
        let request = call(id);
        let started = Instant::now();
        self.send(&request);
        let elapsed = started.elapsed();
        assert!(
            self.line.contains(EXPECTED),
            "unexpected answer: {}",
            self.line
        );
        elapsed
    }
}

impl Drop for StdioClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `clients` stdio clients, each with its own server, calling until the window ends;
/// returns the latencies measured and the servers' CPU time.
fn stdio_run(server: Server, clients: usize, setup: &Setup) -> Run {
    // All servers are up and initialized before the clock starts.
    let mut started: Vec<StdioClient> = (0..clients)
        .map(|_| StdioClient::start(server, setup))
        .collect();
    let measure_from = Instant::now() + WARMUP;
    let until = measure_from + MEASURE;
    let threads: Vec<_> = started
        .drain(..)
        .map(|mut client| {
            std::thread::spawn(move || {
                let mut samples = Vec::new();
                let mut cpu_from = None;
                for id in 1.. {
                    let start = Instant::now();
                    if start >= until {
                        break;
                    }
                    if start >= measure_from && cpu_from.is_none() {
                        cpu_from = Some(cpu_time(client.child.id()));
                    }
                    let elapsed = client.call(id);
                    if start >= measure_from {
                        samples.push(elapsed);
                    }
                }
                let cpu = cpu_time(client.child.id())
                    .saturating_sub(cpu_from.expect("calls in the window"));
                Run {
                    samples,
                    cpu,
                    window: MEASURE,
                    parks: None,
                }
            })
        })
        .collect();
    let mut total = Run {
        samples: Vec::new(),
        cpu: Duration::ZERO,
        window: MEASURE,
        parks: None,
    };
    for thread in threads {
        let run = thread.join().expect("client thread");
        total.samples.extend(run.samples);
        total.cpu += run.cpu;
    }
    total
}

/// The CPU time (user + system, all threads) process `pid` has used so far, from
/// `/proc/PID/stat` in clock ticks.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
    // The fields after the command name, which is in parentheses and may hold spaces;
    // utime and stime are fields 14 and 15 of the whole line.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .expect("a stat line")
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    // SAFETY: sysconf only reads a configuration value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    Duration::from_secs_f64(ticks as f64 / per_second as f64)
}

/// One `outside/*` run: `outside_client.py` starts `server` over stdio with the example
/// plugins and Berth's default log level and makes its calls, while `spinners` processes
/// keep cores busy.
fn outside_run(server: Server, spinners: usize, setup: &Setup) -> Run {
    let mut busy: Vec<Child> = (0..spinners)
        .map(|_| {
            Command::new(std::env::current_exe().expect("own path"))
                .env(SPIN_ENV, "1")
                .spawn()
                .expect("a spinner starts")
        })
        .collect();
    let command = match server {
        Server::Berth | Server::BerthCall | Server::BerthShared => {
            let mut command = berth(setup, server, &setup.examples);
            command.env_remove("BERTH_LOG");
            command
        }
        Server::Native => native("stdio"),
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/outside_client.py");
    let mut client = Command::new("python3");
    client
        .arg(script)
        .arg(OUTSIDE_WARMUP_CALLS.to_string())
        .arg(OUTSIDE_CALLS.to_string())
        .arg("--")
        .arg(command.get_program());
    client.args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => client.env(key, value),
            None => client.env_remove(key),
        };
    }
    let out = client
        .stderr(Stdio::inherit())
        .output()
        .expect("python3 runs the outside client");
    for spinner in &mut busy {
        let _ = spinner.kill();
        let _ = spinner.wait();
    }
    assert!(out.status.success(), "the outside client failed");
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("the outside client's JSON line");
    let samples: Vec<Duration> = report["latencies_ns"]
        .as_array()
        .expect("latencies")
        .iter()
        .map(|ns| Duration::from_nanos(ns.as_u64().expect("nanoseconds")))
        .collect();
    let cpu = Duration::from_nanos(report["cpu_ns"].as_u64().expect("cpu_ns"));
    let window = samples.iter().sum();
    let parks = report["switches"]
        .as_u64()
        .zip(report["faults"].as_u64())
        .map(|(switches, faults)| Parks { switches, faults });
    Run {
        samples,
        cpu,
        window,
        parks,
    }
}

/// A server process serving HTTP and the URL of its MCP endpoint.
struct HttpServer {
    child: Child,
    url: String,
}

impl HttpServer {
    fn start(server: Server, setup: &Setup) -> HttpServer {
        let mut command = match server {
            Server::Berth | Server::BerthCall | Server::BerthShared => {
                let mut command = berth(setup, server, &setup.plugins);
                command
                    .args(["--http", "127.0.0.1:0"])
                    .env("BERTH_LOG", "warn,berth::transport::http=info");
                command
            }
            Server::Native => native("http"),
        };
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("server starts");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let addr = loop {
            let line = lines
                .next()
                .expect("the server logs its address")
                .expect("stderr");
            let wanted = line.contains("serving MCP over HTTP") || line.starts_with("listening");
            if let Some(addr) = line
                .split_whitespace()
                .find_map(|part| part.strip_prefix("addr="))
                .filter(|_| wanted)
            {
                break addr.to_string();
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        HttpServer {
            child,
            url: format!("http://{addr}/mcp"),
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `clients` sessions against one new `server` process, calling until the window ends;
/// returns the latencies measured and the server's CPU time.
async fn http_run(server: Server, clients: usize, setup: &Setup) -> Run {
    let server = HttpServer::start(server, setup);
    // Every session is open before the clock starts.
    let mut sessions = Vec::with_capacity(clients);
    for _ in 0..clients {
        sessions.push(HttpClient::open(&server.url).await);
    }
    let measure_from = Instant::now() + WARMUP;
    let until = measure_from + MEASURE;
    let tasks: Vec<_> = sessions
        .into_iter()
        .map(|client| tokio::spawn(client.run(measure_from, until)))
        .collect();
    let pid = server.child.id();
    tokio::time::sleep_until(measure_from.into()).await;
    let cpu_from = cpu_time(pid);
    tokio::time::sleep_until(until.into()).await;
    let cpu = cpu_time(pid).saturating_sub(cpu_from);
    let mut samples = Vec::new();
    for task in tasks {
        samples.extend(task.await.expect("client task"));
    }
    Run {
        samples,
        cpu,
        window: MEASURE,
        parks: None,
    }
}

/// One Streamable HTTP session with its own connection.
struct HttpClient {
    http: reqwest::Client,
    url: String,
    session: String,
}

impl HttpClient {
    /// Initializes a session at `url`.
    async fn open(url: &str) -> HttpClient {
        let http = {
            berth_distribution::init_tls();
            reqwest::Client::new()
        };
        let response = http
            .post(url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .body(initialize().to_string())
            .send()
            .await
            .expect("initialize");
        assert_eq!(response.status(), 200, "initialize refused");
        let session = response.headers()["mcp-session-id"]
            .to_str()
            .expect("session id")
            .to_string();
        response.text().await.expect("initialize body");
        let client = HttpClient {
            http,
            url: url.to_string(),
            session,
        };
        let initialized = json!({ "jsonrpc": "2.0", "method": "notifications/initialized" });
        let response = client
            .post(initialized.to_string())
            .await
            .expect("initialized");
        assert_eq!(response.status(), 202, "initialized refused");
        client
    }

    fn post(&self, body: String) -> impl Future<Output = reqwest::Result<reqwest::Response>> {
        self.http
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-session-id", &self.session)
            .header("mcp-protocol-version", "2025-11-25")
            .body(body)
            .send()
    }

    /// Calls back to back until `until`; returns the latencies of the calls that started
    /// at or after `measure_from`.
    async fn run(self, measure_from: Instant, until: Instant) -> Vec<Duration> {
        let mut samples = Vec::new();
        for id in 1.. {
            let started = Instant::now();
            if started >= until {
                break;
            }
            let response = self.post(call(id)).await.expect("call");
            assert_eq!(response.status(), 200);
            let body = response.text().await.expect("call body");
            assert!(body.contains(EXPECTED), "unexpected answer: {body}");
            if started >= measure_from {
                samples.push(started.elapsed());
            }
        }
        samples
    }
}
