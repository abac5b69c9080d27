//! Plugins as OCI artifacts, in the CNCF Wasm layout that `wkg oci push` and `oci-wasm`
//! write: a manifest whose config has media type `application/vnd.wasm.config.v0+json`
//! and whose one layer (`application/wasm`) is the component. The registry protocol is
//! `oci-client`'s; what Berth adds is the checks around it: the manifest is hashed here
//! (never trusted from a header), the layout is checked before any blob is fetched, and
//! the component streams into the [`Store`] under its layer digest.

use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::manifest::{OCI_IMAGE_MEDIA_TYPE, OciImageManifest};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use sha2::{Digest as _, Sha256};
use tokio_util::io::StreamReader;

use crate::digest::Digest;
use crate::error::DistributionError;
use crate::source::OciSource;
use crate::store::Store;
use crate::{Options, Pulled};

/// The config media type of a Wasm component artifact.
pub const WASM_CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// The media type of the component layer.
pub const WASM_LAYER_MEDIA_TYPE: &str = "application/wasm";

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

fn reference(source: &OciSource) -> Result<Reference, DistributionError> {
    source
        .reference()
        .parse()
        .map_err(|e: oci_client::ParseError| DistributionError::BadSource {
            problem: format!("{source} is not a valid OCI reference: {e}"),
        })
}

fn registry_error(
    source: &OciSource,
) -> impl Fn(oci_client::errors::OciDistributionError) -> DistributionError {
    let origin = source.to_string();
    move |e| DistributionError::Registry {
        origin: origin.clone(),
        reason: e.to_string(),
    }
}

/// Fetches `source`'s component into `store` (unless it is there already) and returns
/// the digests it was found under. A source that names a digest must have exactly that
/// manifest.
pub async fn pull(
    source: &OciSource,
    store: &Store,
    options: &Options,
) -> Result<Pulled, DistributionError> {
    let origin = source.to_string();
    let client = client(source, options);
    let reference = reference(source)?;
    let auth = RegistryAuth::Anonymous;
    let (bytes, _) = tokio::time::timeout(
        options.timeout,
        client.pull_manifest_raw(&reference, &auth, &[OCI_IMAGE_MEDIA_TYPE]),
    )
    .await
    .map_err(|_| DistributionError::Registry {
        origin: origin.clone(),
        reason: format!("no manifest within {:?}", options.timeout),
    })?
    .map_err(registry_error(source))?;
    let manifest_digest = Digest::from_sha256(Sha256::digest(&bytes).into());
    if let Some(pinned) = &source.digest
        && *pinned != manifest_digest
    {
        return Err(DistributionError::DigestMismatch {
            origin,
            expected: pinned.clone(),
            found: manifest_digest,
        });
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
    let download = store.put(&mut reader, Some(&component), options.max_bytes, &origin);
    // A registry that stops sending must not hold a start-up for ever: the whole blob
    // gets the timeout once more per 10 MB it may have.
    let budget =
        options.timeout * (1 + u32::try_from(options.max_bytes / 10_000_000).unwrap_or(u32::MAX));
    let (_, path) = tokio::time::timeout(budget, download).await.map_err(|_| {
        DistributionError::Download {
            origin: origin.clone(),
            reason: format!("not finished within {budget:?}"),
        }
    })??;
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
    let client = client(target, options);
    let reference = reference(target)?;
    client
        .push(
            &reference,
            &[ImageLayer::new(
                component,
                WASM_LAYER_MEDIA_TYPE.to_string(),
                None,
            )],
            Config::new(
                serde_json::to_vec(&config).unwrap_or_default(),
                WASM_CONFIG_MEDIA_TYPE.to_string(),
                None,
            ),
            &RegistryAuth::Anonymous,
            None,
        )
        .await
        .map_err(registry_error(target))?;
    let (bytes, _) = client
        .pull_manifest_raw(
            &reference,
            &RegistryAuth::Anonymous,
            &[OCI_IMAGE_MEDIA_TYPE],
        )
        .await
        .map_err(registry_error(target))?;
    Ok(Digest::from_sha256(Sha256::digest(&bytes).into()))
}
