//! A real `berth` process driven over stdio as an MCP client would drive it.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long any single reply may take; generous for a loaded 2-core CI machine.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(60);

/// The `berth` binary under test, with none of the developer's own `BERTH_*` settings
/// and no admin socket (tests that want one ask for it), so test servers never show up
/// in the developer's own `berth plugins list`.
pub fn berth() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
    for (var, _) in std::env::vars_os() {
        if var.to_string_lossy().starts_with("BERTH_") {
            cmd.env_remove(var);
        }
    }
    cmd.env("BERTH_ADMIN_SOCKET", "off");
    cmd
}

/// A running `berth serve` with pipes to its stdin, stdout and stderr.
pub struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    next_id: u64,
    /// Messages read but not yet asked for, oldest first.
    pending: Vec<Value>,
}

impl Server {
    /// Starts `berth serve --plugins DIR` with an optional config file.
    pub fn start(plugins: &Path, config: Option<&Path>) -> Server {
        Server::start_with_env(plugins, config, &[])
    }

    /// Starts `berth serve --plugins DIR` with an optional config file and extra
    /// environment variables.
    pub fn start_with_env(plugins: &Path, config: Option<&Path>, env: &[(&str, &str)]) -> Server {
        Server::start_with_args(plugins, config, &[], env)
    }

    /// Starts `berth serve --plugins DIR` with an optional config file, extra arguments
    /// and extra environment variables.
    pub fn start_with_args(
        plugins: &Path,
        config: Option<&Path>,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        let mut cmd = berth();
        cmd.arg("serve").arg("--plugins").arg(plugins).args(args);
        cmd.envs(env.iter().copied());
        if let Some(config) = config {
            cmd.arg("--config").arg(config);
        }
        Server::spawn(cmd)
    }

    /// Starts `cmd` (a `berth serve` command line, possibly wrapped) with piped stdio.
    pub fn spawn(mut cmd: Command) -> Server {
        let mut child = cmd
            .env("BERTH_LOG", "info")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("berth starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr_pipe = child.stderr.take().unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr_pipe).lines() {
                let Ok(line) = line else { break };
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        Server {
            stdin: child.stdin.take(),
            child,
            lines,
            stderr,
            next_id: 1,
            pending: Vec::new(),
        }
    }

    /// Starts a server and completes the `initialize` handshake at 2025-11-25.
    pub fn initialized(plugins: &Path, config: Option<&Path>) -> Server {
        let mut server = Server::start(plugins, config);
        let result = server.initialize("2025-11-25");
        assert_eq!(result["protocolVersion"], "2025-11-25", "{result}");
        server
    }

    /// Sends `initialize` at `version` and the `initialized` notification; returns the result.
    pub fn initialize(&mut self, version: &str) -> Value {
        let reply = self.request(
            "initialize",
            json!({
                "protocolVersion": version,
                "capabilities": {},
                "clientInfo": { "name": "berth-e2e", "version": "1.0.0" }
            }),
        );
        let result = reply["result"].clone();
        assert!(result.is_object(), "initialize failed: {reply}");
        self.notify("notifications/initialized", json!({}));
        result
    }

    /// Writes one raw line to the server's stdin.
    pub fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    /// Sends a notification.
    pub fn notify(&mut self, method: &str, params: Value) {
        let line = json!({ "jsonrpc": "2.0", "method": method, "params": params }).to_string();
        self.send_line(&line);
    }

    /// Sends a request and returns the whole response message (with `result` or `error`).
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let line =
            json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }).to_string();
        self.send_line(&line);
        self.response_to(json!(id))
    }

    /// The `result` of a request that must succeed.
    pub fn ok(&mut self, method: &str, params: Value) -> Value {
        let reply = self.request(method, params);
        assert!(
            reply.get("error").is_none(),
            "{method} failed: {reply}\nstderr:\n{}",
            self.stderr()
        );
        reply["result"].clone()
    }

    /// Calls a tool and returns its `CallToolResult`.
    pub fn call(&mut self, tool: &str, arguments: Value) -> Value {
        self.ok(
            "tools/call",
            json!({ "name": tool, "arguments": arguments }),
        )
    }

    /// The names from one unpaginated `tools/list`.
    pub fn tool_names(&mut self) -> Vec<String> {
        let list = self.ok("tools/list", json!({}));
        list["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    }

    /// Waits for the response to the request with `id`; other messages stay queued.
    pub fn response_to(&mut self, id: Value) -> Value {
        self.wait_for(|m| m.get("id") == Some(&id) && m.get("method").is_none())
    }

    /// Waits for the notification `method` (possibly already received), consuming it.
    pub fn wait_for_notification(&mut self, method: &str) -> Value {
        self.wait_for(|m| m.get("id").is_none() && m["method"] == method)
    }

    /// The first message, queued or new, that `wanted` accepts; messages read on the way
    /// are queued so no response or notification is lost to a wait for another.
    fn wait_for(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            if let Some(i) = self.pending.iter().position(&wanted) {
                return self.pending.remove(i);
            }
            let message = self.next_message(deadline);
            self.pending.push(message);
        }
    }

    /// Forgets notifications received so far.
    /// How many notifications `method` were read but not yet asked for.
    pub fn pending_count(&self, method: &str) -> usize {
        self.pending
            .iter()
            .filter(|m| m["method"] == method)
            .count()
    }

    pub fn clear_notifications(&mut self) {
        self.pending.retain(|m| m.get("id").is_some());
    }

    /// The next message from stdout (any kind); every line must be JSON.
    pub fn next_message(&mut self, deadline: Instant) -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(line) => serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout carried a non-JSON line ({e}): {line}")),
            Err(RecvTimeoutError::Timeout) => {
                panic!("no reply in time; stderr:\n{}", self.stderr())
            }
            Err(RecvTimeoutError::Disconnected) => {
                panic!("server closed stdout; stderr:\n{}", self.stderr())
            }
        }
    }

    /// The next message from stdout if one comes before `deadline` (or is already
    /// waiting after the server exited); `None` otherwise.
    pub fn try_next_message(&mut self, deadline: Instant) -> Option<Value> {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = self.lines.recv_timeout(left).ok()?;
        Some(
            serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout carried a non-JSON line ({e}): {line}")),
        )
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the server logged so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until the log contains `needle` at least `count` times; returns the log.
    pub fn wait_for_log_count(&self, needle: &str, count: usize) -> String {
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            let log = self.stderr();
            if log.matches(needle).count() >= count {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "log never contained `{needle}` {count} times:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the log has `nth` (from 1) lines containing `needle`; returns that line.
    pub fn wait_for_log_line(&self, needle: &str, nth: usize) -> String {
        let log = self.wait_for_log_count(needle, nth);
        let line = log.lines().filter(|l| l.contains(needle)).nth(nth - 1);
        line.unwrap_or_default().to_string()
    }

    /// Waits until the log contains `needle`.
    pub fn wait_for_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            let log = self.stderr();
            if log.contains(needle) {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "log never contained `{needle}`:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM, as a service manager does, without waiting.
    pub fn terminate(&self) {
        // SAFETY: kill(2) with a child pid we own and a valid signal number.
        let sent = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        assert_eq!(sent, 0, "SIGTERM could not be sent");
    }

    /// The process's exit status, if it has exited.
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// Waits for the process to exit on its own.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Closes stdin, as a client does when it leaves, and waits for the process to exit.
    pub fn close(mut self) -> ExitStatus {
        drop(self.stdin.take());
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "server did not exit after stdin closed"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `command`, which must succeed; returns what it printed on stdout.
pub fn stdout_of(command: &mut Command) -> Vec<u8> {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// What `berth inspect --json FILE` prints for a component, which must load.
pub fn inspect_json(file: &Path) -> Value {
    serde_json::from_slice(&stdout_of(berth().arg("inspect").arg(file).arg("--json"))).unwrap()
}

/// A temporary plugins folder holding copies of the named plugin packages.
pub fn plugins_dir(packages: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for package in packages {
        let from = berth_test_artifacts::wasm(package);
        let to = dir.path().join(from.file_name().unwrap());
        std::fs::copy(&from, &to).unwrap();
    }
    dir
}

/// Writes `text` as a config file inside `dir` and returns its path.
pub fn config_file(dir: &Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("berth.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The text of the first content block of a tool result.
pub fn text(result: &Value) -> &str {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text content: {result}"))
}

/// Writes `bytes` to `dir/name` the way deploy tools do: a hidden temporary file renamed
/// over the target, so the watcher never sees a half-written plugin.
pub fn install(dir: &Path, name: &str, bytes: &[u8]) {
    let temporary = dir.join(format!(".{name}.partial"));
    std::fs::write(&temporary, bytes).unwrap();
    std::fs::rename(&temporary, dir.join(name)).unwrap();
}

/// The bytes of a built plugin package.
pub fn component(package: &str) -> Vec<u8> {
    std::fs::read(berth_test_artifacts::wasm(package)).unwrap()
}

/// Replaces the config file the way editors save: a new file renamed over the old one.
pub fn save_config(path: &Path, text: &str) {
    let temporary = path.with_extension("toml.tmp");
    std::fs::write(&temporary, text).unwrap();
    std::fs::rename(&temporary, path).unwrap();
}

/// A plain reqwest client. reqwest's TLS here needs a crypto provider installed first
/// (see `berth_distribution::init_tls`), even for `http://`.
pub fn http_client() -> reqwest::Client {
    reqwest_builder().build().unwrap()
}

/// A reqwest client builder, with the crypto provider installed.
pub fn reqwest_builder() -> reqwest::ClientBuilder {
    berth_distribution::init_tls();
    reqwest::Client::builder()
}
