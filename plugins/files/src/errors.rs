//! Turning `std::io` errors into messages a model can act on: what was attempted, on which
//! path (relative to the granted folder, as the model named it), why in plain words, and
//! the OS's own wording last.
//!
//! They become tool *results* with `is-error` ([`ToolError::result`]), not call errors: "no
//! such file" or "already exists" is something the model reads and corrects, by listing
//! the folder or passing `overwrite`.

use std::io::{self, ErrorKind};

use berth_plugin_sdk::{ResourceError, ToolError};

/// WASI's `ENOTCAPABLE`: the path is outside every preopened folder. std has no
/// `ErrorKind` for it, so it would otherwise read as an unexplained "other error".
#[cfg(target_os = "wasi")]
const ENOTCAPABLE: i32 = 76;

/// A tool error for `error`, met while trying to `action` (e.g. "read") `path`.
pub fn io_error(action: &str, path: &str, error: &io::Error) -> ToolError {
    log_denial(action, path, error);
    ToolError::result(describe(action, path, error))
}

/// Logs a refusal by the sandbox (outside the grant, or a write to a read-only grant)
/// into the host's log, tagged with this plugin: WASI answers the plugin with an error
/// code and tells the host nothing, so this line is how the operator learns of it.
fn log_denial(action: &str, path: &str, error: &io::Error) {
    #[cfg(target_os = "wasi")]
    let outside = error.raw_os_error() == Some(ENOTCAPABLE);
    #[cfg(not(target_os = "wasi"))]
    let outside = false;
    let denied = outside
        || matches!(
            error.kind(),
            ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem
        );
    if denied {
        let error = error.to_string();
        berth_plugin_sdk::log::log(
            berth_plugin_sdk::log::Level::Warn,
            "access denied by the sandbox",
            &[("action", action), ("path", path), ("error", &error)],
        );
    }
}

/// A resource error for `error`: `not-found` when the file is missing, else `failed`.
pub fn io_resource_error(action: &str, path: &str, error: &io::Error) -> ResourceError {
    log_denial(action, path, error);
    let message = describe(action, path, error);
    if error.kind() == ErrorKind::NotFound {
        ResourceError::not_found(message)
    } else {
        ResourceError::failed(message)
    }
}

/// The message: `cannot <action> `<path>`: <reason> (<OS error>)`.
pub fn describe(action: &str, path: &str, error: &io::Error) -> String {
    format!("cannot {action} `{path}`: {} ({error})", reason(error))
}

/// `error` in plain words, with a hint at what to do where there is one.
fn reason(error: &io::Error) -> &'static str {
    #[cfg(target_os = "wasi")]
    if error.raw_os_error() == Some(ENOTCAPABLE) {
        return "it is outside what the operator granted to this plugin";
    }
    match error.kind() {
        ErrorKind::NotFound => "it does not exist (use `list` to see what there is)",
        ErrorKind::PermissionDenied => {
            "permission denied: it is outside what the operator granted, or the grant does not allow this (a read-only grant refuses writes)"
        }
        ErrorKind::ReadOnlyFilesystem => {
            "the operator granted this folder read-only, so it cannot be changed"
        }
        ErrorKind::AlreadyExists => "it already exists",
        ErrorKind::NotADirectory => "a part of the path is a file, not a folder",
        ErrorKind::IsADirectory => "it is a folder",
        ErrorKind::DirectoryNotEmpty => {
            "the folder is not empty (pass `recursive: true` to delete it with its contents)"
        }
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => "there is no space left",
        ErrorKind::FileTooLarge => "the file would be too large",
        ErrorKind::InvalidFilename => "the name is not valid here",
        ErrorKind::CrossesDevices => "the two paths are on different file systems",
        ErrorKind::ResourceBusy => "it is in use",
        ErrorKind::InvalidInput => "the operation does not apply to it",
        _ => "the operation failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_plugin_sdk::{ResourceErrorKind, ToolErrorKind};

    #[test]
    fn messages_name_the_action_the_path_and_the_reason() {
        let missing = io::Error::from(ErrorKind::NotFound);
        let error = io_error("read", "notes/a.txt", &missing);
        assert_eq!(error.kind(), ToolErrorKind::Result);
        assert!(
            error
                .message()
                .starts_with("cannot read `notes/a.txt`: it does not exist"),
            "{}",
            error.message()
        );
        let denied = io::Error::from(ErrorKind::PermissionDenied);
        assert!(
            describe("write", "x", &denied).contains("outside what the operator granted"),
            "{}",
            describe("write", "x", &denied)
        );
        assert!(
            describe("create", "x", &io::Error::from(ErrorKind::AlreadyExists))
                .contains("already exists")
        );
        assert!(
            describe(
                "delete",
                "d",
                &io::Error::from(ErrorKind::DirectoryNotEmpty)
            )
            .contains("recursive: true")
        );
    }

    #[test]
    fn resource_errors_keep_not_found() {
        let missing = io::Error::from(ErrorKind::NotFound);
        assert_eq!(
            io_resource_error("read", "x", &missing).kind(),
            ResourceErrorKind::NotFound
        );
        let denied = io::Error::from(ErrorKind::PermissionDenied);
        assert_eq!(
            io_resource_error("read", "x", &denied).kind(),
            ResourceErrorKind::Failed
        );
    }
}
