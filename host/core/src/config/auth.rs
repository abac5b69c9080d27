//! `[http.auth]`: the tables that say which bearer credentials the HTTP listener
//! accepts (static API tokens by digest, JWTs by key), and the rules they must obey.
//! Checking a credential against them is the HTTP layer's job (`berth_http::auth`).

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use jsonwebtoken::{Algorithm, AlgorithmFamily};
use serde::{Deserialize, Deserializer};

/// `[http.auth]` in the config file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// False means no authentication; the HTTP layer allows that on loopback only.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Static API tokens, by digest.
    #[serde(default)]
    pub tokens: Vec<StaticTokenConfig>,
    /// JWTs from an OAuth authorization server.
    #[serde(default)]
    pub jwt: Option<JwtConfig>,
    /// RFC 9728 metadata: this server's resource identifier (e.g.
    /// `https://mcp.example.com/mcp`); unset = derived by the HTTP layer from the request.
    #[serde(default)]
    pub resource: Option<String>,
    /// RFC 9728 `authorization_servers` (issuer URLs clients get tokens from).
    #[serde(default)]
    pub authorization_servers: Vec<String>,
    /// RFC 9728 `scopes_supported`.
    #[serde(default)]
    pub scopes_supported: Vec<String>,
}

/// `[[http.auth.tokens]]`: one static API token.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticTokenConfig {
    /// Who holds it; the caller's subject in logs and metrics.
    pub name: String,
    /// SHA-256 of the token as 64 hex digits (see [`token_digest`]).
    pub sha256: String,
    /// Roles its holder has.
    #[serde(default)]
    pub roles: Vec<String>,
}

/// `[http.auth.jwt]`: how JWTs are checked.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// The `iss` every token must carry.
    #[serde(default)]
    pub issuer: String,
    /// Accepted `aud` values (a string or an array); a token must name at least one.
    #[serde(default, deserialize_with = "one_or_many")]
    pub audience: Vec<String>,
    /// Accepted signature algorithms: "HS256", "RS256", "ES256". Unset or empty:
    /// inferred from the keys, HS256 with a secret and RS256 and ES256 with a key file.
    #[serde(default)]
    pub algorithms: Vec<String>,
    /// HS256 shared secret, used as its UTF-8 bytes (at least 32).
    #[serde(default)]
    pub secret: Option<String>,
    /// Environment variable holding the HS256 secret, read at start-up.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// PEM public key (RSA or EC P-256) that signs tokens.
    #[serde(default)]
    pub public_key_file: Option<PathBuf>,
    /// JWKS JSON file of public keys, chosen by the token's `kid`.
    #[serde(default)]
    pub jwks_file: Option<PathBuf>,
    /// Claim holding the caller's roles (a string or an array of strings); a dotted
    /// path such as `realm_access.roles` reaches into objects when no claim has the
    /// whole name.
    #[serde(default = "JwtConfig::default_roles_claim")]
    pub roles_claim: String,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    #[serde(default = "JwtConfig::default_leeway")]
    pub leeway_secs: u64,
}

/// Written by hand so that the HS256 secret never reaches a log or an error message
/// through a `{:?}` of the config: it shows as `<redacted>` when set.
impl std::fmt::Debug for JwtConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtConfig")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("algorithms", &self.algorithms)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("secret_env", &self.secret_env)
            .field("public_key_file", &self.public_key_file)
            .field("jwks_file", &self.jwks_file)
            .field("roles_claim", &self.roles_claim)
            .field("leeway_secs", &self.leeway_secs)
            .finish()
    }
}

fn yes() -> bool {
    true
}

/// The JWT algorithms Berth accepts, by name.
pub const ALGORITHMS: [(&str, Algorithm); 3] = [
    ("HS256", Algorithm::HS256),
    ("RS256", Algorithm::RS256),
    ("ES256", Algorithm::ES256),
];

/// Shortest HS256 secret accepted: RFC 7518 §3.2 wants a key as long as the hash.
pub const MIN_SECRET_BYTES: usize = 32;

/// Largest `leeway_secs` accepted.
const MAX_LEEWAY_SECS: u64 = 600;

impl JwtConfig {
    /// The claim roles are read from unless `roles_claim` says otherwise.
    pub fn default_roles_claim() -> String {
        "roles".into()
    }

    /// Seconds of clock skew tolerated unless `leeway_secs` says otherwise.
    pub fn default_leeway() -> u64 {
        30
    }

    /// The algorithms accepted: the listed known ones, or those the keys imply.
    pub fn allowed_algorithms(&self) -> Vec<Algorithm> {
        if self.algorithms.is_empty() {
            let mut inferred = Vec::new();
            if self.secret.is_some() || self.secret_env.is_some() {
                inferred.push(Algorithm::HS256);
            }
            if self.public_key_file.is_some() || self.jwks_file.is_some() {
                inferred.extend([Algorithm::RS256, Algorithm::ES256]);
            }
            return inferred;
        }
        let mut listed = Vec::new();
        for alg in self.algorithms.iter().filter_map(|a| algorithm(a)) {
            if !listed.contains(&alg) {
                listed.push(alg);
            }
        }
        listed
    }

    /// The first rule broken, as (key relative to `jwt`, problem).
    fn problem(&self) -> Option<(String, String)> {
        if self.issuer.trim().is_empty() {
            return Some((
                "issuer".into(),
                "must be set to the `iss` your authorization server puts in its tokens".into(),
            ));
        }
        if self.audience.is_empty() {
            return Some((
                "audience".into(),
                "needs at least one value: the `aud` tokens for this server carry (often its \
                 resource URL)"
                    .into(),
            ));
        }
        if let Some(i) = self.audience.iter().position(|a| a.trim().is_empty()) {
            return Some((format!("audience[{i}]"), "must not be empty".into()));
        }
        for (i, name) in self.algorithms.iter().enumerate() {
            if algorithm(name).is_none() {
                return Some((
                    format!("algorithms[{i}]"),
                    format!("`{name}` is not supported; use HS256, RS256 or ES256"),
                ));
            }
        }
        if self.secret.is_some() && self.secret_env.is_some() {
            return Some((
                "secret_env".into(),
                "is set as well as `secret`; set only one of them".into(),
            ));
        }
        if let Some(secret) = &self.secret
            && secret.len() < MIN_SECRET_BYTES
        {
            return Some((
                "secret".into(),
                format!(
                    "must be at least {MIN_SECRET_BYTES} bytes for HS256; make one with \
                     `openssl rand -base64 32`"
                ),
            ));
        }
        if let Some(var) = &self.secret_env
            && !is_env_name(var)
        {
            return Some((
                "secret_env".into(),
                format!("`{var}` is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)"),
            ));
        }
        if self.public_key_file.is_some() && self.jwks_file.is_some() {
            return Some((
                "jwks_file".into(),
                "is set as well as `public_key_file`; set only one of them".into(),
            ));
        }
        for (key, file) in [
            ("public_key_file", &self.public_key_file),
            ("jwks_file", &self.jwks_file),
        ] {
            if file.as_ref().is_some_and(|f| !f.is_absolute()) {
                return Some((key.into(), "must be an absolute path".into()));
            }
        }
        if let Some(problem) = self.key_source_problem() {
            return Some(problem);
        }
        if self.roles_claim.trim().is_empty() {
            return Some((
                "roles_claim".into(),
                "must name the claim that holds roles, like \"roles\"".into(),
            ));
        }
        if self.leeway_secs > MAX_LEEWAY_SECS {
            return Some((
                "leeway_secs".into(),
                format!("must be between 0 and {MAX_LEEWAY_SECS} (ten minutes)"),
            ));
        }
        None
    }

    /// Whether the key sources fit the algorithms: each algorithm has a key, and each
    /// key is used by some algorithm.
    fn key_source_problem(&self) -> Option<(String, String)> {
        let has_secret = self.secret.is_some() || self.secret_env.is_some();
        let key_file = match (&self.public_key_file, &self.jwks_file) {
            (Some(_), _) => Some("public_key_file"),
            (None, Some(_)) => Some("jwks_file"),
            (None, None) => None,
        };
        if self.algorithms.is_empty() {
            if !has_secret && key_file.is_none() {
                return Some((
                    "secret".into(),
                    "is not set, and neither is any other key to check signatures with: set \
                     `secret` or `secret_env` (HS256), or `public_key_file` or `jwks_file` \
                     (RS256, ES256)"
                        .into(),
                ));
            }
            return None;
        }
        let allowed = self.allowed_algorithms();
        for alg in &allowed {
            let missing = match alg.family() {
                AlgorithmFamily::Hmac => (!has_secret).then_some("`secret` or `secret_env`"),
                _ => key_file
                    .is_none()
                    .then_some("`public_key_file` or `jwks_file`"),
            };
            if let Some(needed) = missing {
                return Some((
                    "algorithms".into(),
                    format!(
                        "lists {}, which needs {needed} to be set",
                        algorithm_name(*alg)
                    ),
                ));
            }
        }
        if has_secret && !allowed.contains(&Algorithm::HS256) {
            let key = if self.secret.is_some() {
                "secret"
            } else {
                "secret_env"
            };
            return Some((
                key.into(),
                "is set but `algorithms` does not list HS256".into(),
            ));
        }
        if let Some(key) = key_file
            && !allowed.iter().any(|a| a.family() != AlgorithmFamily::Hmac)
        {
            return Some((
                key.into(),
                "is set but `algorithms` lists neither RS256 nor ES256".into(),
            ));
        }
        None
    }
}

/// The algorithm named `name`, if Berth accepts it.
pub fn algorithm(name: &str) -> Option<Algorithm> {
    ALGORITHMS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, alg)| *alg)
}

/// The name of an accepted algorithm.
pub fn algorithm_name(alg: Algorithm) -> &'static str {
    ALGORITHMS
        .iter()
        .find(|(_, a)| *a == alg)
        .map_or("?", |(name, _)| name)
}

/// Whether `name` can be an environment variable's name.
fn is_env_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Deserializes a string or an array of strings as a list.
fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    struct Visitor;
    impl<'de> serde::de::Visitor<'de> for Visitor {
        type Value = Vec<String>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string or an array of strings")
        }

        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(vec![v.to_string()])
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            let mut items = Vec::new();
            while let Some(item) = seq.next_element::<String>()? {
                items.push(item);
            }
            Ok(items)
        }
    }
    deserializer.deserialize_any(Visitor)
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            tokens: Vec::new(),
            jwt: None,
            resource: None,
            authorization_servers: Vec::new(),
            scopes_supported: Vec::new(),
        }
    }
}

impl AuthConfig {
    /// The first rule broken, as (key relative to `http.auth`, e.g. `tokens[1].sha256`,
    /// problem text saying what is allowed); used by config validation. Missing
    /// credentials are [`AuthConfig::credentials_problem`]'s.
    pub fn problem(&self) -> Option<(String, String)> {
        let mut names = HashMap::new();
        let mut digests = HashMap::new();
        for (i, token) in self.tokens.iter().enumerate() {
            let key = format!("tokens[{i}]");
            if token.name.trim().is_empty() {
                return Some((
                    format!("{key}.name"),
                    "must not be empty: it names the caller in logs and metrics".into(),
                ));
            }
            if let Some(first) = names.insert(token.name.as_str(), i) {
                return Some((
                    format!("{key}.name"),
                    format!(
                        "`{}` is also the name of tokens[{first}]; names must be unique",
                        token.name
                    ),
                ));
            }
            if parse_digest(&token.sha256).is_none() {
                return Some((
                    format!("{key}.sha256"),
                    "is not a SHA-256 hex digest; make one with `berth token new` or \
                     `printf %s TOKEN | sha256sum`"
                        .into(),
                ));
            }
            if let Some(first) = digests.insert(token.sha256.to_ascii_lowercase(), i) {
                return Some((
                    format!("{key}.sha256"),
                    format!("is the digest of tokens[{first}] too; each token must be different"),
                ));
            }
            for (j, role) in token.roles.iter().enumerate() {
                if role.is_empty() || role.chars().any(char::is_whitespace) {
                    return Some((
                        format!("{key}.roles[{j}]"),
                        "must be a role name: non-empty, without whitespace".into(),
                    ));
                }
            }
        }
        if let Some(jwt) = &self.jwt
            && let Some((key, problem)) = jwt.problem()
        {
            return Some((format!("jwt.{key}"), problem));
        }
        if let Some(resource) = &self.resource
            && (!is_http_url(resource) || resource.contains('#'))
        {
            return Some((
                "resource".into(),
                "must be an absolute http:// or https:// URL without a fragment, like \
                 \"https://mcp.example.com/mcp\""
                    .into(),
            ));
        }
        for (i, server) in self.authorization_servers.iter().enumerate() {
            if !is_http_url(server) {
                return Some((
                    format!("authorization_servers[{i}]"),
                    "must be the http:// or https:// issuer URL of an OAuth authorization \
                     server, like \"https://auth.example.com\""
                        .into(),
                ));
            }
        }
        for (i, scope) in self.scopes_supported.iter().enumerate() {
            // RFC 6749 §3.3: a scope token is visible ASCII except `"` and `\`.
            if scope.is_empty()
                || !scope
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
            {
                return Some((
                    format!("scopes_supported[{i}]"),
                    "must be an OAuth scope: visible ASCII without spaces, quotes or backslashes"
                        .into(),
                ));
            }
        }
        None
    }

    /// The missing-credentials problem: authentication on with no tokens and no JWT
    /// settings, as (key, problem) like [`AuthConfig::problem`]; for the HTTP layer to
    /// check when it starts serving.
    ///
    /// Kept out of [`AuthConfig::problem`] for two reasons. `[http.auth]` is validated
    /// even when HTTP is off, and the embedded defaults have it on with nothing
    /// configured. And a live edit that deletes the last token (say, a leaked one) must
    /// lock everyone out, not be refused as invalid and leave the old token in force.
    pub fn credentials_problem(&self) -> Option<(String, String)> {
        (self.enabled && self.tokens.is_empty() && self.jwt.is_none()).then(|| {
            (
                "enabled".into(),
                "authentication is on but no credentials are configured: add \
                 [[http.auth.tokens]] or [http.auth.jwt], or set enabled = false for loopback \
                 development"
                    .into(),
            )
        })
    }
}

/// Whether `url` looks like an absolute http(s) URL with a host.
fn is_http_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|rest| {
        !rest.is_empty()
            && !rest.starts_with('/')
            && !url.chars().any(|c| c.is_whitespace() || c.is_control())
    })
}

/// The 32 bytes of a 64-hex-digit SHA-256 digest.
pub fn parse_digest(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut bytes = [0; 32];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(bytes)
}
