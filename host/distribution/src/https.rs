//! Plugins fetched from a web server: a `.wasm` file at an `https://` URL, accepted only
//! under the SHA-256 the config pins it to (`sha256 = "…"`), so nothing unpinned is
//! ever served. It streams into the [`Store`] like a registry blob, under the same size
//! limit and timeouts.

use tokio_util::io::StreamReader;

use crate::digest::Digest;
use crate::error::DistributionError;
use crate::source::HttpsSource;
use crate::store::Store;
use crate::{Options, Pulled};

/// Fetches `source` into `store` unless the store already has `sha256`, and checks
/// that what arrived is exactly that.
pub async fn fetch(
    source: &HttpsSource,
    sha256: &Digest,
    store: &Store,
    options: &Options,
) -> Result<Pulled, DistributionError> {
    let pulled = |path| Pulled {
        manifest: sha256.clone(),
        component: sha256.clone(),
        path,
    };
    if let Some(path) = store.get(sha256) {
        return Ok(pulled(path));
    }
    crate::tls::init();
    let origin = source.to_string();
    let failed = |reason: String| DistributionError::Download {
        origin: origin.clone(),
        reason,
    };
    let client = reqwest::Client::builder()
        .connect_timeout(options.timeout)
        .read_timeout(options.timeout)
        .build()
        .map_err(|e| failed(e.to_string()))?;
    let response = client
        .get(source.url.clone())
        .send()
        .await
        .map_err(|e| failed(e.to_string()))?;
    if !response.status().is_success() {
        return Err(failed(format!("the server answered {}", response.status())));
    }
    if response
        .content_length()
        .is_some_and(|length| length > options.max_bytes)
    {
        return Err(DistributionError::TooLarge {
            origin,
            max_bytes: options.max_bytes,
        });
    }
    if let Some(progress) = &options.progress {
        progress.start(&origin, response.content_length());
    }
    let stream = futures::TryStreamExt::map_err(response.bytes_stream(), std::io::Error::other);
    let mut reader = StreamReader::new(stream);
    let download = store.put(
        &mut reader,
        Some(sha256),
        options.max_bytes,
        &origin,
        options.progress.as_deref(),
    );
    let budget = crate::download_budget(options);
    let (_, path) = tokio::time::timeout(budget, download)
        .await
        .map_err(|_| failed(format!("not finished within {budget:?}")))??;
    if let Some(progress) = &options.progress {
        progress.finish();
    }
    Ok(pulled(path))
}
