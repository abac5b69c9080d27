//! The admin socket: a running server's view of its plugins for the operator, and the
//! `berth plugins list` client that reads it.
//!
//! Why a Unix socket and not MCP or HTTP: under stdio the MCP channel belongs to the
//! client that started Berth, and the HTTP transport is optional, yet an operator must be
//! able to ask any running server what it serves. A socket file in a folder only the
//! operator's user can enter (mode 0700, socket 0600) needs no credentials and exposes
//! nothing to other users. Each server listens on `<runtime dir>/<pid>.sock`, so
//! `berth plugins list` finds every server of the user without being told where.
//!
//! The exchange is one JSON line each way: `{"request":"plugins"}` is answered with
//! `{"ok":true,"status":{…}}` (or `{"ok":false,"error":"…"}`), then the server closes
//! the connection.

use std::collections::HashMap;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use crate::lifecycle::{FileNote, Lifecycle};
use crate::shutdown::Shutdown;

/// Longest request line accepted; the only request is a few bytes long.
const MAX_REQUEST: u64 = 4096;

/// How long a connection may take to send its request or read the answer.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the admin socket could not be set up or queried.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The socket's folder is unsafe or unusable.
    #[error("admin socket folder {dir}: {problem}")]
    Folder {
        /// The folder.
        dir: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// Another live server already listens on the path.
    #[error(
        "admin socket {0} is in use by another running server; pass another --admin-socket path"
    )]
    InUse(PathBuf),
    /// An I/O error on the socket.
    #[error("admin socket {path}: {source}")]
    Io {
        /// The socket.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The server answered something unexpected.
    #[error("admin socket {path}: {problem}")]
    Protocol {
        /// The socket.
        path: PathBuf,
        /// What was wrong with the answer.
        problem: String,
    },
    /// No running server was found.
    #[error(
        "no running Berth server found in {0} (servers started with `--admin-socket off` \
         cannot be listed; one started with `--admin-socket PATH` needs `--socket PATH`)"
    )]
    NoServer(PathBuf),
}

/// The state of one plugin file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadState {
    /// Its plugin is served (possibly an older build, when `last_error` is set).
    Serving,
    /// It could not be loaded and nothing from it is served.
    Refused,
    /// It loaded, but the config disables its plugin.
    Disabled,
}

/// One plugin file as the running server sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStatus {
    /// The file.
    pub file: PathBuf,
    /// Served, refused or disabled.
    pub state: LoadState,
    /// The plugin's name, when the file ever loaded.
    pub plugin: Option<String>,
    /// The plugin's version.
    pub version: Option<String>,
    /// The contract version it was built against.
    pub contract: Option<String>,
    /// Which compiler made the code it runs now: `winch` while a new build waits for
    /// Cranelift's code (tiering), `cranelift` after. Absent from older servers' answers.
    #[serde(default)]
    pub compiler: Option<String>,
    /// The tool names clients see.
    pub tools: Vec<String>,
    /// Number of static resources.
    pub resources: usize,
    /// Number of resource templates.
    pub templates: usize,
    /// The last load error of this file, if its last load failed.
    pub last_error: Option<String>,
    /// When that error happened, in seconds since the Unix epoch.
    pub last_error_at: Option<u64>,
}

/// What a running server reports about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The server's process id.
    pub pid: u32,
    /// Berth's version.
    pub berth_version: String,
    /// The watched plugins folder.
    pub plugins_dir: PathBuf,
    /// The registry generation (bumps on every published change).
    pub generation: u64,
    /// Every plugin file known, by file name.
    pub files: Vec<FileStatus>,
}

/// The current status of the server behind `lifecycle`.
pub fn status(lifecycle: &Lifecycle) -> Status {
    let registry = lifecycle.served().registry();
    let mut notes: HashMap<PathBuf, FileNote> = lifecycle.notes();
    let mut files = Vec::new();
    for entry in registry.plugins() {
        let manifest = entry.plugin.manifest();
        let (last_error, last_error_at) = match notes.remove(&entry.path) {
            Some(FileNote::Refused { error, at }) => (Some(error), Some(unix_seconds(at))),
            _ => (None, None),
        };
        files.push(FileStatus {
            file: entry.path.clone(),
            state: LoadState::Serving,
            plugin: Some(manifest.name.clone()),
            version: Some(manifest.version.clone()),
            contract: Some(entry.plugin.contract_version().to_string()),
            compiler: Some(entry.plugin.compiler().as_str().to_string()),
            tools: registry
                .tools()
                .iter()
                .filter(|t| Arc::ptr_eq(&t.plugin, entry))
                .map(|t| t.qualified_name.clone())
                .collect(),
            resources: manifest.resources.len(),
            templates: manifest.resource_templates.len(),
            last_error,
            last_error_at,
        });
    }
    for (file, note) in notes {
        // A note can outlive its file when the file vanished while not being watched
        // as a served plugin; the folder is the truth.
        if !file.exists() {
            continue;
        }
        let blank = FileStatus {
            file,
            state: LoadState::Refused,
            plugin: None,
            version: None,
            contract: None,
            compiler: None,
            tools: Vec::new(),
            resources: 0,
            templates: 0,
            last_error: None,
            last_error_at: None,
        };
        files.push(match note {
            FileNote::Refused { error, at } => FileStatus {
                last_error: Some(error),
                last_error_at: Some(unix_seconds(at)),
                ..blank
            },
            FileNote::Disabled { plugin, version } => FileStatus {
                state: LoadState::Disabled,
                plugin: Some(plugin),
                version: Some(version),
                ..blank
            },
        });
    }
    files.sort_by(|a, b| a.file.cmp(&b.file));
    Status {
        pid: std::process::id(),
        berth_version: env!("CARGO_PKG_VERSION").to_string(),
        plugins_dir: lifecycle.dir().to_path_buf(),
        generation: registry.generation(),
        files,
    }
}

fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The folder holding this user's server sockets: `$XDG_RUNTIME_DIR/berth`, else
/// `<temp>/berth-<uid>`.
pub fn runtime_dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir).join("berth"),
        None => std::env::temp_dir().join(format!("berth-{}", effective_uid())),
    }
}

fn effective_uid() -> u32 {
    // SAFETY: `geteuid` has no preconditions, cannot fail and touches no memory of ours.
    unsafe { libc::geteuid() }
}

/// The socket path a server with process id `pid` uses by default.
pub fn default_socket(pid: u32) -> PathBuf {
    runtime_dir().join(format!("{pid}.sock"))
}

/// Creates `dir` for sockets (mode 0700), or checks that an existing one belongs to
/// this user and lets nobody else in: in a shared temp folder another user could have
/// created it first to read or spoof the sockets.
fn prepare_dir(dir: &Path) -> Result<(), AdminError> {
    let folder = |problem: String| AdminError::Folder {
        dir: dir.to_path_buf(),
        problem,
    };
    match std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
    {
        Ok(()) => {}
        Err(e) => return Err(folder(format!("cannot create it: {e}"))),
    }
    let meta = std::fs::symlink_metadata(dir).map_err(|e| folder(e.to_string()))?;
    if !meta.is_dir() {
        return Err(folder("is not a folder".to_string()));
    }
    if meta.uid() != effective_uid() {
        return Err(folder(format!(
            "belongs to user id {}, not to this user ({}); remove it or choose another path",
            meta.uid(),
            effective_uid()
        )));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(folder(format!(
            "is open to other users (mode {:o}); run `chmod 700` on it",
            meta.mode() & 0o777
        )));
    }
    Ok(())
}

/// A listening admin socket; dropping it removes the socket file.
pub struct AdminSocket {
    path: PathBuf,
}

impl AdminSocket {
    /// Listens on `path` and answers from `lifecycle` until `shutdown`.
    pub async fn bind(
        path: PathBuf,
        lifecycle: Arc<Lifecycle>,
        shutdown: &Shutdown,
    ) -> Result<AdminSocket, AdminError> {
        let io = |source| AdminError::Io {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            prepare_dir(dir)?;
        }
        if path.exists() {
            // A live server answers; a stale file left by a crash does not.
            if UnixStream::connect(&path).await.is_ok() {
                return Err(AdminError::InUse(path));
            }
            std::fs::remove_file(&path).map_err(io)?;
        }
        let listener = UnixListener::bind(&path).map_err(io)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        tracing::info!(socket = %path.display(), "admin socket listening");
        let stop = shutdown.child_token();
        let tasks = shutdown.clone();
        shutdown.spawn(async move {
            loop {
                let stream = tokio::select! {
                    _ = stop.cancelled() => break,
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => stream,
                        Err(error) => {
                            tracing::warn!(%error, "admin socket accept failed");
                            continue;
                        }
                    },
                };
                let lifecycle = lifecycle.clone();
                tasks.spawn(async move {
                    if let Err(error) =
                        tokio::time::timeout(EXCHANGE_TIMEOUT, answer(stream, &lifecycle)).await
                    {
                        tracing::debug!(%error, "admin connection timed out");
                    }
                });
            }
        });
        Ok(AdminSocket { path })
    }

    /// Where it listens.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for AdminSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A request on the admin socket.
#[derive(Debug, Serialize, Deserialize)]
struct Request {
    request: String,
}

/// The answer to one request.
#[derive(Debug, Serialize, Deserialize)]
struct Reply {
    ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<Status>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

async fn answer(stream: UnixStream, lifecycle: &Lifecycle) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let reply = match BufReader::new(read.take(MAX_REQUEST))
        .read_line(&mut line)
        .await
    {
        Err(error) => Reply {
            ok: false,
            status: None,
            error: Some(format!("cannot read the request: {error}")),
        },
        Ok(_) => match serde_json::from_str::<Request>(&line) {
            Ok(request) if request.request == "plugins" => Reply {
                ok: true,
                status: Some(status(lifecycle)),
                error: None,
            },
            Ok(request) => Reply {
                ok: false,
                status: None,
                error: Some(format!(
                    "unknown request `{}`; known: `plugins`",
                    request.request
                )),
            },
            Err(error) => Reply {
                ok: false,
                status: None,
                error: Some(format!(
                    "the request must be one JSON line like {{\"request\":\"plugins\"}}: {error}"
                )),
            },
        },
    };
    let mut text = serde_json::to_string(&reply)
        .unwrap_or_else(|e| format!(r#"{{"ok":false,"error":"cannot encode the status: {e}"}}"#));
    text.push('\n');
    let _ = write.write_all(text.as_bytes()).await;
    let _ = write.shutdown().await;
}

/// Asks the server listening on `path` for its status.
pub async fn query(path: &Path) -> Result<Status, AdminError> {
    let io = |source| AdminError::Io {
        path: path.to_path_buf(),
        source,
    };
    let exchange = async {
        let mut stream = UnixStream::connect(path).await.map_err(io)?;
        stream
            .write_all(b"{\"request\":\"plugins\"}\n")
            .await
            .map_err(io)?;
        let mut text = String::new();
        stream.read_to_string(&mut text).await.map_err(io)?;
        Ok::<_, AdminError>(text)
    };
    let text = tokio::time::timeout(EXCHANGE_TIMEOUT, exchange)
        .await
        .map_err(|_| AdminError::Protocol {
            path: path.to_path_buf(),
            problem: format!("no answer within {EXCHANGE_TIMEOUT:?}"),
        })??;
    let protocol = |problem: String| AdminError::Protocol {
        path: path.to_path_buf(),
        problem,
    };
    let reply: Reply = serde_json::from_str(text.trim())
        .map_err(|e| protocol(format!("unreadable answer ({e}): {text}")))?;
    match (reply.ok, reply.status, reply.error) {
        (true, Some(status), _) => Ok(status),
        (_, _, Some(error)) => Err(protocol(error)),
        _ => Err(protocol(format!("answer without a status: {text}"))),
    }
}

/// The status of every server of this user that answers on the default socket folder,
/// ordered by process id. Sockets left behind by servers that died are skipped.
pub async fn discover() -> Result<Vec<Status>, AdminError> {
    let dir = runtime_dir();
    let mut sockets: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "sock"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(source) => return Err(AdminError::Io { path: dir, source }),
    };
    sockets.sort();
    let mut found = Vec::new();
    for socket in sockets {
        match query(&socket).await {
            Ok(status) => found.push(status),
            Err(AdminError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::ConnectionRefused =>
            {
                // Nobody listens: its server died without cleaning up. The folder is
                // this user's own, so tidying it is safe.
                let _ = std::fs::remove_file(&socket);
            }
            Err(error) => tracing::debug!(%error, "skipping a socket that does not answer"),
        }
    }
    if found.is_empty() {
        return Err(AdminError::NoServer(dir));
    }
    found.sort_by_key(|s| s.pid);
    Ok(found)
}

/// `status` as the table `berth plugins list` prints.
pub fn render(status: &Status) -> String {
    let mut out = format!(
        "berth {} (pid {}) serving {} — registry generation {}\n",
        status.berth_version,
        status.pid,
        status.plugins_dir.display(),
        status.generation
    );
    if status.files.is_empty() {
        out.push_str("  no plugin files\n");
        return out;
    }
    let rows: Vec<[String; 7]> = status
        .files
        .iter()
        .map(|f| {
            let dash = || "-".to_string();
            [
                f.plugin.clone().unwrap_or_else(dash),
                f.version.clone().unwrap_or_else(dash),
                f.contract.clone().unwrap_or_else(dash),
                match f.state {
                    LoadState::Serving => "serving",
                    LoadState::Refused => "refused",
                    LoadState::Disabled => "disabled",
                }
                .to_string(),
                f.compiler.clone().unwrap_or_else(dash),
                f.tools.len().to_string(),
                f.file
                    .file_name()
                    .map_or_else(dash, |n| n.to_string_lossy().into_owned()),
            ]
        })
        .collect();
    let header = [
        "PLUGIN", "VERSION", "CONTRACT", "STATE", "CODE", "TOOLS", "FILE",
    ];
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[&str]| {
        let mut text = String::from(" ");
        // Two spaces between columns: one after each padded cell, one before the next.
        for (cell, width) in cells.iter().zip(&widths) {
            text.push_str(&format!(" {cell:<width$} "));
        }
        text.trim_end().to_string() + "\n"
    };
    out.push_str(&line(&header));
    for (row, file) in rows.iter().zip(&status.files) {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        out.push_str(&line(&cells));
        if !file.tools.is_empty() {
            out.push_str(&format!("    tools: {}\n", file.tools.join(", ")));
        }
        if let Some(error) = &file.last_error {
            out.push_str(&format!("    last error: {error}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(state: LoadState, error: Option<&str>) -> FileStatus {
        FileStatus {
            file: PathBuf::from("/p/echo.wasm"),
            state,
            plugin: Some("echo".into()),
            version: Some("0.1.0".into()),
            contract: Some("0.2.0".into()),
            compiler: Some("winch".into()),
            tools: vec!["echo_echo".into(), "echo_add".into()],
            resources: 1,
            templates: 0,
            last_error: error.map(str::to_string),
            last_error_at: error.map(|_| 1),
        }
    }

    #[test]
    fn the_table_shows_state_tools_and_errors() {
        let status = Status {
            pid: 42,
            berth_version: "0.1.0".into(),
            plugins_dir: PathBuf::from("/p"),
            generation: 3,
            files: vec![file(LoadState::Serving, Some("bad upgrade"))],
        };
        let text = render(&status);
        assert!(text.contains("pid 42"), "{text}");
        assert!(text.contains("PLUGIN  VERSION"), "{text}");
        assert!(text.contains("echo    0.1.0"), "{text}");
        assert!(text.contains("STATE    CODE"), "{text}");
        assert!(text.contains("serving  winch"), "{text}");
        assert!(text.contains("tools: echo_echo, echo_add"), "{text}");
        assert!(text.contains("last error: bad upgrade"), "{text}");
    }

    #[test]
    fn an_older_servers_status_without_a_compiler_still_reads() {
        let mut old = serde_json::to_value(file(LoadState::Serving, None)).unwrap();
        old.as_object_mut().unwrap().remove("compiler");
        let read: FileStatus = serde_json::from_value(old).unwrap();
        assert_eq!(read.compiler, None);
    }

    #[tokio::test]
    async fn an_open_or_foreign_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = prepare_dir(&open).unwrap_err().to_string();
        assert!(err.contains("chmod 700"), "{err}");
        prepare_dir(&dir.path().join("fresh/nested")).unwrap();
        let mode = std::fs::metadata(dir.path().join("fresh/nested"))
            .unwrap()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
