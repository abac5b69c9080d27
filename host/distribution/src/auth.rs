//! How Berth signs in to a registry. Secrets never sit in the Berth config: it names
//! the environment variables that hold them (`[distribution.credentials."REGISTRY"]`),
//! and without such an entry the user's docker `config.json` (and the credential
//! helpers it names) is asked, as `docker login` left it. Anything else is anonymous.
//!
//! The docker side is the `docker_credential` crate; what Berth adds is the order of
//! the lookups and errors that say which variable or file to fix.

use std::collections::BTreeMap;
use std::path::PathBuf;

use oci_client::secrets::RegistryAuth;

use crate::error::DistributionError;

/// Where the credentials for one registry come from: environment variables named in
/// the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// HTTP basic sign-in (which registries like ghcr.io and Docker Hub trade for a
    /// bearer token on their own).
    Basic {
        /// The variable holding the user name.
        username_env: String,
        /// The variable holding the password or access token.
        password_env: String,
    },
    /// A bearer token sent as it is.
    Bearer {
        /// The variable holding the token.
        token_env: String,
    },
}

/// Credentials by registry (`host` or `host:port`).
pub type Credentials = BTreeMap<String, Credential>;

/// The sign-in for `registry`: the config's entry for it, else the docker config's,
/// else anonymous.
pub async fn for_registry(
    registry: &str,
    credentials: &Credentials,
) -> Result<RegistryAuth, DistributionError> {
    if let Some(credential) = credentials.get(registry) {
        return from_env(registry, credential);
    }
    let registry = registry.to_string();
    // A credential helper is a process Berth waits for.
    tokio::task::spawn_blocking(move || from_docker_config(&registry))
        .await
        .unwrap_or(Ok(RegistryAuth::Anonymous))
}

fn from_env(registry: &str, credential: &Credential) -> Result<RegistryAuth, DistributionError> {
    let read = |variable: &str| {
        std::env::var(variable)
            .ok()
            .filter(|value| !value.is_empty())
            .ok_or_else(|| DistributionError::Credentials {
                registry: registry.to_string(),
                problem: format!(
                    "the environment variable `{variable}` named in \
                     [distribution.credentials.\"{registry}\"] is not set"
                ),
            })
    };
    Ok(match credential {
        Credential::Basic {
            username_env,
            password_env,
        } => RegistryAuth::Basic(read(username_env)?, read(password_env)?),
        Credential::Bearer { token_env } => RegistryAuth::Bearer(read(token_env)?),
    })
}

/// The docker config's folder, as docker finds it.
fn docker_config_file() -> Option<PathBuf> {
    std::env::var_os("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker")))
        .map(|dir| dir.join("config.json"))
}

fn from_docker_config(registry: &str) -> Result<RegistryAuth, DistributionError> {
    use docker_credential::{CredentialRetrievalError as E, DockerCredential};
    let Some(file) = docker_config_file().filter(|f| f.is_file()) else {
        return Ok(RegistryAuth::Anonymous);
    };
    match docker_credential::get_credential(registry) {
        Ok(DockerCredential::UsernamePassword(username, password)) => {
            Ok(RegistryAuth::Basic(username, password))
        }
        Ok(DockerCredential::IdentityToken(_)) => Err(DistributionError::Credentials {
            registry: registry.to_string(),
            problem: format!(
                "{} holds an identity token for it, which Berth cannot use; name a user \
                 and password (or a token) in [distribution.credentials.\"{registry}\"] instead",
                file.display()
            ),
        }),
        Err(E::NoCredentialConfigured) => Ok(RegistryAuth::Anonymous),
        Err(error) => Err(DistributionError::Credentials {
            registry: registry.to_string(),
            problem: format!("{} could not be used: {error}", file.display()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn configured_variables_must_be_set() {
        let mut credentials = Credentials::new();
        credentials.insert(
            "r.example:5000".into(),
            Credential::Bearer {
                token_env: "BERTH_TEST_SURELY_UNSET_TOKEN".into(),
            },
        );
        let error = for_registry("r.example:5000", &credentials)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("BERTH_TEST_SURELY_UNSET_TOKEN")
                && error.contains("[distribution.credentials.\"r.example:5000\"]"),
            "{error}"
        );
        // PATH is set everywhere: it stands in for a token here.
        credentials.insert(
            "r.example:5000".into(),
            Credential::Bearer {
                token_env: "PATH".into(),
            },
        );
        let auth = for_registry("r.example:5000", &credentials).await.unwrap();
        assert!(matches!(auth, RegistryAuth::Bearer(t) if t == std::env::var("PATH").unwrap()));
    }
}
