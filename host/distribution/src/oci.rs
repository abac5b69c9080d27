//! Plugins as OCI artifacts, in the CNCF Wasm layout that `wkg oci push` and `oci-wasm`
//! write: a manifest whose config has media type `application/vnd.wasm.config.v0+json`
//! and whose one layer (`application/wasm`) is the component. The registry protocol is
//! `oci-client`'s; what Berth adds is the checks around it: the manifest is hashed here
//! (never trusted from a header), the layout is checked before any blob is fetched, and
//! the component streams into the [`Store`] under its layer digest. With a key, the
//! manifest's cosign signature is checked ([`crate::signature`]) before any blob is
//! fetched.

use futures::StreamExt as _;
use oci_client::RegistryOperation;
use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::errors::OciDistributionError;
use oci_client::manifest::{OCI_IMAGE_MEDIA_TYPE, OciImageManifest};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use sha2::{Digest as _, Sha256};
use tokio_util::io::StreamReader;

use crate::digest::Digest;
use crate::error::DistributionError;
use crate::signature::{PublicKey, SigningKey};
use crate::source::OciSource;
use crate::store::Store;
use crate::{Options, Pulled};

/// The config media type of a Wasm component artifact.
pub const WASM_CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// The media type of the component layer.
pub const WASM_LAYER_MEDIA_TYPE: &str = "application/wasm";
/// How much of a component goes up per request.
const PUSH_CHUNK: usize = 1024 * 1024;

/// A client for `source`'s registry: HTTPS, except plain HTTP for a registry on this
/// machine or one the operator listed as insecure.
fn client(source: &OciSource, options: &Options) -> Client {
    crate::tls::init();
    let plain = source.is_loopback() || options.insecure_registries.contains(&source.registry);
    let protocol = match plain {
        true => ClientProtocol::HttpsExcept(vec![source.registry.clone()]),
        false => ClientProtocol::Https,
    };
    Client::new(ClientConfig {
        protocol,
        connect_timeout: Some(options.timeout),
        read_timeout: Some(options.timeout),
        ..ClientConfig::default()
    })
}

/// A client for `source`'s registry and the sign-in to use with it.
async fn session(
    source: &OciSource,
    options: &Options,
) -> Result<(Client, RegistryAuth), DistributionError> {
    let auth = crate::auth::for_registry(&source.registry, &options.credentials).await?;
    Ok((client(source, options), auth))
}

pub(crate) fn reference(source: &OciSource) -> Result<Reference, DistributionError> {
    source
        .reference()
        .parse()
        .map_err(|e: oci_client::ParseError| DistributionError::BadSource {
            problem: format!("{source} is not a valid OCI reference: {e}"),
        })
}

/// Whether the registry said the manifest or repository does not exist.
pub(crate) fn is_not_found(error: &OciDistributionError) -> bool {
    use oci_client::errors::OciErrorCode as Code;
    match error {
        OciDistributionError::ImageManifestNotFoundError(_) => true,
        OciDistributionError::ServerError { code, .. } => *code == 404,
        OciDistributionError::RegistryError { envelope, .. } => envelope.errors.iter().any(|e| {
            matches!(
                e.code,
                Code::ManifestUnknown | Code::NameUnknown | Code::NotFound
            )
        }),
        _ => false,
    }
}

fn registry_error(source: &OciSource) -> impl Fn(OciDistributionError) -> DistributionError {
    let origin = source.to_string();
    let registry = source.registry.clone();
    move |e| {
        let refused = match &e {
            OciDistributionError::UnauthorizedError { .. }
            | OciDistributionError::AuthenticationFailure(_) => true,
            OciDistributionError::ServerError { code, .. } => matches!(code, 401 | 403),
            OciDistributionError::RegistryError { envelope, .. } => {
                envelope.errors.iter().any(|e| {
                    matches!(
                        e.code,
                        oci_client::errors::OciErrorCode::Unauthorized
                            | oci_client::errors::OciErrorCode::Denied
                    )
                })
            }
            _ => false,
        };
        let hint = match refused {
            true => format!(
                " (the registry wants other credentials: name them in \
                 [distribution.credentials.\"{registry}\"] or `docker login {registry}`)"
            ),
            false => String::new(),
        };
        // reqwest's own message ("error sending request") hides why; its causes say it.
        let mut reason = e.to_string();
        let mut cause = std::error::Error::source(&e);
        while let Some(inner) = cause {
            let text = inner.to_string();
            if !reason.contains(&text) {
                reason = format!("{reason}: {text}");
            }
            cause = inner.source();
        }
        DistributionError::Registry {
            origin: origin.clone(),
            reason: format!("{reason}{hint}"),
        }
    }
}

/// The manifest `source` names now, as bytes and their digest.
async fn manifest(
    client: &Client,
    auth: &RegistryAuth,
    source: &OciSource,
    options: &Options,
) -> Result<(Vec<u8>, Digest), DistributionError> {
    let reference = reference(source)?;
    let (bytes, _) = tokio::time::timeout(
        options.timeout,
        client.pull_manifest_raw(&reference, auth, &[OCI_IMAGE_MEDIA_TYPE]),
    )
    .await
    .map_err(|_| DistributionError::Registry {
        origin: source.to_string(),
        reason: format!("no manifest within {:?}", options.timeout),
    })?
    .map_err(registry_error(source))?;
    let digest = Digest::from_sha256(Sha256::digest(&bytes).into());
    Ok((bytes.to_vec(), digest))
}

/// Fetches `source`'s component into `store` (unless it is there already) and returns
/// the digests it was found under. A source that names a digest must have exactly that
/// manifest; with a `key`, the manifest must carry a cosign signature by it, checked
/// before the component is fetched.
pub async fn pull(
    source: &OciSource,
    store: &Store,
    options: &Options,
    key: Option<&PublicKey>,
) -> Result<Pulled, DistributionError> {
    let origin = source.to_string();
    let reference = reference(source)?;
    let (client, auth) = session(source, options).await?;
    let (bytes, manifest_digest) = manifest(&client, &auth, source, options).await?;
    if let Some(pinned) = &source.digest
        && *pinned != manifest_digest
    {
        return Err(DistributionError::DigestMismatch {
            origin,
            expected: pinned.clone(),
            found: manifest_digest,
        });
    }
    if let Some(key) = key {
        within(
            options,
            source,
            crate::signature::verify(&client, &auth, source, &manifest_digest, key),
        )
        .await?;
    }
    let not_wasm = |reason: String| DistributionError::NotWasm {
        origin: origin.clone(),
        reason,
    };
    let manifest: OciImageManifest = serde_json::from_slice(&bytes)
        .map_err(|e| not_wasm(format!("its manifest is not an OCI image manifest ({e})")))?;
    if manifest.config.media_type != WASM_CONFIG_MEDIA_TYPE {
        return Err(not_wasm(format!(
            "its config has media type `{}`, not `{WASM_CONFIG_MEDIA_TYPE}`",
            manifest.config.media_type
        )));
    }
    let [layer] = manifest.layers.as_slice() else {
        return Err(not_wasm(format!(
            "it has {} layers; a component artifact has exactly one",
            manifest.layers.len()
        )));
    };
    if layer.media_type != WASM_LAYER_MEDIA_TYPE {
        return Err(not_wasm(format!(
            "its layer has media type `{}`, not `{WASM_LAYER_MEDIA_TYPE}`",
            layer.media_type
        )));
    }
    if u64::try_from(layer.size).unwrap_or(u64::MAX) > options.max_bytes {
        return Err(DistributionError::TooLarge {
            origin,
            max_bytes: options.max_bytes,
        });
    }
    let component: Digest = layer
        .digest
        .parse()
        .map_err(|e: String| not_wasm(format!("its layer digest is unusable: {e}")))?;
    if let Some(path) = store.get(&component) {
        return Ok(Pulled {
            manifest: manifest_digest,
            component,
            path,
        });
    }
    let stream = client
        .pull_blob_stream(&reference, layer)
        .await
        .map_err(registry_error(source))?;
    let mut reader = StreamReader::new(stream);
    if let Some(progress) = &options.progress {
        progress.start(&origin, u64::try_from(layer.size).ok());
    }
    let download = store.put(
        &mut reader,
        Some(&component),
        options.max_bytes,
        &origin,
        options.progress.as_deref(),
    );
    let budget = crate::download_budget(options);
    let (_, path) = tokio::time::timeout(budget, download).await.map_err(|_| {
        DistributionError::Download {
            origin: origin.clone(),
            reason: format!("not finished within {budget:?}"),
        }
    })??;
    if let Some(progress) = &options.progress {
        progress.finish();
    }
    Ok(Pulled {
        manifest: manifest_digest,
        component,
        path,
    })
}

/// Publishes `component` (a `.wasm` component's bytes) as `target`, which must name a
/// tag, and returns the digest of the manifest pushed.
pub async fn push(
    component: Vec<u8>,
    target: &OciSource,
    options: &Options,
) -> Result<Digest, DistributionError> {
    if target.tag.is_none() {
        return Err(DistributionError::BadSource {
            problem: format!("{target} names a digest; push to a tag (`…:1.0.0`)"),
        });
    }
    let is_component = component.get(..4) == Some(b"\0asm")
        && component.get(6..8).is_some_and(|layer| layer != [0, 0]);
    if !is_component {
        return Err(DistributionError::NotWasm {
            origin: target.to_string(),
            reason: "the file is not a WebAssembly component".into(),
        });
    }
    let layer_digest = Digest::from_sha256(Sha256::digest(&component).into());
    let config = serde_json::json!({
        "architecture": "wasm",
        "os": "wasip2",
        "layerDigests": [layer_digest.to_string()],
    });
    let reference = reference(target)?;
    let (client, auth) = session(target, options).await?;
    let config = Config::new(
        serde_json::to_vec(&config).unwrap_or_default(),
        WASM_CONFIG_MEDIA_TYPE.to_string(),
        None,
    );
    let layer = ImageLayer::new(component, WASM_LAYER_MEDIA_TYPE.to_string(), None);
    let artifact = OciImageManifest::build(std::slice::from_ref(&layer), &config, None);
    let failed = registry_error(target);
    client
        .auth(&reference, &auth, RegistryOperation::Push)
        .await
        .map_err(&failed)?;
    // The component goes up in chunks so a progress bar can follow it; the config is
    // a few bytes.
    if let Some(progress) = &options.progress {
        progress.start(&target.to_string(), Some(layer.data.len() as u64));
    }
    let progress = options.progress.clone();
    let chunks = layer
        .data
        .chunks(PUSH_CHUNK)
        .map(|chunk| layer.data.slice_ref(chunk))
        .collect::<Vec<_>>();
    let stream = futures::stream::iter(chunks).map(move |chunk| {
        if let Some(progress) = &progress {
            progress.advance(chunk.len() as u64);
        }
        Ok(chunk)
    });
    client
        .push_blob_stream(&reference, stream, &layer_digest.to_string())
        .await
        .map_err(&failed)?;
    client
        .push_blob(&reference, config.data.clone(), &artifact.config.digest)
        .await
        .map_err(&failed)?;
    client
        .push_manifest(&reference, &artifact.into())
        .await
        .map_err(&failed)?;
    if let Some(progress) = &options.progress {
        progress.finish();
    }
    let (_, digest) = manifest(&client, &auth, target, options).await?;
    Ok(digest)
}

/// Checks that `key` signed the manifest `source` names now (a pinned digest, whose
/// component may already be stored) and returns that manifest's digest.
pub async fn verify(
    source: &OciSource,
    options: &Options,
    key: &PublicKey,
) -> Result<Digest, DistributionError> {
    let (client, auth) = session(source, options).await?;
    let (_, digest) = manifest(&client, &auth, source, options).await?;
    if let Some(pinned) = &source.digest
        && *pinned != digest
    {
        return Err(DistributionError::DigestMismatch {
            origin: source.to_string(),
            expected: pinned.clone(),
            found: digest,
        });
    }
    within(
        options,
        source,
        crate::signature::verify(&client, &auth, source, &digest, key),
    )
    .await?;
    Ok(digest)
}

/// Signs the manifest `source` names now with `key` (a cosign signature in the same
/// repository) and returns its digest.
pub async fn sign(
    source: &OciSource,
    options: &Options,
    key: &SigningKey,
) -> Result<Digest, DistributionError> {
    let (client, auth) = session(source, options).await?;
    let (_, digest) = manifest(&client, &auth, source, options).await?;
    within(
        options,
        source,
        crate::signature::sign(&client, &auth, source, &digest, key),
    )
    .await?;
    Ok(digest)
}

/// `work` against `source`'s registry, given the timeout.
async fn within<T>(
    options: &Options,
    source: &OciSource,
    work: impl Future<Output = Result<T, DistributionError>>,
) -> Result<T, DistributionError> {
    tokio::time::timeout(options.timeout, work)
        .await
        .map_err(|_| DistributionError::Registry {
            origin: source.to_string(),
            reason: format!("no answer within {:?}", options.timeout),
        })?
}
