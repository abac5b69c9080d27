//! Real services for Berth's tests and benchmarks, started on loopback from Debian's
//! packages (which `scripts/test` installs): a `redis-server` and an `haproxy`. Never a
//! mock: the tests that need a service run against the real one.
//!
//! ```no_run
//! let redis = berth_test_services::Redis::start(berth_test_services::Persistence::None);
//! let url = redis.url(); // redis://127.0.0.1:PORT
//! # let _ = url;
//! ```

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What a Redis server keeps on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// Nothing: its data ends with it.
    None,
    /// Every write appended to its log and flushed before it is answered
    /// (`appendfsync always`), so a restart in the same folder finds everything.
    EveryWrite,
}

/// A `redis-server` on a loopback port, stopped when dropped.
pub struct Redis {
    child: Child,
    dir: PathBuf,
    port: u16,
    persistence: Persistence,
    /// The folder it keeps its files in, when it chose one (removed when dropped).
    _own_dir: Option<tempfile::TempDir>,
}

impl Redis {
    /// Starts a server in a folder of its own, on a free port.
    pub fn start(persistence: Persistence) -> Redis {
        let dir = tempfile::tempdir().expect("a temporary folder for redis-server");
        let mut redis = Redis::start_in(dir.path(), free_port(), persistence);
        redis._own_dir = Some(dir);
        redis
    }

    /// Starts a server keeping its files in `dir`, on `port` (a restart on the same port
    /// and folder is the same server to its clients).
    pub fn start_in(dir: &Path, port: u16, persistence: Persistence) -> Redis {
        let mut command = Command::new("redis-server");
        command
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null());
        match persistence {
            Persistence::None => command.args(["--appendonly", "no"]),
            Persistence::EveryWrite => {
                command.args(["--appendonly", "yes", "--appendfsync", "always"])
            }
        };
        let child = command.spawn().expect(
            "redis-server runs (Debian's package; scripts/test installs it: \
             apt-get install redis-server)",
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Redis {
            child,
            dir: dir.to_path_buf(),
            port,
            persistence,
            _own_dir: None,
        }
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops it as an operator would (SIGTERM: it finishes its log first), waits for it,
    /// and returns what [`Redis::restart`] needs to bring the same server back.
    pub fn stop(mut self) -> Stopped {
        // SAFETY: kill(2) with a child pid we own and a valid signal number.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let _ = self.child.wait();
        Stopped {
            dir: self.dir.clone(),
            port: self.port,
            persistence: self.persistence,
            own_dir: self._own_dir.take(),
        }
    }
}

/// A stopped server, ready to start again with its data.
pub struct Stopped {
    dir: PathBuf,
    port: u16,
    persistence: Persistence,
    own_dir: Option<tempfile::TempDir>,
}

impl Stopped {
    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Starts it again on the same port and folder.
    pub fn restart(self) -> Redis {
        let mut redis = Redis::start_in(&self.dir, self.port, self.persistence);
        redis._own_dir = self.own_dir;
        redis
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free on loopback now. The server binds it a moment later; another process
/// could take it in between, which would fail the start loudly (not seen here).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

/// How [`Haproxy`] picks a backend for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routing {
    /// Round robin, request by request: what a load balancer does without a recipe.
    RoundRobin,
    /// Round robin for requests without an `Mcp-Session-Id`; every request carrying one
    /// goes where the answer that gave it out came from (the affinity recipe in the
    /// README).
    SessionAffinity,
}

/// An `haproxy` (Debian's package) on a loopback port in front of `backends`, stopped
/// when dropped.
pub struct Haproxy {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Haproxy {
    /// Starts it, balancing over `backends` (`host:port`) as `routing` says.
    pub fn start(backends: &[String], routing: Routing) -> Haproxy {
        let dir = tempfile::tempdir().expect("a temporary folder for haproxy");
        let port = free_port();
        let mut config = format!(
            "global\n    maxconn 1024\n\
             defaults\n    mode http\n    timeout connect 5s\n    timeout client 120s\n    timeout server 120s\n\
             frontend mcp\n    bind 127.0.0.1:{port}\n    default_backend berth\n\
             backend berth\n    balance roundrobin\n\
             \x20   option redispatch\n    retries 3\n    retry-on conn-failure empty-response\n"
        );
        if routing == Routing::SessionAffinity {
            config.push_str(
                "    stick-table type string len 128 size 100k expire 30m\n\
                 \x20   stick on req.hdr(mcp-session-id)\n\
                 \x20   stick store-response res.hdr(mcp-session-id)\n",
            );
        }
        for (i, backend) in backends.iter().enumerate() {
            // A replica that stops answering is taken out within a second; a session
            // stuck to it is sent elsewhere (`redispatch`), where `[cluster]` restores it.
            config.push_str(&format!(
                "    server replica{i} {backend} check inter 300ms fall 1 rise 2\n"
            ));
        }
        let file = dir.path().join("haproxy.cfg");
        std::fs::write(&file, config).expect("writing haproxy.cfg");
        let child = Command::new("haproxy")
            .arg("-f")
            .arg(&file)
            .arg("-db")
            .stdout(Stdio::null())
            .spawn()
            .expect(
                "haproxy runs (Debian's package; scripts/test installs it: \
                 apt-get install haproxy)",
            );
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "haproxy did not start on {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Haproxy {
            child,
            port,
            _dir: dir,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
