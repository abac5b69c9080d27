//! Where a plugin is published, as the config writes it: `oci://REGISTRY/REPO:TAG`,
//! `oci://REGISTRY/REPO@sha256:…`, or `https://…/x.wasm` (whose `sha256` the config
//! must give). A tag must be explicit (no implied `latest`), so what an operator deploys
//! is always what they wrote.

use std::fmt;
use std::str::FromStr;

use crate::digest::Digest;
use crate::error::DistributionError;

/// A plugin source of either kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An artifact in an OCI registry.
    Oci(OciSource),
    /// A `.wasm` file on a web server.
    Https(HttpsSource),
}

impl FromStr for Source {
    type Err = DistributionError;

    fn from_str(text: &str) -> Result<Source, DistributionError> {
        match text.starts_with("https://") || text.starts_with("http://") {
            true => text.parse().map(Source::Https),
            false => text.parse().map(Source::Oci),
        }
    }
}

/// A component file at a URL: `https://` anywhere, plain `http://` only on this
/// machine (where nothing travels over a network).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpsSource {
    /// The URL.
    pub url: reqwest::Url,
}

impl fmt::Display for HttpsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.url)
    }
}

impl FromStr for HttpsSource {
    type Err = DistributionError;

    fn from_str(text: &str) -> Result<HttpsSource, DistributionError> {
        let bad = |why: String| DistributionError::BadSource {
            problem: format!(
                "`{}` is not a plugin source: {why}",
                text.chars().take(200).collect::<String>()
            ),
        };
        let url = reqwest::Url::parse(text).map_err(|e| bad(format!("not a URL ({e})")))?;
        let loopback = url.host_str().is_some_and(is_loopback_host);
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => {
                return Err(bad(
                    "plain http:// is allowed only for a server on this machine; use https://"
                        .into(),
                ));
            }
        }
        if url.host().is_none() || !url.username().is_empty() || url.password().is_some() {
            return Err(bad(
                "it needs a host and no user or password in it (a URL is logged)".into(),
            ));
        }
        Ok(HttpsSource { url })
    }
}

/// Whether `host` (a name, an IP address, or `[IPv6]`) is this machine.
fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// An artifact in an OCI registry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OciSource {
    /// `host` or `host:port`.
    pub registry: String,
    /// The repository path, e.g. `berth/json`.
    pub repository: String,
    /// The tag, unless the source names a digest.
    pub tag: Option<String>,
    /// The manifest digest, when the source pins one.
    pub digest: Option<Digest>,
}

impl OciSource {
    /// The same repository at `digest`.
    pub fn at(&self, digest: &Digest) -> OciSource {
        OciSource {
            tag: None,
            digest: Some(digest.clone()),
            ..self.clone()
        }
    }

    /// Whether the registry is on this machine, where plain HTTP is allowed (as Docker
    /// does for `localhost` registries).
    pub fn is_loopback(&self) -> bool {
        let host = match self.registry.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
            _ => self.registry.as_str(),
        };
        is_loopback_host(host)
    }

    /// `REGISTRY/REPO:TAG` or `REGISTRY/REPO@sha256:…`, as registries' clients write it.
    pub fn reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(digest), _) => format!("{}/{}@{digest}", self.registry, self.repository),
            (None, Some(tag)) => format!("{}/{}:{tag}", self.registry, self.repository),
            (None, None) => format!("{}/{}", self.registry, self.repository),
        }
    }
}

impl fmt::Display for OciSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "oci://{}", self.reference())
    }
}

impl FromStr for OciSource {
    type Err = DistributionError;

    fn from_str(text: &str) -> Result<OciSource, DistributionError> {
        let bad = |why: &str| DistributionError::BadSource {
            problem: format!(
                "`{}` is not a plugin source: {why}; write `oci://REGISTRY/REPOSITORY:TAG` or \
                 `oci://REGISTRY/REPOSITORY@sha256:DIGEST`",
                text.chars().take(200).collect::<String>()
            ),
        };
        let rest = text
            .strip_prefix("oci://")
            .ok_or_else(|| bad("it does not start with `oci://`"))?;
        let (registry, path) = rest
            .split_once('/')
            .ok_or_else(|| bad("it names no repository after the registry"))?;
        if registry.is_empty() || registry.chars().any(|c| c.is_whitespace() || c == '@') {
            return Err(bad("the registry is empty or malformed"));
        }
        let (repository, tag, digest) = match path.split_once('@') {
            Some((repository, digest)) => {
                let digest = digest.parse::<Digest>().map_err(|e| bad(&e))?;
                (repository, None, Some(digest))
            }
            None => match path.rsplit_once(':') {
                Some((repository, tag)) => (repository, Some(tag.to_string()), None),
                None => return Err(bad("it names neither a tag nor a digest")),
            },
        };
        let repository_ok = !repository.is_empty()
            && repository.split('/').all(|part| {
                !part.is_empty()
                    && part.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)
                    })
            });
        if !repository_ok {
            return Err(bad(
                "the repository must be lower-case letters, digits, `.`, `_`, `-` and `/`",
            ));
        }
        if let Some(tag) = &tag {
            let tag_ok = !tag.is_empty()
                && tag.len() <= 128
                && tag
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !tag_ok {
                return Err(bad(
                    "the tag must be 1–128 letters, digits, `.`, `_` or `-`",
                ));
            }
        }
        Ok(OciSource {
            registry: registry.to_string(),
            repository: repository.to_string(),
            tag,
            digest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_name_a_tag_or_a_digest() {
        let tagged: OciSource = "oci://127.0.0.1:5000/berth/json:1.2".parse().unwrap();
        assert_eq!(tagged.registry, "127.0.0.1:5000");
        assert_eq!(tagged.repository, "berth/json");
        assert_eq!(tagged.tag.as_deref(), Some("1.2"));
        assert!(tagged.is_loopback());
        assert_eq!(tagged.to_string(), "oci://127.0.0.1:5000/berth/json:1.2");
        let digest = format!("sha256:{}", "a".repeat(64));
        let pinned: OciSource = format!("oci://ghcr.io/acme/tools@{digest}")
            .parse()
            .unwrap();
        assert_eq!(pinned.digest.unwrap().to_string(), digest);
        assert!(pinned.tag.is_none());
        assert!(
            !"oci://ghcr.io/acme/tools:1"
                .parse::<OciSource>()
                .unwrap()
                .is_loopback()
        );
        assert!(
            "oci://localhost:5000/a:b"
                .parse::<OciSource>()
                .unwrap()
                .is_loopback()
        );
        assert_eq!(
            tagged.at(&digest.parse().unwrap()).reference(),
            format!("127.0.0.1:5000/berth/json@{digest}")
        );
    }

    #[test]
    fn web_sources_are_https_or_on_this_machine() {
        for ok in [
            "https://example.com/plugins/x.wasm",
            "http://127.0.0.1:8080/x.wasm",
            "http://localhost/x.wasm",
        ] {
            assert!(matches!(ok.parse::<Source>(), Ok(Source::Https(_))), "{ok}");
        }
        for (bad, why) in [
            ("http://example.com/x.wasm", "use https://"),
            ("https://user:pw@example.com/x.wasm", "no user or password"),
            ("https://", "not a URL"),
        ] {
            let error = bad.parse::<Source>().unwrap_err().to_string();
            assert!(error.contains(why), "{bad}: {error}");
        }
        assert!(matches!(
            "oci://r.io/a:1".parse::<Source>(),
            Ok(Source::Oci(_))
        ));
    }

    #[test]
    fn bad_sources_say_what_to_write() {
        for (text, why) in [
            ("ftp://example.com/x.wasm", "does not start with `oci://`"),
            ("oci://ghcr.io", "names no repository"),
            ("oci://ghcr.io/acme/tools", "neither a tag nor a digest"),
            ("oci://ghcr.io/Acme/tools:1", "lower-case"),
            ("oci://ghcr.io/acme/tools:", "1–128"),
            ("oci://ghcr.io/acme/tools@sha256:12", "64 hex digits"),
        ] {
            let error = text.parse::<OciSource>().unwrap_err().to_string();
            assert!(
                error.contains(why) && error.contains("oci://REGISTRY"),
                "{text}: {error}"
            );
        }
    }
}
