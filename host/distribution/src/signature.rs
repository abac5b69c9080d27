//! Cosign signatures on plugin artifacts, checked offline against a public key before
//! any blob of the plugin is pulled.
//!
//! The layout is cosign's: the signatures of manifest `sha256:HEX` are an OCI artifact
//! tagged `sha256-HEX.sig` in the same repository, each layer a "simple signing"
//! payload (`application/vnd.dev.cosign.simplesigning.v1+json`) whose annotation
//! `dev.cosignproject.cosign/signature` is the base64 signature of the payload's bytes.
//! A signature counts when the key verifies it *and* the payload names the manifest
//! digest being served, so a signature cannot be moved to other content. Keys and the
//! signature maths are the `sigstore` crate's; what is here is fetching, the claim
//! check, and errors that name the reference, the digest and the reason.
//!
//! Keyless signing (Fulcio certificates, Rekor transparency log) is not checked; a key
//! is required.

use std::path::{Path, PathBuf};

use oci_client::client::{Config, ImageLayer};
use oci_client::manifest::{IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_MEDIA_TYPE, OciImageManifest};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use sigstore::crypto::{
    CosignVerificationKey, SigStoreSigner, Signature, SigningScheme, signing_key::SigStoreKeyPair,
};

use crate::digest::Digest;
use crate::error::DistributionError;
use crate::source::OciSource;

/// The media type of a cosign signature payload.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The layer annotation that holds the base64 signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
const PAYLOAD_TYPE: &str = "cosign container image signature";
/// A payload is a few hundred bytes; anything far larger is not a signature.
const MAX_PAYLOAD_BYTES: i64 = 64 * 1024;
/// The signature manifests tried, newest first; a repository rarely has more.
const MAX_SIGNATURES: usize = 16;

/// A public key that plugin signatures are checked against (`cosign.pub`).
pub struct PublicKey {
    key: CosignVerificationKey,
    id: Digest,
    path: PathBuf,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKey")
            .field("path", &self.path)
            .field("id", &self.id)
            .finish()
    }
}

impl PublicKey {
    /// Reads a PEM public key (ECDSA P-256/P-384 or Ed25519, as `cosign generate-key-pair`
    /// or `berth plugins keygen` write them).
    pub fn load(path: &Path) -> Result<PublicKey, DistributionError> {
        let bad = |problem: String| DistributionError::Key {
            path: path.to_path_buf(),
            problem,
        };
        let pem = std::fs::read(path).map_err(|e| bad(format!("cannot be read: {e}")))?;
        PublicKey::from_pem(&pem).map_err(bad).map(|key| PublicKey {
            path: path.to_path_buf(),
            ..key
        })
    }

    fn from_pem(pem: &[u8]) -> Result<PublicKey, String> {
        let key = CosignVerificationKey::try_from_pem(pem)
            .map_err(|e| format!("is not a PEM public key cosign uses: {e}"))?;
        Ok(PublicKey {
            key,
            // The same key written with other line breaks is the same key.
            id: Digest::from_sha256(
                Sha256::digest(
                    pem.iter()
                        .copied()
                        .filter(|b| !b.is_ascii_whitespace())
                        .collect::<Vec<u8>>(),
                )
                .into(),
            ),
            path: PathBuf::new(),
        })
    }

    /// A short name for the key: the digest of its PEM text (without white space),
    /// recorded in the lock file beside the pins it verified.
    pub fn id(&self) -> &Digest {
        &self.id
    }

    /// The file the key came from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A private key that signs plugin artifacts (`cosign.key`).
pub struct SigningKey {
    signer: SigStoreSigner,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

impl SigningKey {
    /// A new ECDSA P-256 key, cosign's default.
    pub fn generate() -> Result<SigningKey, DistributionError> {
        let signer = SigningScheme::ECDSA_P256_SHA256_ASN1
            .create_signer()
            .map_err(|e| DistributionError::Key {
                path: PathBuf::new(),
                problem: format!("could not be generated: {e}"),
            })?;
        Ok(SigningKey { signer })
    }

    /// Reads an encrypted PEM private key as cosign writes it, with `password` (cosign's
    /// `COSIGN_PASSWORD`).
    pub fn load(path: &Path, password: &[u8]) -> Result<SigningKey, DistributionError> {
        let bad = |problem: String| DistributionError::Key {
            path: path.to_path_buf(),
            problem,
        };
        let pem = std::fs::read(path).map_err(|e| bad(format!("cannot be read: {e}")))?;
        let pair = SigStoreKeyPair::from_encrypted_pem(&pem, password).map_err(|e| {
            bad(format!(
                "cannot be opened ({e}); is it an encrypted cosign private key, and is \
                 COSIGN_PASSWORD its password?"
            ))
        })?;
        [
            SigningScheme::ECDSA_P256_SHA256_ASN1,
            SigningScheme::ECDSA_P384_SHA384_ASN1,
            SigningScheme::ED25519,
        ]
        .iter()
        .find_map(|scheme| pair.to_sigstore_signer(scheme).ok())
        .map(|signer| SigningKey { signer })
        .ok_or_else(|| bad("is not an ECDSA P-256/P-384 or Ed25519 key".into()))
    }

    /// The private key as encrypted PEM (under `password`) and the public key as PEM.
    pub fn to_pem(&self, password: &[u8]) -> Result<(String, String), DistributionError> {
        let failed = |e: sigstore::errors::SigstoreError| DistributionError::Key {
            path: PathBuf::new(),
            problem: format!("could not be written: {e}"),
        };
        let pair = self.signer.to_sigstore_keypair().map_err(failed)?;
        let private = pair
            .private_key_to_encrypted_pem(password)
            .map_err(failed)?;
        let public = pair.public_key_to_pem().map_err(failed)?;
        Ok((private.to_string(), public))
    }

    /// The public half.
    pub fn public_key(&self) -> Result<PublicKey, DistributionError> {
        let (_, public) = self.to_pem(b"")?;
        PublicKey::from_pem(public.as_bytes()).map_err(|problem| DistributionError::Key {
            path: PathBuf::new(),
            problem,
        })
    }
}

/// The payload cosign signs: which manifest digest the signature vouches for.
#[derive(Debug, Serialize, Deserialize)]
struct SimpleSigning {
    critical: Critical,
    #[serde(default)]
    optional: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Critical {
    identity: Identity,
    image: Image,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Identity {
    #[serde(rename = "docker-reference")]
    docker_reference: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Image {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

/// The tag cosign keeps the signatures of `manifest` under.
pub fn signature_tag(manifest: &Digest) -> String {
    format!("sha256-{}.sig", manifest.hex())
}

fn signatures_of(source: &OciSource, manifest: &Digest) -> OciSource {
    OciSource {
        tag: Some(signature_tag(manifest)),
        digest: None,
        ..source.clone()
    }
}

/// Checks that `key` signed `manifest`, the manifest `source` resolved to. `client`
/// and `auth` are the ones the pull uses.
pub(crate) async fn verify(
    client: &Client,
    auth: &RegistryAuth,
    source: &OciSource,
    manifest: &Digest,
    key: &PublicKey,
) -> Result<(), DistributionError> {
    let refuse = |reason: String| DistributionError::Signature {
        origin: source.to_string(),
        digest: manifest.clone(),
        reason,
    };
    let signatures = signatures_of(source, manifest);
    let reference: Reference = crate::oci::reference(&signatures)?;
    let bytes = match client
        .pull_manifest_raw(
            &reference,
            auth,
            &[OCI_IMAGE_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE],
        )
        .await
    {
        Ok((bytes, _)) => bytes,
        Err(e) if crate::oci::is_not_found(&e) => {
            return Err(refuse(format!(
                "it is not signed (no `{}` in the repository)",
                signature_tag(manifest)
            )));
        }
        Err(e) => {
            return Err(refuse(format!("its signatures could not be fetched: {e}")));
        }
    };
    let listed: OciImageManifest = serde_json::from_slice(&bytes)
        .map_err(|e| refuse(format!("its signature manifest is unreadable: {e}")))?;
    let mut reasons = Vec::new();
    for layer in listed
        .layers
        .iter()
        .filter(|l| l.media_type == SIMPLE_SIGNING_MEDIA_TYPE)
        .take(MAX_SIGNATURES)
    {
        let Some(signature) = layer
            .annotations
            .as_ref()
            .and_then(|a| a.get(SIGNATURE_ANNOTATION))
        else {
            reasons.push("a signature layer has no signature annotation".to_string());
            continue;
        };
        if layer.size > MAX_PAYLOAD_BYTES {
            reasons.push(format!("a signature payload is {} bytes", layer.size));
            continue;
        }
        let mut payload = Vec::new();
        if let Err(e) = client.pull_blob(&reference, layer, &mut payload).await {
            reasons.push(format!("a signature payload could not be fetched: {e}"));
            continue;
        }
        if Digest::from_sha256(Sha256::digest(&payload).into()).to_string() != layer.digest {
            reasons.push("a signature payload does not match its digest".into());
            continue;
        }
        if key
            .key
            .verify_signature(Signature::Base64Encoded(signature.as_bytes()), &payload)
            .is_err()
        {
            reasons.push(format!(
                "a signature does not verify with the key {}",
                key.path.display()
            ));
            continue;
        }
        let claims: SimpleSigning = match serde_json::from_slice(&payload) {
            Ok(claims) => claims,
            Err(e) => {
                reasons.push(format!("a signed payload is not cosign's: {e}"));
                continue;
            }
        };
        if claims.critical.kind != PAYLOAD_TYPE {
            reasons.push(format!(
                "a signed payload has type `{}`",
                claims.critical.kind
            ));
            continue;
        }
        if claims.critical.image.docker_manifest_digest != manifest.to_string() {
            reasons.push(format!(
                "a signature by this key is for {}, not this digest",
                claims.critical.image.docker_manifest_digest
            ));
            continue;
        }
        return Ok(());
    }
    if reasons.is_empty() {
        reasons.push(format!(
            "`{}` holds no cosign signature",
            signature_tag(manifest)
        ));
    }
    reasons.dedup();
    Err(refuse(reasons.join("; ")))
}

/// Signs `manifest` (which `source` names) with `key` and adds the signature to the
/// repository's `sha256-HEX.sig`, keeping any signatures already there.
pub(crate) async fn sign(
    client: &Client,
    auth: &RegistryAuth,
    source: &OciSource,
    manifest: &Digest,
    key: &SigningKey,
) -> Result<(), DistributionError> {
    let failed = |reason: String| DistributionError::Registry {
        origin: source.to_string(),
        reason,
    };
    let payload = serde_json::to_vec(&SimpleSigning {
        critical: Critical {
            identity: Identity {
                docker_reference: format!("{}/{}", source.registry, source.repository),
            },
            image: Image {
                docker_manifest_digest: manifest.to_string(),
            },
            kind: PAYLOAD_TYPE.to_string(),
        },
        optional: None,
    })
    .map_err(|e| failed(e.to_string()))?;
    let signature = key
        .signer
        .sign(&payload)
        .map_err(|e| failed(format!("signing failed: {e}")))?;
    let encoded = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(signature)
    };
    let signatures = signatures_of(source, manifest);
    let reference = crate::oci::reference(&signatures)?;
    // Signatures already there stay: several keys may sign one plugin.
    let mut layers = Vec::new();
    if let Ok((bytes, _)) = client
        .pull_manifest_raw(&reference, auth, &[OCI_IMAGE_MEDIA_TYPE])
        .await
        && let Ok(existing) = serde_json::from_slice::<OciImageManifest>(&bytes)
    {
        for layer in existing
            .layers
            .iter()
            .filter(|l| l.media_type == SIMPLE_SIGNING_MEDIA_TYPE)
            .take(MAX_SIGNATURES - 1)
        {
            let mut data = Vec::new();
            if client.pull_blob(&reference, layer, &mut data).await.is_ok() {
                layers.push(ImageLayer::new(
                    data,
                    layer.media_type.clone(),
                    layer.annotations.clone(),
                ));
            }
        }
    }
    layers.push(ImageLayer::new(
        payload,
        SIMPLE_SIGNING_MEDIA_TYPE.to_string(),
        Some([(SIGNATURE_ANNOTATION.to_string(), encoded)].into()),
    ));
    let config = serde_json::json!({
        "architecture": "",
        "os": "",
        "config": {},
        "rootfs": {
            "type": "layers",
            "diff_ids": layers.iter().map(|l| l.sha256_digest()).collect::<Vec<_>>(),
        },
    });
    client
        .push(
            &reference,
            &layers,
            Config::oci_v1(serde_json::to_vec(&config).unwrap_or_default(), None),
            auth,
            None,
        )
        .await
        .map_err(|e| failed(e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_cosign_pem() {
        let key = SigningKey::generate().unwrap();
        let (private, public) = key.to_pem(b"secret").unwrap();
        assert!(private.contains("ENCRYPTED"), "{private}");
        assert!(public.contains("PUBLIC KEY"), "{public}");
        let dir = tempfile::tempdir().unwrap();
        let private_path = dir.path().join("cosign.key");
        std::fs::write(&private_path, &private).unwrap();
        let loaded = SigningKey::load(&private_path, b"secret").unwrap();
        let public_path = dir.path().join("cosign.pub");
        std::fs::write(&public_path, &public).unwrap();
        let public_key = PublicKey::load(&public_path).unwrap();
        let payload = b"a payload";
        let signature = loaded.signer.sign(payload).unwrap();
        public_key
            .key
            .verify_signature(Signature::Raw(&signature), payload)
            .unwrap();
        assert_eq!(loaded.public_key().unwrap().id(), public_key.id());
        let error = SigningKey::load(&private_path, b"wrong").unwrap_err();
        assert!(error.to_string().contains("COSIGN_PASSWORD"), "{error}");
        std::fs::write(&public_path, "not a key").unwrap();
        let error = PublicKey::load(&public_path).unwrap_err().to_string();
        assert!(error.contains("cosign.pub"), "{error}");
    }
}
