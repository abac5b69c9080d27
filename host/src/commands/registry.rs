//! The commands that move plugins between registries and this machine: `berth plugins
//! pull`, `push`, `sign`, `keygen` and `update`. Each returns what to print on stdout;
//! a progress bar goes to stderr when it is a terminal.

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::path::Path;
use std::sync::Arc;

use berth_distribution::{Options, Progress, PublicKey, SigningKey};

use super::CommandError;
use crate::config::Config;

/// The environment variable holding a private key's password, as cosign names it.
const PASSWORD_ENV: &str = "COSIGN_PASSWORD";

/// A progress bar on stderr for pulls and pushes.
#[derive(Debug)]
struct Bar(indicatif::ProgressBar);

impl Progress for Bar {
    fn start(&self, what: &str, total: Option<u64>) {
        self.0.reset();
        self.0.set_length(total.unwrap_or(0));
        self.0.set_message(what.to_string());
    }

    fn advance(&self, bytes: u64) {
        self.0.inc(bytes);
    }

    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// `options` with a progress bar when stderr is a terminal (never in a pipe or a log).
pub(super) fn with_progress(mut options: Options) -> Options {
    if std::io::stderr().is_terminal() {
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        options.progress = Some(Arc::new(Bar(bar)));
    }
    options
}

fn password() -> Vec<u8> {
    std::env::var(PASSWORD_ENV).unwrap_or_default().into_bytes()
}

/// `berth plugins pull REF [--key cosign.pub]`: fetches `reference` into the store
/// `config` names (checking its signature with `key`, if given) and returns what to
/// print.
pub async fn pull(
    reference: &str,
    config: Option<&Path>,
    key: Option<&Path>,
) -> Result<String, CommandError> {
    let config = Config::load(config, &[])?;
    let source: berth_distribution::OciSource = reference.parse()?;
    let store = crate::sources::store(&config)?;
    let key = key.map(PublicKey::load).transpose()?;
    let options = with_progress(crate::sources::options(&config));
    let pulled = berth_distribution::oci::pull(&source, &store, &options, key.as_ref()).await?;
    let mut out = format!(
        "{source}\n  manifest  {}\n  component {}\n  stored at {}",
        pulled.manifest,
        pulled.component,
        pulled.path.display()
    );
    if let Some(key) = key {
        let _ = write!(out, "\n  signed by {}", key.path().display());
    }
    Ok(out)
}

/// `berth plugins push FILE REF [--sign cosign.key]`: publishes `file` as `reference`
/// (and signs it) and returns what to print.
pub async fn push(
    file: &Path,
    reference: &str,
    config: Option<&Path>,
    sign_with: Option<&Path>,
) -> Result<String, CommandError> {
    let config = Config::load(config, &[])?;
    let target: berth_distribution::OciSource = reference.parse()?;
    // The key is opened before anything is published, so a wrong password publishes
    // nothing unsigned.
    let key = sign_with
        .map(|path| SigningKey::load(path, &password()))
        .transpose()?;
    let bytes = std::fs::read(file).map_err(|source| CommandError::Read {
        path: file.to_path_buf(),
        source,
    })?;
    let options = with_progress(crate::sources::options(&config));
    let digest = berth_distribution::oci::push(bytes, &target, &options).await?;
    let pinned = target.at(&digest);
    let mut out = format!("pushed {target}\n  manifest {digest}");
    if let Some(key) = key {
        berth_distribution::oci::sign(&pinned, &options, &key).await?;
        let _ = write!(
            out,
            "\n  signed   {}",
            berth_distribution::signature::signature_tag(&digest)
        );
    }
    let _ = write!(
        out,
        "\n  pin it with source = \"oci://{}\"",
        pinned.reference()
    );
    Ok(out)
}

/// `berth plugins sign REF --key cosign.key`: signs what `reference` names now and
/// returns what to print.
pub async fn sign(
    reference: &str,
    key: &Path,
    config: Option<&Path>,
) -> Result<String, CommandError> {
    let config = Config::load(config, &[])?;
    let source: berth_distribution::OciSource = reference.parse()?;
    let key = SigningKey::load(key, &password())?;
    let digest =
        berth_distribution::oci::sign(&source, &crate::sources::options(&config), &key).await?;
    Ok(format!(
        "signed {source}\n  manifest  {digest}\n  signature {}",
        berth_distribution::signature::signature_tag(&digest)
    ))
}

/// `berth plugins keygen [DIR]`: writes a new key pair, `cosign.key` (encrypted with
/// `COSIGN_PASSWORD`) and `cosign.pub`, into `dir`, refusing to overwrite either.
pub fn keygen(dir: &Path) -> Result<String, CommandError> {
    let private_path = dir.join("cosign.key");
    let public_path = dir.join("cosign.pub");
    for path in [&private_path, &public_path] {
        if path.exists() {
            return Err(CommandError::Exists {
                path: path.to_path_buf(),
            });
        }
    }
    let key = SigningKey::generate()?;
    let (private, public) = key.to_pem(&password())?;
    let write = |path: &Path, text: &str, private: bool| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if private {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        options
            .open(path)
            .and_then(|mut file| std::io::Write::write_all(&mut file, text.as_bytes()))
            .map_err(|source| CommandError::Write {
                path: path.to_path_buf(),
                source,
            })
    };
    write(&private_path, &private, true)?;
    write(&public_path, &public, false)?;
    let mut out = format!(
        "private key {} (sign with it: keep it secret)\npublic key  {} (give it to servers: \
         verify = {{ cosign_key = \"cosign.pub\" }})",
        private_path.display(),
        public_path.display()
    );
    if std::env::var_os(PASSWORD_ENV).is_none() {
        let _ = write!(
            out,
            "\nnote: {PASSWORD_ENV} was not set, so the private key has an empty password"
        );
    }
    Ok(out)
}

/// `berth plugins update [NAME]`: re-resolves the sources of `config_file`'s plugins
/// (or of `name` only), pins what they name now in `berth.lock` (checking signatures
/// where a key is configured), and returns one `name: old → new` line each. Sources
/// that fail keep their old pin.
pub async fn update(name: Option<&str>, config_file: &Path) -> Result<String, CommandError> {
    let config = Config::load(Some(config_file), &[])?;
    let store = crate::sources::store(&config)?;
    let options = with_progress(crate::sources::options(&config));
    let lock_path = berth_distribution::Lock::path_for(config_file);
    let mut lock = berth_distribution::Lock::load(&lock_path)?;
    let sourced = crate::sources::sourced(&config, Some(config_file), |plugin, _| {
        name.is_none_or(|n| n == plugin)
    });
    if sourced.is_empty() {
        return Err(CommandError::Update(match name {
            Some(name) => format!(
                "{} has no `[plugins.{name}] source` to update",
                config_file.display()
            ),
            None => format!("{} names no plugin `source`", config_file.display()),
        }));
    }
    let mut out = String::new();
    let mut failed = Vec::new();
    for plugin in sourced {
        let plugin = match plugin {
            Ok(plugin) => plugin,
            Err((name, _, error)) => {
                failed.push(format!("{name}: {error}"));
                continue;
            }
        };
        let old = lock.plugins.remove(&plugin.name);
        match berth_distribution::resolve(&plugin.wanted(), &mut lock, &store, &options).await {
            Ok((pulled, _)) => {
                let was = old.map_or("(not pinned)".to_string(), |pin| pin.digest);
                let _ = writeln!(out, "{}: {was} → {}", plugin.name, pulled.manifest);
            }
            Err(error) => {
                if let Some(old) = old {
                    lock.plugins.insert(plugin.name.clone(), old);
                }
                failed.push(format!("{}: {error}", plugin.name));
            }
        }
    }
    lock.save(&lock_path)?;
    match failed.is_empty() {
        true => Ok(out.trim_end().to_string()),
        false => Err(CommandError::Update(format!(
            "{out}some sources could not be updated and keep their pins:\n{}",
            failed.join("\n")
        ))),
    }
}
