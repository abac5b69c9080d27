//! `files`: the file tools an AI client expects — read, write, list, mkdir, delete, move and
//! stat — confined to one folder the operator grants, plus that folder as MCP resources.
//!
//! The host preopens the granted host folder at the guest path `/workspace` (a WASI p2
//! preopen) and the plugin works on paths inside it; the config value `root` names another
//! guest path (native tests point it at a temp dir). Every path argument goes through
//! `paths`, which refuses anything that leaves the root before the OS sees it; WASI is the
//! boundary that holds even if that check were wrong.
//!
//! Contents travel as UTF-8 text by default and as base64 on request (`encoding`), so any
//! file can be read and written. A read returns at most [`MAX_READ`] bytes; `offset` and
//! `length` page through larger files. Failures the model can act on (no such file, already
//! exists, folder not empty) are error results naming the path; paths that break the rules
//! are `invalid-arguments`.
//!
//! # Layout
//! - `paths`: the path rules and the symbolic-link check.
//! - `errors`: `std::io` errors as messages naming the path and the reason.
//! - `meta`: entry kinds, RFC 3339 timestamps, MIME types by extension.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use berth_plugin_sdk::prelude::*;

mod errors;
mod meta;
mod paths;

use errors::{io_error, io_resource_error};
pub use meta::Kind;
use meta::{is_textual, mime_type, rfc3339};
use paths::{Resolved, Root};

/// The most bytes one `read` (or one resource read) returns: 8 MiB. Larger files are read
/// in pieces with `offset` and `length`; the cap keeps one reply within what the host and
/// clients handle comfortably (base64 makes it a third larger still).
pub const MAX_READ: u64 = 8 * 1024 * 1024;
/// How many levels a recursive `list` descends when `max_depth` is not given.
pub const DEFAULT_DEPTH: u32 = 5;
/// The deepest a recursive `list` may go.
pub const MAX_DEPTH: u32 = 32;
/// How many entries `list` returns when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 1000;
/// The most entries one `list` may return.
pub const MAX_LIMIT: u32 = 10_000;

/// Decodes base64 from models, which drop padding now and then: padding is optional here.
/// Encoding (for `read`) stays the canonical padded form.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// How file contents travel in arguments and results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum Encoding {
    /// UTF-8 text, as is.
    #[default]
    #[serde(rename = "utf-8")]
    Utf8,
    /// Standard base64 (RFC 4648): any bytes.
    #[serde(rename = "base64")]
    Base64,
}

/// Arguments of `read`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadArgs {
    /// The file, relative to the granted folder (or absolute under `/workspace`).
    pub path: String,
    /// `utf-8` (default) returns the text; `base64` returns the bytes base64-encoded and
    /// works for any file, text or not.
    #[serde(default)]
    pub encoding: Encoding,
    /// The byte offset to start reading at (default 0).
    #[serde(default)]
    pub offset: u64,
    /// How many bytes to read (default: to the end of the file). One call returns at most
    /// 8 MiB (8388608 bytes) whatever this says.
    pub length: Option<u64>,
}

/// Reads a file in the granted folder. With `encoding: "utf-8"` (the default) the text comes
/// back as is; a file that is not valid UTF-8 needs `encoding: "base64"`, which works for any
/// file. One call returns at most 8 MiB: for larger files pass `offset` and `length` (bytes),
/// and a note after the contents says which bytes came back and where to continue.
#[tool(title = "Read file", read_only, idempotent)]
pub fn read(#[args] args: ReadArgs) -> Result<ToolOutput, ToolError> {
    let root = Root::granted()?;
    let path = root.resolve(&args.path)?;
    let mut chunk = read_chunk(&root, &path, args.offset, args.length)?;
    if args.encoding == Encoding::Utf8 {
        chunk.fit_utf8(&path.display())?;
    }
    let note = chunk.note();
    let body = match args.encoding {
        // `fit_utf8` checked the bytes, so this cannot fail.
        Encoding::Utf8 => String::from_utf8(chunk.bytes).map_err(ToolError::failed)?,
        Encoding::Base64 => STANDARD.encode(&chunk.bytes),
    };
    let mut output = ToolOutput::new().text(body);
    if let Some(note) = note {
        // A separate block, so the contents themselves stay exactly the file's bytes.
        output = output.text(note);
    }
    Ok(output)
}

/// Part of a file, as read.
struct Chunk {
    bytes: Vec<u8>,
    /// Where `bytes` start in the file.
    offset: u64,
    /// The file's size when it was opened.
    size: u64,
    /// Whether the 8 MiB cap, not the caller's `length`, ended the read.
    capped: bool,
}

impl Chunk {
    /// The offset just past the bytes returned.
    fn end(&self) -> u64 {
        self.offset + self.bytes.len() as u64
    }

    /// Checks that the bytes are UTF-8 text. A character cut in two by the end of a partial
    /// read is dropped from this chunk (and [`Chunk::end`] moves back), so the next read
    /// with `offset` = end starts on it whole.
    fn fit_utf8(&mut self, path: &str) -> Result<(), ToolError> {
        if let Err(error) = std::str::from_utf8(&self.bytes) {
            let cut_at_end = error.error_len().is_none() && self.end() < self.size;
            if cut_at_end && error.valid_up_to() > 0 {
                self.bytes.truncate(error.valid_up_to());
            } else if cut_at_end {
                return Err(ToolError::result(format!(
                    "cannot read `{path}` as UTF-8: `length` is too small to hold the character at offset {}; ask for more bytes",
                    self.offset
                )));
            } else {
                let at = self.offset + error.valid_up_to() as u64;
                let hint = if at == self.offset && self.offset > 0 {
                    " (`offset` may fall inside a multi-byte character)"
                } else {
                    ""
                };
                return Err(ToolError::result(format!(
                    "`{path}` is not valid UTF-8 text (invalid byte at offset {at}{hint}); read it with `encoding: \"base64\"` instead"
                )));
            }
        }
        Ok(())
    }

    /// A line saying which bytes came back, unless they are the whole file.
    fn note(&self) -> Option<String> {
        let (offset, end, size) = (self.offset, self.end(), self.size);
        if offset == 0 && end >= size {
            None
        } else if offset > size {
            Some(format!(
                "[files: offset {offset} is past the end of the file ({size} bytes)]"
            ))
        } else if end >= size {
            Some(format!(
                "[files: bytes {offset}..{end} of {size}; this is the end of the file]"
            ))
        } else {
            let cap = if self.capped {
                " (one read returns at most 8 MiB)"
            } else {
                ""
            };
            Some(format!(
                "[files: bytes {offset}..{end} of {size}{cap}; {} bytes remain, read again with offset {end}]",
                size - end
            ))
        }
    }
}

/// Reads up to `length` bytes (at most [`MAX_READ`]) of the file at `path` from `offset`.
fn read_chunk(
    root: &Root,
    path: &Resolved,
    offset: u64,
    length: Option<u64>,
) -> Result<Chunk, ToolError> {
    let shown = path.display();
    let failed = |error: std::io::Error| io_error("read", &shown, &error);
    root.check_links(path, true)?;
    let metadata = fs::metadata(path.full()).map_err(failed)?;
    if metadata.is_dir() {
        return Err(ToolError::result(format!(
            "cannot read `{shown}`: it is a folder (use `list` to see what it holds)"
        )));
    }
    if !metadata.is_file() {
        // A pipe or a device could block the call forever or never end.
        return Err(ToolError::result(format!(
            "cannot read `{shown}`: it is not a regular file"
        )));
    }
    let wanted = length.unwrap_or(u64::MAX);
    let limit = wanted.min(MAX_READ);
    let mut file = File::open(path.full()).map_err(failed)?;
    if offset > 0 {
        file.seek(SeekFrom::Start(offset)).map_err(failed)?;
    }
    let expected = metadata.len().saturating_sub(offset).min(limit);
    let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
    file.take(limit).read_to_end(&mut bytes).map_err(failed)?;
    Ok(Chunk {
        capped: wanted > MAX_READ && bytes.len() as u64 == MAX_READ,
        bytes,
        offset,
        size: metadata.len(),
    })
}

/// How `write` treats a file that already exists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WriteMode {
    /// Create a new file; fail if one exists.
    Create,
    /// Replace the file's contents, creating it if needed (the default).
    #[default]
    Overwrite,
    /// Add to the end of the file, creating it if needed.
    Append,
}

/// Arguments of `write`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteArgs {
    /// The file, relative to the granted folder (or absolute under `/workspace`).
    pub path: String,
    /// What to write: text, or base64 with `encoding: "base64"`.
    pub content: String,
    /// `utf-8` (default): `content` is written as is; `base64`: `content` is decoded first
    /// (whitespace ignored, padding optional), for binary files.
    #[serde(default)]
    pub encoding: Encoding,
    /// `create` (fail if the file exists), `overwrite` (default) or `append`.
    #[serde(default)]
    pub mode: WriteMode,
    /// Create missing parent folders (default false).
    #[serde(default)]
    pub create_parents: bool,
}

/// What `write` did.
#[derive(Debug, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Written {
    /// The file written, relative to the granted folder.
    pub path: String,
    /// How many bytes this call wrote.
    pub bytes_written: u64,
    /// The file's size afterwards, in bytes.
    pub size: u64,
    /// The mode used.
    pub mode: WriteMode,
}

/// Writes a file in the granted folder: creates it, replaces its contents (the default) or
/// appends to it, per `mode`. Text goes as is; binary content goes base64-encoded with
/// `encoding: "base64"`. Parent folders must exist unless `create_parents` is true. Returns
/// the bytes written and the file's new size.
#[tool(title = "Write file", destructive)]
pub fn write(#[args] args: WriteArgs) -> Result<Written, ToolError> {
    let root = Root::granted()?;
    let path = root.resolve(&args.path)?;
    let shown = path.display();
    if path.is_root() {
        return Err(ToolError::invalid_arguments(format!(
            "`{}` is the granted folder itself; name a file inside it",
            args.path
        )));
    }
    let bytes = decode(args.content, args.encoding)?;
    root.check_links(&path, true)?;
    let parent = path.parent(&root);
    if args.create_parents {
        fs::create_dir_all(parent.full())
            .map_err(|error| io_error("create the folder", &parent.display(), &error))?;
    } else {
        require_folder(
            &parent,
            "write",
            &shown,
            "pass `create_parents: true` to create it",
        )?;
    }
    let mut options = OpenOptions::new();
    match args.mode {
        WriteMode::Create => options.write(true).create_new(true),
        WriteMode::Overwrite => options.write(true).create(true).truncate(true),
        WriteMode::Append => options.append(true).create(true),
    };
    let mut file = options.open(path.full()).map_err(|error| {
        if args.mode == WriteMode::Create && error.kind() == ErrorKind::AlreadyExists {
            ToolError::result(format!(
                "cannot create `{shown}`: it already exists (use `mode: \"overwrite\"` to replace it or `\"append\"` to add to it)"
            ))
        } else {
            io_error("write", &shown, &error)
        }
    })?;
    file.write_all(&bytes)
        .map_err(|error| io_error("write", &shown, &error))?;
    let size = file
        .metadata()
        .map_err(|error| io_error("write", &shown, &error))?
        .len();
    Ok(Written {
        path: shown,
        bytes_written: bytes.len() as u64,
        size,
        mode: args.mode,
    })
}

/// `content` as bytes, decoded per `encoding`.
fn decode(content: String, encoding: Encoding) -> Result<Vec<u8>, ToolError> {
    match encoding {
        Encoding::Utf8 => Ok(content.into_bytes()),
        Encoding::Base64 => {
            // Models wrap long base64 across lines; whitespace is never part of the alphabet.
            let compact: String = content
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            LENIENT_BASE64.decode(compact).map_err(|error| {
                ToolError::invalid_arguments(format!("`content` is not valid base64: {error}"))
            })
        }
    }
}

/// Fails unless `folder` exists and is a folder; `action` and `subject` word the message,
/// `hint` says what to do when it is missing.
fn require_folder(
    folder: &Resolved,
    action: &str,
    subject: &str,
    hint: &str,
) -> Result<(), ToolError> {
    let shown = folder.display();
    match fs::metadata(folder.full()) {
        Ok(metadata) if metadata.is_dir() => Ok(()),
        Ok(_) => Err(ToolError::result(format!(
            "cannot {action} `{subject}`: `{shown}` is a file, not a folder"
        ))),
        Err(error) if error.kind() == ErrorKind::NotFound => Err(ToolError::result(format!(
            "cannot {action} `{subject}`: the folder `{shown}` does not exist ({hint})"
        ))),
        Err(error) => Err(io_error(action, subject, &error)),
    }
}

/// Arguments of `list`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListArgs {
    /// The folder to list, relative to the granted folder (default: the granted folder).
    pub path: Option<String>,
    /// List the contents of sub-folders too (default false). Symbolic links to folders are
    /// listed but not followed.
    #[serde(default)]
    pub recursive: bool,
    /// With `recursive`: how many levels to list (default 5, at most 32); 1 lists only the
    /// folder's own entries.
    #[schemars(range(min = 1, max = 32))]
    pub max_depth: Option<u32>,
    /// The most entries to return (default 1000, at most 10000); `truncated` says whether
    /// some were left out.
    #[schemars(range(min = 1, max = 10000))]
    pub limit: Option<u32>,
}

/// One entry of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Entry {
    /// The entry's name.
    pub name: String,
    /// Its path relative to the granted folder, to pass to the other tools.
    pub path: String,
    /// `file`, `dir`, `symlink` (not followed) or `other`.
    pub kind: Kind,
    /// The size in bytes (files only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// When it was last modified (RFC 3339, UTC), if the OS says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
}

/// What `list` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Listing {
    /// The folder listed, relative to the granted folder (`.` for the granted folder).
    pub path: String,
    /// The entries, depth first, sorted by name within each folder.
    pub entries: Vec<Entry>,
    /// Whether entries were left out because `limit` was reached.
    pub truncated: bool,
}

/// Lists a folder in the granted folder: each entry's name, path, kind (file, dir, symlink,
/// other), size and modification time. With `recursive: true` it descends into sub-folders
/// (up to `max_depth` levels); at most `limit` entries come back.
#[tool(title = "List folder", read_only, idempotent)]
pub fn list(#[args] args: ListArgs) -> Result<Listing, ToolError> {
    let root = Root::granted()?;
    let path = root.resolve(args.path.as_deref().unwrap_or("."))?;
    root.check_links(&path, true)?;
    let depth = if args.recursive {
        args.max_depth.unwrap_or(DEFAULT_DEPTH).clamp(1, MAX_DEPTH)
    } else {
        1
    };
    let limit = args.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT) as usize;
    list_folder(&path, depth, limit).map_err(|error| io_error("list", &path.display(), &error))
}

/// The entries of the folder at `path`, `depth` levels deep, at most `limit` of them.
fn list_folder(path: &Resolved, depth: u32, limit: usize) -> std::io::Result<Listing> {
    let mut entries = Vec::new();
    let truncated = walk(path, 1, depth, limit, &mut entries)?;
    Ok(Listing {
        path: path.display(),
        entries,
        truncated,
    })
}

/// Appends the entries of `folder` (level `level` of `depth`) to `entries`, depth first;
/// returns whether `limit` cut the listing short.
fn walk(
    folder: &Resolved,
    level: u32,
    depth: u32,
    limit: usize,
    entries: &mut Vec<Entry>,
) -> std::io::Result<bool> {
    let mut children = Vec::new();
    for entry in fs::read_dir(folder.full())? {
        let entry = entry?;
        // A name that is not UTF-8 is shown lossily; such a path cannot be passed back, but
        // the entry still tells the model it is there.
        let name = entry.file_name().to_string_lossy().into_owned();
        // `DirEntry::metadata` does not follow symbolic links, so a link shows as a link.
        children.push((name, entry.metadata().ok()));
    }
    children.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, metadata) in children {
        if entries.len() >= limit {
            return Ok(true);
        }
        let child = folder.child(&name);
        let kind = metadata
            .as_ref()
            .map_or(Kind::Other, |metadata| Kind::of(metadata.file_type()));
        entries.push(Entry {
            path: child.display(),
            name,
            kind,
            size: metadata
                .as_ref()
                .filter(|metadata| metadata.is_file())
                .map(fs::Metadata::len),
            modified: metadata
                .as_ref()
                .and_then(|metadata| metadata.modified().ok())
                .map(rfc3339),
        });
        // A sub-folder that cannot be read is listed but not descended into: one
        // unreadable folder should not hide everything else.
        if kind == Kind::Dir && level < depth && walk(&child, level + 1, depth, limit, entries)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Creates a folder in the granted folder. With `parents: true` it also creates missing
/// parent folders and accepts a folder that already exists (like `mkdir -p`).
#[tool(title = "Create folder", destructive = false)]
pub fn mkdir(
    /// The folder to create, relative to the granted folder (or absolute under `/workspace`).
    path: String,
    /// Create missing parents too, and succeed if the folder exists (default false).
    parents: Option<bool>,
) -> Result<String, ToolError> {
    let root = Root::granted()?;
    let path = root.resolve(&path)?;
    let shown = path.display();
    root.check_links(&path, true)?;
    if parents.unwrap_or(false) {
        if path.full().is_dir() {
            return Ok(format!("the folder `{shown}` already exists"));
        }
        fs::create_dir_all(path.full())
    } else {
        fs::create_dir(path.full())
    }
    .map_err(|error| io_error("create the folder", &shown, &error))?;
    Ok(format!("created the folder `{shown}`"))
}

/// Deletes a file, a symbolic link (not what it points to) or an empty folder in the granted
/// folder; a folder with contents needs `recursive: true`. The granted folder itself cannot
/// be deleted.
#[tool(title = "Delete", destructive, idempotent)]
pub fn delete(
    /// What to delete, relative to the granted folder (or absolute under `/workspace`).
    path: String,
    /// Delete a folder together with everything in it (default false).
    recursive: Option<bool>,
) -> Result<String, ToolError> {
    let root = Root::granted()?;
    let resolved = root.resolve(&path)?;
    if resolved.is_root() {
        return Err(ToolError::invalid_arguments(format!(
            "`{path}` is the granted folder itself, which cannot be deleted; delete what is inside it instead"
        )));
    }
    let shown = resolved.display();
    // The link itself is deleted, never its target, so the last component is not followed.
    root.check_links(&resolved, false)?;
    let failed = |error: std::io::Error| io_error("delete", &shown, &error);
    let metadata = fs::symlink_metadata(resolved.full()).map_err(failed)?;
    if metadata.is_dir() {
        if recursive.unwrap_or(false) {
            // `remove_dir_all` does not follow symbolic links inside the tree.
            fs::remove_dir_all(resolved.full()).map_err(failed)?;
            Ok(format!("deleted the folder `{shown}` and everything in it"))
        } else {
            fs::remove_dir(resolved.full()).map_err(failed)?;
            Ok(format!("deleted the empty folder `{shown}`"))
        }
    } else {
        fs::remove_file(resolved.full()).map_err(failed)?;
        let what = if metadata.file_type().is_symlink() {
            "symbolic link"
        } else {
            "file"
        };
        Ok(format!("deleted the {what} `{shown}`"))
    }
}

/// Moves or renames a file, folder or symbolic link within the granted folder. `to` is the
/// new path itself, not a folder to move into. An existing `to` is replaced only with
/// `overwrite: true` (and a folder replaces only an empty folder).
#[tool(name = "move", title = "Move", destructive)]
pub fn move_path(
    /// What to move, relative to the granted folder (or absolute under `/workspace`).
    from: String,
    /// Its new path, relative to the granted folder (or absolute under `/workspace`).
    to: String,
    /// Replace `to` if it exists (default false).
    overwrite: Option<bool>,
) -> Result<String, ToolError> {
    let root = Root::granted()?;
    let source = root.resolve(&from)?;
    let target = root.resolve(&to)?;
    if source.is_root() || target.is_root() {
        return Err(ToolError::invalid_arguments(format!(
            "the granted folder itself cannot be moved or replaced (from `{from}` to `{to}`)"
        )));
    }
    let (from, to) = (source.display(), target.display());
    // Both links themselves move or get replaced, so neither last component is followed.
    root.check_links(&source, false)?;
    root.check_links(&target, false)?;
    // The message names both paths: "cannot move `a` to `b`: …".
    let subject = format!("{from}` to `{to}");
    fs::symlink_metadata(source.full()).map_err(|error| io_error("move", &subject, &error))?;
    if source == target {
        return Ok(format!("`{from}` is already there; nothing to do"));
    }
    if source.contains(&target) {
        return Err(ToolError::invalid_arguments(format!(
            "cannot move `{from}` into itself (to `{to}`)"
        )));
    }
    // Checked before renaming because `rename` silently replaces files. Something created at
    // `to` between this check and the rename is still replaced: WASI offers no
    // rename-without-replace, and one client's tool calls do not race each other.
    if fs::symlink_metadata(target.full()).is_ok() && !overwrite.unwrap_or(false) {
        return Err(ToolError::result(format!(
            "cannot move `{from}` to `{to}`: `{to}` already exists (pass `overwrite: true` to replace it)"
        )));
    }
    require_folder(
        &target.parent(&root),
        "move",
        &subject,
        "create it first with `mkdir`",
    )?;
    fs::rename(source.full(), target.full()).map_err(|error| io_error("move", &subject, &error))?;
    Ok(format!("moved `{from}` to `{to}`"))
}

/// What `stat` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Stat {
    /// The path, relative to the granted folder.
    pub path: String,
    /// `file`, `dir`, `symlink` or `other`.
    pub kind: Kind,
    /// The size in bytes (for a folder or a link, what the OS reports).
    pub size: u64,
    /// When it was last modified (RFC 3339, UTC), if the OS says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// When it was created (RFC 3339, UTC), if the OS records it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Whether the OS marks it read-only. Left out under WASI, which has no permission
    /// bits to report; a read-only grant is never reflected here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub readonly: Option<bool>,
    /// For a symbolic link: its target, as stored in the link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// For a file: the MIME type guessed from its extension, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
}

/// Describes a file, folder or symbolic link (the link itself, not its target) in the
/// granted folder: kind, size, modification and creation times, read-only flag.
#[tool(title = "File info", read_only, idempotent)]
pub fn stat(
    /// The path, relative to the granted folder (or absolute under `/workspace`).
    path: String,
) -> Result<Stat, ToolError> {
    let root = Root::granted()?;
    let path = root.resolve(&path)?;
    let shown = path.display();
    root.check_links(&path, false)?;
    let metadata =
        fs::symlink_metadata(path.full()).map_err(|error| io_error("inspect", &shown, &error))?;
    let kind = Kind::of(metadata.file_type());
    Ok(Stat {
        kind,
        size: metadata.len(),
        modified: metadata.modified().ok().map(rfc3339),
        created: metadata.created().ok().map(rfc3339),
        // WASI's std reports every file as read-only, which would mislead.
        readonly: (!cfg!(target_os = "wasi")).then(|| metadata.permissions().readonly()),
        target: (kind == Kind::Symlink)
            .then(|| fs::read_link(path.full()).ok())
            .flatten()
            .map(|target| target.to_string_lossy().into_owned()),
        mime_type: (kind == Kind::File)
            .then(|| mime_type(path.name()))
            .flatten()
            .map(str::to_string),
        path: shown,
    })
}

/// A file in the granted folder by path: text for UTF-8 files, a blob otherwise, with a MIME
/// type guessed from the extension. A folder reads as a listing of its entries, one per line.
/// Files over 8 MiB are refused; read them in pieces with the `read` tool.
#[resource_template(
    uri_template = "file:///workspace/{+path}",
    name = "file",
    title = "File in the granted folder"
)]
pub fn file_resource(path: String) -> Result<ResourceContents, ResourceError> {
    let root = Root::granted()?;
    // A URI outside the root names no resource this plugin has.
    let resolved = root
        .resolve(&path)
        .map_err(|error| ResourceError::not_found(error.message()))?;
    let shown = resolved.display();
    let metadata =
        fs::metadata(resolved.full()).map_err(|error| io_resource_error("read", &shown, &error))?;
    if metadata.is_dir() {
        return folder_text(&root, &resolved)
            .map(|text| ResourceContents::text(text).with_mime_type("text/plain"));
    }
    if metadata.len() > MAX_READ {
        return Err(ResourceError::failed(format!(
            "`{shown}` is {} bytes, over the 8 MiB a resource read returns; read it in pieces with the `read` tool (`offset`, `length`)",
            metadata.len()
        )));
    }
    let bytes = read_chunk(&root, &resolved, 0, None)?.bytes;
    let mime = mime_type(resolved.name());
    // A file whose type says binary stays a blob even if its bytes happen to be UTF-8.
    let binary = mime.is_some_and(|mime| !is_textual(mime));
    match String::from_utf8(bytes) {
        Ok(text) if !binary => {
            Ok(ResourceContents::text(text).with_mime_type(mime.unwrap_or("text/plain")))
        }
        Ok(text) => Ok(blob(text.into_bytes(), mime)),
        Err(error) => Ok(blob(error.into_bytes(), mime)),
    }
}

/// Binary resource contents with `mime`, or `application/octet-stream`.
fn blob(bytes: Vec<u8>, mime: Option<&str>) -> ResourceContents {
    ResourceContents::blob(bytes).with_mime_type(mime.unwrap_or("application/octet-stream"))
}

/// The granted folder's own entries, one per line: folders end in `/`, files show their
/// size. Each line is a path to pass to the tools (or to append to `file:///workspace/`).
#[resource(
    uri = "file:///workspace/",
    name = "workspace",
    title = "The granted folder",
    mime_type = "text/plain"
)]
pub fn workspace_listing() -> Result<String, ResourceError> {
    let root = Root::granted()?;
    let top = root.resolve(".")?;
    folder_text(&root, &top)
}

/// The entries of the folder at `path` as text, one per line.
fn folder_text(root: &Root, path: &Resolved) -> Result<String, ResourceError> {
    root.check_links(path, true)?;
    let listing = list_folder(path, 1, DEFAULT_LIMIT as usize)
        .map_err(|error| io_resource_error("list", &path.display(), &error))?;
    Ok(listing_text(&listing))
}

/// `listing` as text, one entry per line.
fn listing_text(listing: &Listing) -> String {
    if listing.entries.is_empty() {
        return format!("(the folder `{}` is empty)\n", listing.path);
    }
    let mut text = String::new();
    for entry in &listing.entries {
        let line = match (entry.kind, entry.size) {
            (Kind::Dir, _) => format!("{}/", entry.path),
            (Kind::File, Some(size)) => format!("{}  ({size} bytes)", entry.path),
            (Kind::Symlink, _) => format!("{}  (symbolic link)", entry.path),
            _ => entry.path.clone(),
        };
        text.push_str(&line);
        text.push('\n');
    }
    if listing.truncated {
        text.push_str("… more entries left out; use the `list` tool with a larger `limit`\n");
    }
    text
}

berth_plugin_sdk::export!(
    name: "files",
    tools: [read, write, list, mkdir, delete, move_path, stat],
    resources: [workspace_listing],
    templates: [file_resource],
    needs: berth_plugin_sdk::needs::Needs::new().folder(
        "/workspace",
        berth_plugin_sdk::needs::Access::ReadWrite,
        "the folder whose files it reads, writes, lists and moves",
    ),
);

#[cfg(test)]
mod tests;
