//! Authentication of HTTP callers: who presented which bearer credentials. Owns the
//! `[http.auth]` config tables and their validation, the [`Authenticator`] that turns
//! an `Authorization` header into an [`Identity`], the `WWW-Authenticate` challenge of
//! a refusal, the RFC 9728 protected resource metadata document, and API token minting.
//!
//! Two kinds of credentials are accepted: static API tokens, configured by the SHA-256
//! digest of the token so the config file holds nothing worth stealing, and JWTs from
//! an OAuth authorization server, checked against a shared secret (HS256), a PEM public
//! key, or a JWKS file (RS256, ES256). What an identity may do is [`berth_core::access`]'s
//! business; this module only says who it is.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, Validation};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub use berth_core::access::{AuthMethod, Identity};
pub use berth_core::config::auth::{AuthConfig, JwtConfig, StaticTokenConfig};
use berth_core::config::auth::{MIN_SECRET_BYTES, algorithm, algorithm_name, parse_digest};

/// Why authentication could not be set up from a validated config.
#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    /// The config breaks a rule of [`AuthConfig::problem`].
    #[error("`http.auth.{key}` {problem}")]
    Invalid {
        /// The key relative to `http.auth`.
        key: String,
        /// What is wrong and what is allowed.
        problem: String,
    },
    /// The PEM public key file cannot be used.
    #[error("public key file {path}: {problem}")]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// The JWKS file cannot be used.
    #[error("JWKS file {path}: {problem}")]
    Jwks {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// The environment variable named by `secret_env` cannot be used.
    #[error("environment variable {var} (http.auth.jwt.secret_env): {problem}")]
    SecretEnv {
        /// The variable's name.
        var: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// Why a request's credentials were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// No `Authorization` header, or an empty one.
    #[error("no bearer token was presented")]
    Missing,
    /// The `Authorization` header uses another scheme than `Bearer`.
    #[error("the Authorization header must use the Bearer scheme")]
    NotBearer,
    /// Not a configured static token, and not a JWT this server checks.
    #[error("the token is not one this server knows")]
    UnknownToken,
    /// The JWT's `exp` has passed.
    #[error("the token has expired")]
    Expired,
    /// The JWT's `nbf` is still in the future.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// The JWT's `aud` names none of the configured audiences.
    #[error("the token was issued for another audience")]
    WrongAudience,
    /// The JWT's `iss` is not the configured issuer.
    #[error("the token was issued by an issuer this server does not trust")]
    WrongIssuer,
    /// The JWT's signature does not verify with the key chosen for it.
    #[error("the token's signature does not verify")]
    BadSignature,
    /// The JWT's `kid` is not in the JWKS (or names no single key).
    #[error("the token was signed with a key this server does not know")]
    UnknownKey,
    /// The header or token is not well-formed; the text says how.
    #[error("{0}")]
    Malformed(String),
}

impl AuthFailure {
    /// Stable `snake_case` label for metrics and logs ("missing", "expired", ...).
    pub fn reason(&self) -> &'static str {
        match self {
            AuthFailure::Missing => "missing",
            AuthFailure::NotBearer => "not_bearer",
            AuthFailure::UnknownToken => "unknown_token",
            AuthFailure::Expired => "expired",
            AuthFailure::NotYetValid => "not_yet_valid",
            AuthFailure::WrongAudience => "wrong_audience",
            AuthFailure::WrongIssuer => "wrong_issuer",
            AuthFailure::BadSignature => "bad_signature",
            AuthFailure::UnknownKey => "unknown_key",
            AuthFailure::Malformed(_) => "malformed",
        }
    }

    /// The `WWW-Authenticate` header value (RFC 6750 + RFC 9728):
    /// `Bearer resource_metadata="<url>"` when no bearer credentials were presented;
    /// `Bearer error="invalid_token", error_description="<text>", resource_metadata="<url>"`
    /// otherwise.
    pub fn www_authenticate(&self, resource_metadata_url: &str) -> String {
        let url = quoted(resource_metadata_url);
        match self {
            // RFC 6750 §3.1: a request without authentication information, including
            // one "using an unsupported authentication method", gets no error code.
            AuthFailure::Missing | AuthFailure::NotBearer => {
                format!("Bearer resource_metadata=\"{url}\"")
            }
            _ => format!(
                "Bearer error=\"invalid_token\", error_description=\"{}\", \
                 resource_metadata=\"{url}\"",
                quoted(&self.to_string())
            ),
        }
    }
}

/// `text` made safe inside a quoted-string of a header value: `"` and `\` escaped,
/// anything but visible ASCII and space replaced (header values cannot carry it).
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' ' => out.push(c),
            c if c.is_ascii_graphic() => out.push(c),
            _ => out.push('?'),
        }
    }
    out
}

/// The RFC 9728 OAuth 2.0 Protected Resource Metadata document: `resource`,
/// `authorization_servers` (if any), `scopes_supported` (if any),
/// `bearer_methods_supported: ["header"]`, `resource_name: "Berth"`.
pub fn protected_resource_metadata(config: &AuthConfig, resource: &str) -> Value {
    let mut doc = Map::new();
    doc.insert("resource".into(), resource.into());
    if !config.authorization_servers.is_empty() {
        doc.insert(
            "authorization_servers".into(),
            config.authorization_servers.clone().into(),
        );
    }
    if !config.scopes_supported.is_empty() {
        doc.insert(
            "scopes_supported".into(),
            config.scopes_supported.clone().into(),
        );
    }
    doc.insert("bearer_methods_supported".into(), vec!["header"].into());
    doc.insert("resource_name".into(), "Berth".into());
    Value::Object(doc)
}

/// SHA-256 of `token` as 64 lowercase hex chars: what `[[http.auth.tokens]] sha256`
/// holds.
pub fn token_digest(token: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(64);
    for byte in Sha256::digest(token.as_bytes()) {
        hex.push(HEX[usize::from(byte >> 4)].into());
        hex.push(HEX[usize::from(byte & 0xf)].into());
    }
    hex
}

/// A new random API token (32 bytes from /dev/urandom, base64url without padding,
/// prefixed `berth_`) and its digest.
pub fn new_token() -> std::io::Result<(String, String)> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    let token = format!("berth_{}", URL_SAFE_NO_PAD.encode(bytes));
    let digest = token_digest(&token);
    Ok((token, digest))
}

/// Checks bearer credentials; built once per config, shared across requests (Send +
/// Sync).
pub struct Authenticator {
    /// Static tokens by the SHA-256 of the token.
    tokens: HashMap<[u8; 32], StaticToken>,
    /// JWT checking, when configured.
    jwt: Option<JwtChecker>,
    /// JWTs that passed the check, by the SHA-256 of the token (see [`VerifiedJwt`]).
    verified: moka::sync::Cache<[u8; 32], VerifiedJwt>,
    /// Full JWT checks made, for the tests that show the cache spares them.
    #[cfg(test)]
    full_checks: std::sync::atomic::AtomicUsize,
}

/// A JWT that passed the check: a client sends the same token with every request until
/// it expires, and checking its signature again is the costly part of a request (RS256:
/// about 240 µs, BENCHMARKS.md). Kept until the token's `exp` (leeway not included, so
/// a cached token is never accepted later than a checked one would be) and for at most
/// [`VERIFIED_TTL`]. The cache belongs to one `Authenticator`, so a config reload with
/// new keys starts empty; a failed check is never cached.
#[derive(Clone)]
struct VerifiedJwt {
    identity: Identity,
    expires: std::time::SystemTime,
}

/// Longest a verified JWT is trusted without checking it again.
const VERIFIED_TTL: std::time::Duration = std::time::Duration::from_secs(5 * 60);
/// Verified JWTs kept at most (distinct tokens in use at once); beyond it moka evicts
/// the least useful, which only costs those clients a check.
const VERIFIED_CAPACITY: u64 = 10_000;

/// What a static token identifies.
struct StaticToken {
    name: String,
    roles: BTreeSet<String>,
}

/// Everything needed to check a JWT, read once at setup.
struct JwtChecker {
    allowed: Vec<Algorithm>,
    secret: Option<DecodingKey>,
    pem_rsa: Option<DecodingKey>,
    pem_ec: Option<DecodingKey>,
    jwks: Vec<JwksKey>,
    issuer: String,
    audience: Vec<String>,
    leeway: u64,
    roles_claim: String,
}

/// One usable key of a JWKS file.
struct JwksKey {
    kid: Option<String>,
    family: AlgorithmFamily,
    /// The key's own `alg`, when it names one.
    alg: Option<Algorithm>,
    key: DecodingKey,
}

impl fmt::Debug for Authenticator {
    // By hand: keys and secrets stay out of debug output.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let mut names: Vec<&str> = self.tokens.values().map(|t| t.name.as_str()).collect();
        names.sort_unstable();
        f.debug_struct("Authenticator")
            .field("tokens", &names)
            .field("jwt_issuer", &self.jwt.as_ref().map(|j| &j.issuer))
            .finish()
    }
}

impl Authenticator {
    /// Reads key files, the JWKS and the secret's environment variable now; errors name
    /// the file or variable and what is wrong.
    pub fn new(config: &AuthConfig) -> Result<Self, AuthSetupError> {
        if let Some((key, problem)) = config.problem() {
            return Err(AuthSetupError::Invalid { key, problem });
        }
        let tokens = config
            .tokens
            .iter()
            .filter_map(|t| {
                let entry = StaticToken {
                    name: t.name.clone(),
                    roles: t.roles.iter().cloned().collect(),
                };
                parse_digest(&t.sha256).map(|digest| (digest, entry))
            })
            .collect();
        let jwt = config.jwt.as_ref().map(JwtChecker::new).transpose()?;
        tracing::debug!(
            tokens = config.tokens.len(),
            jwt_issuer = jwt.as_ref().map(|j| j.issuer.as_str()),
            "authentication set up"
        );
        Ok(Self {
            tokens,
            jwt,
            verified: moka::sync::Cache::builder()
                .max_capacity(VERIFIED_CAPACITY)
                .time_to_live(VERIFIED_TTL)
                .build(),
            #[cfg(test)]
            full_checks: Default::default(),
        })
    }

    /// Authenticates one request from its `Authorization` header value (None when
    /// absent).
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Identity, AuthFailure> {
        let token = bearer_token(authorization)?;
        // A map lookup by digest is not a timing leak: comparing digests can reveal at
        // most a prefix of the digest of a guess, which says nothing about any token.
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(entry) = self.tokens.get(&digest) {
            return Ok(Identity {
                subject: entry.name.clone(),
                roles: entry.roles.clone(),
                method: AuthMethod::StaticToken,
            });
        }
        let Some(jwt) = self.jwt.as_ref().filter(|_| looks_like_jwt(token)) else {
            return Err(AuthFailure::UnknownToken);
        };
        let now = std::time::SystemTime::now();
        if let Some(verified) = self.verified.get(&digest) {
            if now < verified.expires {
                return Ok(verified.identity);
            }
            self.verified.invalidate(&digest);
        }
        #[cfg(test)]
        self.full_checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (identity, expires) = jwt.check(token)?;
        if now < expires {
            let verified = VerifiedJwt {
                identity: identity.clone(),
                expires,
            };
            self.verified.insert(digest, verified);
        }
        Ok(identity)
    }
}

/// The token of a `Bearer` `Authorization` header value.
fn bearer_token(authorization: Option<&str>) -> Result<&str, AuthFailure> {
    let value = authorization.unwrap_or("").trim();
    if value.is_empty() {
        return Err(AuthFailure::Missing);
    }
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthFailure::NotBearer);
    }
    // RFC 9110 §11.4 allows several spaces between scheme and credentials.
    let token = rest.trim_start_matches(' ');
    if token.is_empty() {
        return Err(AuthFailure::Malformed(
            "the Authorization header says Bearer but holds no token".into(),
        ));
    }
    if token.contains(' ') {
        return Err(AuthFailure::Malformed(
            "the Authorization header must hold exactly one bearer token".into(),
        ));
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AuthFailure::Malformed(
            "the bearer token holds characters other than visible ASCII".into(),
        ));
    }
    Ok(token)
}

/// Whether `token` has a JWT's shape: three dot-separated base64url parts, the
/// signature possibly empty (so an unsigned token gets a clear refusal).
fn looks_like_jwt(token: &str) -> bool {
    let base64url = |part: &str| {
        part.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let parts: Vec<&str> = token.split('.').collect();
    parts.len() == 3
        && !parts[0].is_empty()
        && !parts[1].is_empty()
        && parts.iter().all(|p| base64url(p))
}

impl JwtChecker {
    /// Reads the keys `config` names.
    fn new(config: &JwtConfig) -> Result<Self, AuthSetupError> {
        let allowed = config.allowed_algorithms();
        let secret = match (&config.secret, &config.secret_env) {
            (Some(secret), _) => Some(DecodingKey::from_secret(secret.as_bytes())),
            (None, Some(var)) => Some(secret_from_env(var, std::env::var(var))?),
            (None, None) => None,
        };
        let (mut pem_rsa, mut pem_ec) = (None, None);
        if let Some(path) = &config.public_key_file {
            (pem_rsa, pem_ec) = read_public_key(path, &allowed)?;
        }
        let jwks = match &config.jwks_file {
            Some(path) => read_jwks(path, &allowed)?,
            None => Vec::new(),
        };
        Ok(Self {
            allowed,
            secret,
            pem_rsa,
            pem_ec,
            jwks,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            leeway: config.leeway_secs,
            roles_claim: config.roles_claim.clone(),
        })
    }

    /// Checks `token`'s signature and claims and says who it identifies, and until
    /// when (its `exp`).
    fn check(&self, token: &str) -> Result<(Identity, std::time::SystemTime), AuthFailure> {
        let (alg, kid) = self.header(token)?;
        let key = self.key_for(alg, kid.as_deref())?;
        let mut validation = Validation::new(alg);
        validation.leeway = self.leeway;
        validation.validate_nbf = true;
        // jsonwebtoken checks `iss` and `aud` only when present unless required.
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&self.audience);
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation)
            .map_err(|e| failure_of(e.into_kind()))?
            .claims;
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| AuthFailure::Malformed("the token has no `sub` claim".into()))?;
        let mut roles = BTreeSet::new();
        if let Some(value) = claim(&claims, &self.roles_claim) {
            roles.extend(strings(value, &self.roles_claim, false)?);
        }
        // OAuth scopes: RFC 8693 `scope` is a space-separated string; `scp` is an array
        // for some servers (Okta) and a space-separated string for others (Entra ID).
        for name in ["scope", "scp"] {
            if let Some(value) = claims.get(name) {
                roles.extend(strings(value, name, true)?);
            }
        }
        // Required and checked by `decode` above. A fractional `exp`, or one past what
        // `SystemTime` holds, reads as the epoch: such a token is checked every time.
        let expires = claims
            .get("exp")
            .and_then(Value::as_u64)
            .and_then(|exp| std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(exp)))
            .unwrap_or(std::time::UNIX_EPOCH);
        let identity = Identity {
            subject: subject.to_string(),
            roles,
            method: AuthMethod::Jwt,
        };
        Ok((identity, expires))
    }

    /// The accepted algorithm and the `kid` of `token`'s header.
    ///
    /// Read here rather than through jsonwebtoken so that an algorithm it cannot even
    /// name (`none`, `HS1`) is refused with a message saying which ones are accepted.
    fn header(&self, token: &str) -> Result<(Algorithm, Option<String>), AuthFailure> {
        let malformed = |text: &str| AuthFailure::Malformed(text.to_string());
        let encoded = token.split('.').next().unwrap_or_default();
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| malformed("the token's header is not base64url"))?;
        let header: Map<String, Value> = serde_json::from_slice(&bytes)
            .map_err(|_| malformed("the token's header is not a JSON object"))?;
        let name = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed("the token's header has no `alg`"))?;
        let accepted = || {
            self.allowed
                .iter()
                .map(|a| algorithm_name(*a))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let alg = algorithm(name)
            .filter(|a| self.allowed.contains(a))
            .ok_or_else(|| {
                let shown: String = name.chars().take(16).collect();
                AuthFailure::Malformed(format!(
                    "the token is signed with `{shown}`, which this server does not accept \
                     (it accepts {})",
                    accepted()
                ))
            })?;
        // RFC 7515 §4.1.11: a token whose critical extensions are not understood must
        // be refused, and Berth understands none.
        if header.contains_key("crit") {
            return Err(malformed(
                "the token's header lists critical extensions (`crit`), which this server \
                 does not support",
            ));
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.clone()),
            Some(_) => return Err(malformed("the token's `kid` header is not a string")),
        };
        Ok((alg, kid))
    }

    /// The key that must have signed a token of `alg` and `kid`.
    fn key_for(&self, alg: Algorithm, kid: Option<&str>) -> Result<&DecodingKey, AuthFailure> {
        let family = alg.family();
        if family == AlgorithmFamily::Hmac {
            return self.secret.as_ref().ok_or(AuthFailure::BadSignature);
        }
        if self.jwks.is_empty() {
            let pem = match family {
                AlgorithmFamily::Rsa => self.pem_rsa.as_ref(),
                _ => self.pem_ec.as_ref(),
            };
            return pem.ok_or(AuthFailure::BadSignature);
        }
        let fits = |key: &JwksKey| key.family == family && key.alg.is_none_or(|a| a == alg);
        match kid {
            Some(kid) => {
                let key = self
                    .jwks
                    .iter()
                    .find(|k| k.kid.as_deref() == Some(kid))
                    .ok_or(AuthFailure::UnknownKey)?;
                // The kid names a key for another algorithm: that key did not sign it.
                if fits(key) {
                    Ok(&key.key)
                } else {
                    Err(AuthFailure::BadSignature)
                }
            }
            None => {
                let mut candidates = self.jwks.iter().filter(|k| fits(k));
                match (candidates.next(), candidates.next()) {
                    (Some(key), None) => Ok(&key.key),
                    _ => Err(AuthFailure::UnknownKey),
                }
            }
        }
    }
}

/// The claim named `name`, or else the one its dotted path reaches through objects.
fn claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(value) = claims.get(name) {
        return Some(value);
    }
    let mut parts = name.split('.');
    let mut value = claims.get(parts.next()?)?;
    for part in parts {
        value = value.as_object()?.get(part)?;
    }
    Some(value)
}

/// The strings of a claim that is a string (split at spaces when `split`) or an array
/// of strings.
fn strings(value: &Value, name: &str, split: bool) -> Result<Vec<String>, AuthFailure> {
    let wrong = || {
        AuthFailure::Malformed(format!(
            "the token's `{name}` claim is not a string or an array of strings"
        ))
    };
    match value {
        Value::String(s) if split => Ok(s.split_whitespace().map(str::to_string).collect()),
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().map(str::to_string).ok_or_else(wrong))
            .collect(),
        _ => Err(wrong()),
    }
}

/// What a jsonwebtoken error means for the caller.
fn failure_of(kind: ErrorKind) -> AuthFailure {
    match kind {
        ErrorKind::ExpiredSignature => AuthFailure::Expired,
        ErrorKind::ImmatureSignature => AuthFailure::NotYetValid,
        ErrorKind::InvalidAudience => AuthFailure::WrongAudience,
        ErrorKind::InvalidIssuer => AuthFailure::WrongIssuer,
        // Key trouble surfaces only when a token is checked; either way the token
        // cannot be shown to come from a trusted key.
        ErrorKind::InvalidSignature
        | ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidKeyFormat
        | ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::Signing(_)
        | ErrorKind::Provider(_) => AuthFailure::BadSignature,
        ErrorKind::MissingRequiredClaim(claim) => {
            AuthFailure::Malformed(format!("the token has no `{claim}` claim"))
        }
        ErrorKind::InvalidClaimFormat(claim) => {
            AuthFailure::Malformed(format!("the token's `{claim}` claim is not a number"))
        }
        ErrorKind::InvalidToken | ErrorKind::Base64(_) | ErrorKind::Utf8(_) => {
            AuthFailure::Malformed("the token is not a well-formed JWT".into())
        }
        ErrorKind::Json(_) => {
            AuthFailure::Malformed("the token's claims are not a valid JSON object".into())
        }
        other => AuthFailure::Malformed(format!("the token cannot be checked: {other:?}")),
    }
}

/// The HS256 key from the environment variable `var`, whose lookup gave `value`.
fn secret_from_env(
    var: &str,
    value: Result<String, std::env::VarError>,
) -> Result<DecodingKey, AuthSetupError> {
    let problem = |problem: String| AuthSetupError::SecretEnv {
        var: var.to_string(),
        problem,
    };
    match value {
        Err(std::env::VarError::NotPresent) => Err(problem("is not set".into())),
        Err(std::env::VarError::NotUnicode(_)) => Err(problem("is not valid UTF-8".into())),
        Ok(secret) if secret.len() < MIN_SECRET_BYTES => Err(problem(format!(
            "holds {} bytes; an HS256 secret must have at least {MIN_SECRET_BYTES}",
            secret.len()
        ))),
        Ok(secret) => Ok(DecodingKey::from_secret(secret.as_bytes())),
    }
}

/// The RSA and EC keys a PEM public key file holds, for the families `allowed` uses.
fn read_public_key(
    path: &Path,
    allowed: &[Algorithm],
) -> Result<(Option<DecodingKey>, Option<DecodingKey>), AuthSetupError> {
    let problem = |problem: String| AuthSetupError::KeyFile {
        path: path.to_path_buf(),
        problem,
    };
    let pem = std::fs::read(path).map_err(|e| problem(format!("cannot read it: {e}")))?;
    if String::from_utf8_lossy(&pem).contains("PRIVATE KEY-----") {
        return Err(problem(
            "holds a private key; give the public key instead (`openssl pkey -in KEY -pubout`)"
                .into(),
        ));
    }
    let rsa = allowed
        .contains(&Algorithm::RS256)
        .then(|| DecodingKey::from_rsa_pem(&pem).ok())
        .flatten();
    let ec = allowed
        .contains(&Algorithm::ES256)
        .then(|| DecodingKey::from_ec_pem(&pem).ok().filter(is_p256))
        .flatten();
    if rsa.is_none() && ec.is_none() {
        let wanted = match (
            allowed.contains(&Algorithm::RS256),
            allowed.contains(&Algorithm::ES256),
        ) {
            (true, true) => "an RSA or EC P-256 public key",
            (true, false) => "an RSA public key (the algorithms accept only RS256)",
            _ => "an EC P-256 public key (the algorithms accept only ES256)",
        };
        return Err(problem(format!(
            "is not {wanted} in PEM form (-----BEGIN PUBLIC KEY-----)"
        )));
    }
    Ok((rsa, ec))
}

/// Whether an EC key is a valid P-256 point, which is all ES256 can use.
fn is_p256(key: &DecodingKey) -> bool {
    // Building a verifier parses the point; the empty signature then fails as expected.
    jsonwebtoken::crypto::verify("", b"", key, Algorithm::ES256).is_ok()
}

/// The signing keys of a JWKS file usable with the `allowed` algorithms.
fn read_jwks(path: &Path, allowed: &[Algorithm]) -> Result<Vec<JwksKey>, AuthSetupError> {
    let problem = |problem: String| AuthSetupError::Jwks {
        path: path.to_path_buf(),
        problem,
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| problem(format!("cannot read it: {e}")))?;
    let set: JwkSet =
        serde_json::from_str(&text).map_err(|e| problem(format!("is not a JWK Set: {e}")))?;
    let mut keys: Vec<JwksKey> = Vec::new();
    for (i, jwk) in set.keys.iter().enumerate() {
        let kid = jwk.common.key_id.clone();
        let name = kid
            .as_ref()
            .map_or_else(|| format!("keys[{i}]"), |kid| format!("key `{kid}`"));
        let skip = |why: &str| {
            tracing::debug!(path = %path.display(), key = %name, "JWKS key skipped: {why}");
        };
        if matches!(
            jwk.common.public_key_use,
            Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
        ) {
            skip("not a signing key");
            continue;
        }
        let family = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => AlgorithmFamily::Rsa,
            AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
                AlgorithmFamily::Ec
            }
            _ => {
                skip("neither RSA nor EC P-256");
                continue;
            }
        };
        let alg = match jwk.common.key_algorithm {
            None => None,
            Some(key_alg) => match Algorithm::try_from(key_alg) {
                Ok(alg) if allowed.contains(&alg) && alg.family() == family => Some(alg),
                _ => {
                    skip("its `alg` is not an accepted algorithm");
                    continue;
                }
            },
        };
        if !allowed.iter().any(|a| a.family() == family) {
            skip("no accepted algorithm uses its kind of key");
            continue;
        }
        let key = DecodingKey::from_jwk(jwk)
            .ok()
            .filter(|key| family != AlgorithmFamily::Ec || is_p256(key))
            .ok_or_else(|| problem(format!("{name} is not a valid public key")))?;
        if kid.is_some() && keys.iter().any(|k| k.kid == kid) {
            return Err(problem(format!(
                "{name} appears twice; each kid must name one key"
            )));
        }
        keys.push(JwksKey {
            kid,
            family,
            alg,
            key,
        });
    }
    if keys.is_empty() {
        let accepted: Vec<&str> = allowed
            .iter()
            .filter(|a| a.family() != AlgorithmFamily::Hmac)
            .map(|a| algorithm_name(*a))
            .collect();
        return Err(problem(format!(
            "has no signing key usable with {}: RS256 needs an RSA key, ES256 an EC P-256 key",
            accepted.join(" or ")
        )));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    use super::*;

    const ISSUER: &str = "https://auth.example.com";
    const AUDIENCE: &str = "https://mcp.example.com/mcp";
    const SECRET: &str = "an HS256 test secret of at least 32 bytes";

    const RSA_PRIVATE: &str = include_str!("../../../tests/fixtures/auth/rsa-private.pem");
    const EC_PRIVATE: &str = include_str!("../../../tests/fixtures/auth/ec-private.pem");

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/auth")
            .join(name)
    }

    fn now() -> u64 {
        jsonwebtoken::get_current_timestamp()
    }

    /// Valid claims for `alice`, expiring in ten minutes.
    fn claims() -> Value {
        json!({ "sub": "alice", "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 600 })
    }

    fn with(mut claims: Value, key: &str, value: Value) -> Value {
        claims[key] = value;
        claims
    }

    fn without(mut claims: Value, key: &str) -> Value {
        claims.as_object_mut().unwrap().remove(key);
        claims
    }

    fn mint(alg: Algorithm, key: &EncodingKey, kid: Option<&str>, claims: &Value) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_string);
        jsonwebtoken::encode(&header, claims, key).unwrap()
    }

    fn hs256(claims: &Value) -> String {
        mint(
            Algorithm::HS256,
            &EncodingKey::from_secret(SECRET.as_bytes()),
            None,
            claims,
        )
    }

    fn rs256(kid: Option<&str>, claims: &Value) -> String {
        let key = EncodingKey::from_rsa_pem(RSA_PRIVATE.as_bytes()).unwrap();
        mint(Algorithm::RS256, &key, kid, claims)
    }

    fn es256(kid: Option<&str>, claims: &Value) -> String {
        let key = EncodingKey::from_ec_pem(EC_PRIVATE.as_bytes()).unwrap();
        mint(Algorithm::ES256, &key, kid, claims)
    }

    fn jwt_config() -> JwtConfig {
        JwtConfig {
            issuer: ISSUER.into(),
            audience: vec![AUDIENCE.into()],
            algorithms: Vec::new(),
            secret: None,
            secret_env: None,
            public_key_file: None,
            jwks_file: None,
            roles_claim: JwtConfig::default_roles_claim(),
            leeway_secs: JwtConfig::default_leeway(),
        }
    }

    fn with_jwt(jwt: JwtConfig) -> AuthConfig {
        AuthConfig {
            jwt: Some(jwt),
            ..Default::default()
        }
    }

    fn hs_config() -> AuthConfig {
        with_jwt(JwtConfig {
            secret: Some(SECRET.into()),
            ..jwt_config()
        })
    }

    fn pem_config(file: &str) -> AuthConfig {
        with_jwt(JwtConfig {
            public_key_file: Some(fixture(file)),
            ..jwt_config()
        })
    }

    fn jwks_config() -> AuthConfig {
        with_jwt(JwtConfig {
            jwks_file: Some(fixture("jwks.json")),
            ..jwt_config()
        })
    }

    fn check(config: &AuthConfig, token: &str) -> Result<Identity, AuthFailure> {
        Authenticator::new(config)
            .unwrap()
            .authenticate(Some(&format!("Bearer {token}")))
    }

    fn malformed(result: Result<Identity, AuthFailure>) -> String {
        match result {
            Err(AuthFailure::Malformed(text)) => text,
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    fn static_config() -> AuthConfig {
        AuthConfig {
            tokens: vec![
                StaticTokenConfig {
                    name: "ci".into(),
                    sha256: token_digest("ci-token"),
                    roles: vec!["reader".into(), "writer".into()],
                },
                StaticTokenConfig {
                    name: "ops".into(),
                    sha256: token_digest("ops-token").to_uppercase(),
                    roles: Vec::new(),
                },
            ],
            ..Default::default()
        }
    }

    #[test]
    fn digests_are_lowercase_hex_sha256() {
        assert_eq!(
            token_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let digest = token_digest("");
        assert_eq!(digest.len(), 64);
        assert!(
            digest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_eq!(parse_digest(&digest.to_uppercase()), parse_digest(&digest));
        assert_eq!(parse_digest("abc"), None);
    }

    #[test]
    fn new_tokens_round_trip() {
        let (token, digest) = new_token().unwrap();
        let body = token.strip_prefix("berth_").unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap().len(), 32);
        assert_eq!(digest, token_digest(&token));
        assert_ne!(new_token().unwrap().0, token);
        let config = AuthConfig {
            tokens: vec![StaticTokenConfig {
                name: "new".into(),
                sha256: digest,
                roles: Vec::new(),
            }],
            ..Default::default()
        };
        assert_eq!(check(&config, &token).unwrap().subject, "new");
    }

    #[test]
    fn static_tokens_are_found_by_digest() {
        let auth = Authenticator::new(&static_config()).unwrap();
        let ci = auth.authenticate(Some("Bearer ci-token")).unwrap();
        assert_eq!(
            ci,
            Identity {
                subject: "ci".into(),
                roles: BTreeSet::from(["reader".into(), "writer".into()]),
                method: AuthMethod::StaticToken,
            }
        );
        // The config may spell the digest in uppercase.
        let ops = auth.authenticate(Some("Bearer ops-token")).unwrap();
        assert_eq!(ops.subject, "ops");
        assert!(ops.roles.is_empty());
        assert_eq!(
            auth.authenticate(Some("Bearer ci-token2")),
            Err(AuthFailure::UnknownToken)
        );
        // Without JWT configured, a JWT is just an unknown token.
        assert_eq!(
            auth.authenticate(Some(&format!("Bearer {}", hs256(&claims())))),
            Err(AuthFailure::UnknownToken)
        );
    }

    #[test]
    fn authorization_headers_are_parsed_strictly() {
        let auth = Authenticator::new(&static_config()).unwrap();
        let result = |header: Option<&str>| auth.authenticate(header);
        assert_eq!(result(None), Err(AuthFailure::Missing));
        assert_eq!(result(Some("")), Err(AuthFailure::Missing));
        assert_eq!(result(Some("   ")), Err(AuthFailure::Missing));
        assert_eq!(result(Some("Basic Y2k6eA==")), Err(AuthFailure::NotBearer));
        assert_eq!(result(Some("Bearerci-token")), Err(AuthFailure::NotBearer));
        assert_eq!(result(Some("Token ci-token")), Err(AuthFailure::NotBearer));
        for ok in [
            "Bearer ci-token",
            "bearer ci-token",
            "BEARER ci-token",
            "Bearer   ci-token",
            " Bearer ci-token ",
        ] {
            assert_eq!(result(Some(ok)).unwrap().subject, "ci", "{ok:?}");
        }
        for bad in [
            "Bearer",
            "Bearer  ",
            "Bearer ci-token extra",
            "Bearer ci\u{7f}token",
            "Bearer ci\ttoken",
            "Bearer cï-token",
        ] {
            assert_eq!(
                result(Some(bad)).unwrap_err().reason(),
                "malformed",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn hs256_tokens_identify_their_subject() {
        let identity = check(&hs_config(), &hs256(&claims())).unwrap();
        assert_eq!(
            identity,
            Identity {
                subject: "alice".into(),
                roles: BTreeSet::new(),
                method: AuthMethod::Jwt,
            }
        );
        // An audience array needs to name only one accepted audience.
        let aud = with(claims(), "aud", json!(["other", AUDIENCE]));
        assert!(check(&hs_config(), &hs256(&aud)).is_ok());
    }

    #[test]
    fn static_tokens_and_jwts_work_side_by_side() {
        let config = AuthConfig {
            jwt: hs_config().jwt,
            ..static_config()
        };
        assert_eq!(
            check(&config, "ci-token").unwrap().method,
            AuthMethod::StaticToken
        );
        assert_eq!(
            check(&config, &hs256(&claims())).unwrap().method,
            AuthMethod::Jwt
        );
        // Not JWT-shaped, so never tried as one.
        assert_eq!(check(&config, "a.b"), Err(AuthFailure::UnknownToken));
    }

    #[test]
    fn expiry_is_checked_with_leeway() {
        let config = hs_config();
        let expired = with(claims(), "exp", json!(now() - 1000));
        assert_eq!(check(&config, &hs256(&expired)), Err(AuthFailure::Expired));
        let just_expired = with(claims(), "exp", json!(now() - 10));
        assert!(check(&config, &hs256(&just_expired)).is_ok());
        let mut strict = hs_config();
        strict.jwt.as_mut().unwrap().leeway_secs = 0;
        assert_eq!(
            check(&strict, &hs256(&just_expired)),
            Err(AuthFailure::Expired)
        );
        let text = malformed(check(&config, &hs256(&without(claims(), "exp"))));
        assert!(text.contains("`exp`"), "{text}");
        let text = malformed(check(
            &config,
            &hs256(&with(claims(), "exp", json!("soon"))),
        ));
        assert!(text.contains("`exp`"), "{text}");
    }

    #[test]
    fn not_before_is_checked_when_present() {
        let config = hs_config();
        let future = with(claims(), "nbf", json!(now() + 1000));
        assert_eq!(
            check(&config, &hs256(&future)),
            Err(AuthFailure::NotYetValid)
        );
        let past = with(claims(), "nbf", json!(now() - 1000));
        assert!(check(&config, &hs256(&past)).is_ok());
    }

    #[test]
    fn audience_and_issuer_must_match() {
        let config = hs_config();
        let aud = with(claims(), "aud", json!("https://other.example.com"));
        assert_eq!(
            check(&config, &hs256(&aud)),
            Err(AuthFailure::WrongAudience)
        );
        let aud = with(claims(), "aud", json!(["a", "b"]));
        assert_eq!(
            check(&config, &hs256(&aud)),
            Err(AuthFailure::WrongAudience)
        );
        let iss = with(claims(), "iss", json!("https://evil.example.com"));
        assert_eq!(check(&config, &hs256(&iss)), Err(AuthFailure::WrongIssuer));
        let text = malformed(check(&config, &hs256(&without(claims(), "iss"))));
        assert!(text.contains("`iss`"), "{text}");
        let text = malformed(check(&config, &hs256(&without(claims(), "aud"))));
        assert!(text.contains("`aud`"), "{text}");
    }

    #[test]
    fn a_subject_is_required() {
        assert_eq!(
            malformed(check(&hs_config(), &hs256(&without(claims(), "sub")))),
            "the token has no `sub` claim"
        );
        let empty = with(claims(), "sub", json!(""));
        assert!(malformed(check(&hs_config(), &hs256(&empty))).contains("`sub`"));
    }

    #[test]
    fn bad_signatures_are_refused() {
        let other = EncodingKey::from_secret(b"another secret that is long enough!!");
        let forged = mint(Algorithm::HS256, &other, None, &claims());
        assert_eq!(check(&hs_config(), &forged), Err(AuthFailure::BadSignature));
        // A valid signature over different claims.
        let token = hs256(&claims());
        let evil = hs256(&with(claims(), "sub", json!("mallory")));
        let parts: Vec<&str> = token.split('.').collect();
        let evil_parts: Vec<&str> = evil.split('.').collect();
        let spliced = format!("{}.{}.{}", parts[0], evil_parts[1], parts[2]);
        assert_eq!(
            check(&hs_config(), &spliced),
            Err(AuthFailure::BadSignature)
        );
        // An expired forgery is still reported as a forgery: signatures come first.
        let expired = mint(
            Algorithm::HS256,
            &other,
            None,
            &with(claims(), "exp", json!(now() - 1000)),
        );
        assert_eq!(
            check(&hs_config(), &expired),
            Err(AuthFailure::BadSignature)
        );
    }

    #[test]
    fn algorithms_not_accepted_are_refused_by_name() {
        let text = malformed(check(&hs_config(), &rs256(None, &claims())));
        assert!(
            text.contains("`RS256`") && text.contains("accepts HS256"),
            "{text}"
        );
        // An unsigned token, which jsonwebtoken cannot even parse.
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(claims().to_string());
        let unsigned = format!("{header}.{payload}.");
        let text = malformed(check(&hs_config(), &unsigned));
        assert!(text.contains("`none`"), "{text}");
        // RS256 accepted but HS256 not: a token "signed" with the public key as an
        // HMAC secret (algorithm confusion) is refused before any key is chosen.
        let public = std::fs::read(fixture("rsa-public.pem")).unwrap();
        let confused = mint(
            Algorithm::HS256,
            &EncodingKey::from_secret(&public),
            None,
            &claims(),
        );
        let text = malformed(check(&pem_config("rsa-public.pem"), &confused));
        assert!(text.contains("`HS256`"), "{text}");
    }

    #[test]
    fn odd_headers_are_malformed() {
        let payload = URL_SAFE_NO_PAD.encode(claims().to_string());
        for header in [
            r#"{"typ":"JWT"}"#,
            r#"{"alg":"HS256","crit":["exp"]}"#,
            r#"{"alg":"HS256","kid":7}"#,
            r#"not json"#,
        ] {
            let token = format!("{}.{payload}.c2ln", URL_SAFE_NO_PAD.encode(header));
            malformed(check(&hs_config(), &token));
        }
    }

    #[test]
    fn rs256_and_es256_verify_with_pem_keys() {
        let identity = check(&pem_config("rsa-public.pem"), &rs256(None, &claims())).unwrap();
        assert_eq!(identity.subject, "alice");
        let identity = check(&pem_config("ec-public.pem"), &es256(None, &claims())).unwrap();
        assert_eq!(identity.method, AuthMethod::Jwt);
        // Both accepted by default, but an RSA key cannot have signed an ES256 token.
        assert_eq!(
            check(&pem_config("rsa-public.pem"), &es256(None, &claims())),
            Err(AuthFailure::BadSignature)
        );
    }

    #[test]
    fn jwks_keys_are_chosen_by_kid() {
        let config = jwks_config();
        assert!(check(&config, &rs256(Some("berth-test-rsa"), &claims())).is_ok());
        assert!(check(&config, &es256(Some("berth-test-ec"), &claims())).is_ok());
        assert_eq!(
            check(&config, &rs256(Some("rotated-away"), &claims())),
            Err(AuthFailure::UnknownKey)
        );
        // The kid of the EC key on an RS256 token.
        assert_eq!(
            check(&config, &rs256(Some("berth-test-ec"), &claims())),
            Err(AuthFailure::BadSignature)
        );
        // Without a kid, the one key of the token's family is used.
        assert!(check(&config, &rs256(None, &claims())).is_ok());
        assert!(check(&config, &es256(None, &claims())).is_ok());
    }

    #[test]
    fn a_missing_kid_is_ambiguous_with_two_keys_of_a_family() {
        let dir = tempfile::tempdir().unwrap();
        let mut set: Value =
            serde_json::from_str(&std::fs::read_to_string(fixture("jwks.json")).unwrap()).unwrap();
        let mut second = set["keys"][0].clone();
        second["kid"] = json!("berth-test-rsa-2");
        set["keys"].as_array_mut().unwrap().push(second);
        let path = dir.path().join("jwks.json");
        std::fs::write(&path, set.to_string()).unwrap();
        let config = with_jwt(JwtConfig {
            jwks_file: Some(path),
            ..jwt_config()
        });
        assert_eq!(
            check(&config, &rs256(None, &claims())),
            Err(AuthFailure::UnknownKey)
        );
        assert!(check(&config, &rs256(Some("berth-test-rsa-2"), &claims())).is_ok());
    }

    #[test]
    fn roles_and_scopes_become_roles() {
        let config = hs_config();
        let roles = |claims: Value| check(&config, &hs256(&claims)).unwrap().roles;
        let set = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(
            roles(with(claims(), "roles", json!(["reader", "writer"]))),
            set(&["reader", "writer"])
        );
        assert_eq!(
            roles(with(claims(), "roles", json!("admin"))),
            set(&["admin"])
        );
        assert_eq!(
            roles(with(claims(), "scope", json!("mcp:read  mcp:write"))),
            set(&["mcp:read", "mcp:write"])
        );
        assert_eq!(
            roles(with(claims(), "scp", json!(["mcp:read", "mcp:call"]))),
            set(&["mcp:call", "mcp:read"])
        );
        assert_eq!(roles(with(claims(), "scp", json!("a b"))), set(&["a", "b"]));
        let all = with(
            with(claims(), "roles", json!(["reader"])),
            "scope",
            json!("mcp:read"),
        );
        assert_eq!(roles(all), set(&["mcp:read", "reader"]));
        let text = malformed(check(&config, &hs256(&with(claims(), "roles", json!([1])))));
        assert!(text.contains("`roles`"), "{text}");
        malformed(check(
            &config,
            &hs256(&with(claims(), "scope", json!(true))),
        ));
    }

    #[test]
    fn the_roles_claim_can_be_renamed_or_nested() {
        let mut config = hs_config();
        config.jwt.as_mut().unwrap().roles_claim = "realm_access.roles".into();
        let nested = with(claims(), "realm_access", json!({ "roles": ["ops"] }));
        let identity = check(&config, &hs256(&nested)).unwrap();
        assert_eq!(identity.roles, BTreeSet::from(["ops".to_string()]));
        // A claim with the whole dotted name wins over the path.
        let flat = with(nested, "realm_access.roles", json!("flat"));
        let identity = check(&config, &hs256(&flat)).unwrap();
        assert_eq!(identity.roles, BTreeSet::from(["flat".to_string()]));
        // The default claim is not read once another is configured.
        let other = with(claims(), "roles", json!(["reader"]));
        assert!(check(&config, &hs256(&other)).unwrap().roles.is_empty());
    }

    #[test]
    fn challenges_follow_rfc_6750_and_9728() {
        let url = "https://mcp.example.com/.well-known/oauth-protected-resource";
        assert_eq!(
            AuthFailure::Missing.www_authenticate(url),
            format!("Bearer resource_metadata=\"{url}\"")
        );
        assert_eq!(
            AuthFailure::NotBearer.www_authenticate(url),
            format!("Bearer resource_metadata=\"{url}\"")
        );
        assert_eq!(
            AuthFailure::Expired.www_authenticate(url),
            format!(
                "Bearer error=\"invalid_token\", error_description=\"the token has expired\", resource_metadata=\"{url}\""
            )
        );
        let odd = AuthFailure::Malformed("say \"hi\" \\ ok\né".into());
        assert_eq!(
            odd.www_authenticate("u"),
            "Bearer error=\"invalid_token\", error_description=\"say \\\"hi\\\" \\\\ ok??\", resource_metadata=\"u\""
        );
    }

    #[test]
    fn reasons_are_distinct_snake_case_labels() {
        let failures = [
            AuthFailure::Missing,
            AuthFailure::NotBearer,
            AuthFailure::UnknownToken,
            AuthFailure::Expired,
            AuthFailure::NotYetValid,
            AuthFailure::WrongAudience,
            AuthFailure::WrongIssuer,
            AuthFailure::BadSignature,
            AuthFailure::UnknownKey,
            AuthFailure::Malformed("x".into()),
        ];
        let reasons: BTreeSet<&str> = failures.iter().map(AuthFailure::reason).collect();
        assert_eq!(reasons.len(), failures.len());
        assert!(
            reasons
                .iter()
                .all(|r| r.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        );
        assert_eq!(AuthMethod::StaticToken.as_str(), "static_token");
        assert_eq!(AuthMethod::Jwt.as_str(), "jwt");
    }

    #[test]
    fn metadata_lists_only_what_is_configured() {
        let resource = "https://mcp.example.com/mcp";
        assert_eq!(
            protected_resource_metadata(&AuthConfig::default(), resource),
            json!({
                "resource": resource,
                "bearer_methods_supported": ["header"],
                "resource_name": "Berth",
            })
        );
        let config = AuthConfig {
            authorization_servers: vec![ISSUER.into()],
            scopes_supported: vec!["mcp:read".into(), "mcp:write".into()],
            ..Default::default()
        };
        assert_eq!(
            protected_resource_metadata(&config, resource),
            json!({
                "resource": resource,
                "authorization_servers": [ISSUER],
                "scopes_supported": ["mcp:read", "mcp:write"],
                "bearer_methods_supported": ["header"],
                "resource_name": "Berth",
            })
        );
    }

    #[test]
    fn config_parses_from_toml() {
        let config: AuthConfig = toml::from_str(
            r#"
            resource = "https://mcp.example.com/mcp"
            [[tokens]]
            name = "ci"
            sha256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
            roles = ["reader"]
            [jwt]
            issuer = "https://auth.example.com"
            audience = "https://mcp.example.com/mcp"
            secret = "an HS256 test secret of at least 32 bytes"
            "#,
        )
        .unwrap();
        assert!(config.enabled);
        assert_eq!(config.problem(), None);
        let jwt = config.jwt.unwrap();
        assert_eq!(jwt.audience, [AUDIENCE]);
        assert_eq!(jwt.roles_claim, "roles");
        assert_eq!(jwt.leeway_secs, 30);
        assert_eq!(jwt.allowed_algorithms(), [Algorithm::HS256]);
        let jwt: JwtConfig = toml::from_str("issuer = \"i\"\naudience = [\"a\", \"b\"]\n").unwrap();
        assert_eq!(jwt.audience, ["a", "b"]);
        let error = toml::from_str::<JwtConfig>("audience = 3\n").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("a string or an array of strings"),
            "{error}"
        );
        assert!(toml::from_str::<AuthConfig>("enable = false\n").is_err());
        assert!(toml::from_str::<AuthConfig>("[jwt]\nissuer = \"i\"\nkey = \"k\"\n").is_err());
        let off: AuthConfig = toml::from_str("enabled = false\n").unwrap();
        assert_eq!(off.problem(), None);
    }

    #[test]
    fn algorithms_are_inferred_from_the_keys() {
        let both = JwtConfig {
            secret: Some(SECRET.into()),
            jwks_file: Some(fixture("jwks.json")),
            ..jwt_config()
        };
        assert_eq!(
            both.allowed_algorithms(),
            [Algorithm::HS256, Algorithm::RS256, Algorithm::ES256]
        );
        let listed = JwtConfig {
            algorithms: vec!["ES256".into()],
            ..both
        };
        assert_eq!(listed.allowed_algorithms(), [Algorithm::ES256]);
    }

    /// The problem of `config`, asserting its key and that the text holds `needle`.
    fn assert_problem(config: &AuthConfig, key: &str, needle: &str) {
        let (k, problem) = config
            .problem()
            .unwrap_or_else(|| panic!("no problem found, expected one at {key}"));
        assert_eq!(k, key, "{problem}");
        assert!(problem.contains(needle), "{key}: {problem}");
    }

    #[test]
    fn good_configs_have_no_problem() {
        for config in [
            static_config(),
            hs_config(),
            pem_config("rsa-public.pem"),
            jwks_config(),
        ] {
            assert_eq!(config.problem(), None, "{config:?}");
        }
    }

    #[test]
    fn auth_needs_credentials_unless_off() {
        let (key, problem) = AuthConfig::default().credentials_problem().unwrap();
        assert_eq!(key, "enabled");
        assert_eq!(
            problem,
            "authentication is on but no credentials are configured: add [[http.auth.tokens]] \
             or [http.auth.jwt], or set enabled = false for loopback development"
        );
        let off = AuthConfig {
            enabled: false,
            ..Default::default()
        };
        assert_eq!(off.credentials_problem(), None);
        assert_eq!(static_config().credentials_problem(), None);
        assert_eq!(hs_config().credentials_problem(), None);
        // Valid as settings, so HTTP-less configs and live revocations pass validation.
        assert_eq!(AuthConfig::default().problem(), None);
    }

    #[test]
    fn token_rules() {
        let token = |name: &str, sha256: String, roles: &[&str]| StaticTokenConfig {
            name: name.into(),
            sha256,
            roles: roles.iter().map(|r| r.to_string()).collect(),
        };
        let tokens = |tokens: Vec<StaticTokenConfig>| AuthConfig {
            tokens,
            ..Default::default()
        };
        let ok = || token("ok", token_digest("ok"), &[]);
        assert_problem(
            &tokens(vec![ok(), token(" ", token_digest("x"), &[])]),
            "tokens[1].name",
            "must not be empty",
        );
        assert_problem(
            &tokens(vec![ok(), token("ok", token_digest("x"), &[])]),
            "tokens[1].name",
            "tokens[0]",
        );
        for digest in ["abc".to_string(), token_digest("x") + "0", "g".repeat(64)] {
            assert_problem(
                &tokens(vec![ok(), token("b", digest, &[])]),
                "tokens[1].sha256",
                "is not a SHA-256 hex digest; make one with `berth token new` or `printf %s TOKEN | sha256sum`",
            );
        }
        assert_problem(
            &tokens(vec![
                ok(),
                token("b", token_digest("ok").to_uppercase(), &[]),
            ]),
            "tokens[1].sha256",
            "tokens[0]",
        );
        assert_problem(
            &tokens(vec![token(
                "b",
                token_digest("x"),
                &["reader", "two words"],
            )]),
            "tokens[0].roles[1]",
            "role name",
        );
    }

    #[test]
    fn jwt_rules() {
        let jwt = |change: fn(&mut JwtConfig)| {
            let mut config = JwtConfig {
                secret: Some(SECRET.into()),
                ..jwt_config()
            };
            change(&mut config);
            with_jwt(config)
        };
        assert_problem(&jwt(|c| c.issuer = " ".into()), "jwt.issuer", "must be set");
        assert_problem(&jwt(|c| c.audience.clear()), "jwt.audience", "at least one");
        assert_problem(
            &jwt(|c| c.audience.push(String::new())),
            "jwt.audience[1]",
            "must not be empty",
        );
        assert_problem(
            &jwt(|c| c.algorithms = vec!["HS256".into(), "none".into()]),
            "jwt.algorithms[1]",
            "use HS256, RS256 or ES256",
        );
        assert_problem(
            &jwt(|c| c.secret_env = Some("SECRET".into())),
            "jwt.secret_env",
            "only one",
        );
        assert_problem(
            &jwt(|c| c.secret = Some("short".into())),
            "jwt.secret",
            "at least 32",
        );
        assert_problem(
            &jwt(|c| {
                c.secret = None;
                c.secret_env = Some("MY-SECRET".into());
            }),
            "jwt.secret_env",
            "environment variable name",
        );
        assert_problem(
            &jwt(|c| {
                c.public_key_file = Some("/k.pem".into());
                c.jwks_file = Some("/k.json".into());
            }),
            "jwt.jwks_file",
            "only one",
        );
        assert_problem(
            &jwt(|c| c.public_key_file = Some("keys/k.pem".into())),
            "jwt.public_key_file",
            "absolute",
        );
        assert_problem(
            &jwt(|c| c.jwks_file = Some("k.json".into())),
            "jwt.jwks_file",
            "absolute",
        );
        assert_problem(
            &jwt(|c| c.secret = None),
            "jwt.secret",
            "`public_key_file` or `jwks_file`",
        );
        assert_problem(
            &jwt(|c| {
                c.secret = None;
                c.algorithms = vec!["HS256".into()];
            }),
            "jwt.algorithms",
            "lists HS256, which needs `secret` or `secret_env`",
        );
        assert_problem(
            &jwt(|c| c.algorithms = vec!["HS256".into(), "ES256".into()]),
            "jwt.algorithms",
            "lists ES256, which needs `public_key_file` or `jwks_file`",
        );
        assert_problem(
            &jwt(|c| {
                c.algorithms = vec!["RS256".into()];
                c.jwks_file = Some("/k.json".into());
            }),
            "jwt.secret",
            "does not list HS256",
        );
        assert_problem(
            &jwt(|c| {
                c.algorithms = vec!["HS256".into()];
                c.public_key_file = Some("/k.pem".into());
            }),
            "jwt.public_key_file",
            "neither RS256 nor ES256",
        );
        assert_problem(
            &jwt(|c| c.roles_claim = String::new()),
            "jwt.roles_claim",
            "\"roles\"",
        );
        assert_problem(
            &jwt(|c| c.leeway_secs = 601),
            "jwt.leeway_secs",
            "between 0 and 600",
        );
        assert_eq!(jwt(|c| c.leeway_secs = 600).problem(), None);
    }

    #[test]
    fn metadata_rules() {
        let config = |change: fn(&mut AuthConfig)| {
            let mut config = static_config();
            change(&mut config);
            config
        };
        for resource in [
            "mcp.example.com/mcp",
            "https://",
            "https://x/mcp#frag",
            "ftp://x",
        ] {
            let mut bad = static_config();
            bad.resource = Some(resource.into());
            assert_problem(&bad, "resource", "absolute http:// or https:// URL");
        }
        assert_eq!(
            config(|c| c.resource = Some("http://127.0.0.1:8080/mcp".into())).problem(),
            None
        );
        assert_problem(
            &config(|c| c.authorization_servers = vec![ISSUER.into(), "auth.example.com".into()]),
            "authorization_servers[1]",
            "issuer URL",
        );
        for scope in ["", "two words", "quo\"te"] {
            let mut bad = static_config();
            bad.scopes_supported = vec!["mcp:read".into(), scope.into()];
            assert_problem(&bad, "scopes_supported[1]", "OAuth scope");
        }
    }

    #[test]
    fn setup_refuses_invalid_configs() {
        let mut config = static_config();
        config.tokens[1].sha256 = "not hex".into();
        let error = Authenticator::new(&config).unwrap_err();
        assert!(
            matches!(error, AuthSetupError::Invalid { ref key, .. } if key == "tokens[1].sha256")
        );
        assert!(
            error
                .to_string()
                .starts_with("`http.auth.tokens[1].sha256` is not"),
            "{error}"
        );
    }

    #[test]
    fn without_credentials_everyone_is_refused() {
        let auth = Authenticator::new(&AuthConfig::default()).unwrap();
        assert_eq!(auth.authenticate(None), Err(AuthFailure::Missing));
        assert_eq!(
            auth.authenticate(Some("Bearer ci-token")),
            Err(AuthFailure::UnknownToken)
        );
        assert_eq!(
            auth.authenticate(Some(&format!("Bearer {}", hs256(&claims())))),
            Err(AuthFailure::UnknownToken)
        );
    }

    #[test]
    fn setup_errors_name_the_file_and_problem() {
        let error = Authenticator::new(&pem_config("missing.pem")).unwrap_err();
        assert!(
            matches!(&error, AuthSetupError::KeyFile { path, problem }
                if path.ends_with("missing.pem") && problem.starts_with("cannot read it")),
            "{error}"
        );
        let error = Authenticator::new(&pem_config("rsa-private.pem")).unwrap_err();
        assert!(error.to_string().contains("private key"), "{error}");
        let error = Authenticator::new(&pem_config("jwks.json")).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("is not an RSA or EC P-256 public key"),
            "{error}"
        );
        let mut rsa_only = pem_config("ec-public.pem");
        rsa_only.jwt.as_mut().unwrap().algorithms = vec!["RS256".into()];
        let error = Authenticator::new(&rsa_only).unwrap_err();
        assert!(error.to_string().contains("accept only RS256"), "{error}");

        let jwks = |file: &str| {
            with_jwt(JwtConfig {
                jwks_file: Some(fixture(file)),
                ..jwt_config()
            })
        };
        let error = Authenticator::new(&jwks("rsa-public.pem")).unwrap_err();
        assert!(
            matches!(&error, AuthSetupError::Jwks { problem, .. } if problem.starts_with("is not a JWK Set")),
            "{error}"
        );
        let mut es_only = jwks_config();
        es_only.jwt.as_mut().unwrap().algorithms = vec!["ES256".into()];
        let auth = Authenticator::new(&es_only).unwrap();
        // The RSA key of the set was skipped: its `alg` is not accepted.
        assert_eq!(
            auth.authenticate(Some(&format!("Bearer {}", rs256(None, &claims())))),
            Err(AuthFailure::Malformed(
                "the token is signed with `RS256`, which this server does not accept (it accepts ES256)".into()
            ))
        );
        assert!(
            auth.authenticate(Some(&format!("Bearer {}", es256(None, &claims()))))
                .is_ok()
        );

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.json");
        std::fs::write(
            &path,
            r#"{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"s"}]}"#,
        )
        .unwrap();
        let config = with_jwt(JwtConfig {
            jwks_file: Some(path),
            ..jwt_config()
        });
        let error = Authenticator::new(&config).unwrap_err();
        assert!(
            error.to_string().contains("has no signing key usable"),
            "{error}"
        );
    }

    #[test]
    fn secrets_from_the_environment_are_checked() {
        use std::env::VarError;
        let error = secret_from_env("BERTH_SECRET", Err(VarError::NotPresent)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "environment variable BERTH_SECRET (http.auth.jwt.secret_env): is not set"
        );
        let error = secret_from_env("S", Ok("short".into())).unwrap_err();
        assert!(error.to_string().contains("at least 32"), "{error}");
        assert!(secret_from_env("S", Ok(SECRET.into())).is_ok());
        let config = with_jwt(JwtConfig {
            secret_env: Some("BERTH_TEST_SURELY_UNSET_SECRET".into()),
            ..jwt_config()
        });
        assert!(matches!(
            Authenticator::new(&config),
            Err(AuthSetupError::SecretEnv { .. })
        ));
    }

    #[test]
    fn the_authenticator_is_shareable_and_keeps_secrets_out_of_debug() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Authenticator>();
        let auth = Authenticator::new(&AuthConfig {
            jwt: hs_config().jwt,
            ..static_config()
        })
        .unwrap();
        let debug = format!("{auth:?}");
        assert!(
            debug.contains("\"ci\"") && debug.contains(ISSUER),
            "{debug}"
        );
        assert!(!debug.contains("secret"), "{debug}");
    }

    /// How many full JWT checks `auth` has made.
    fn full_checks(auth: &Authenticator) -> usize {
        auth.full_checks.load(std::sync::atomic::Ordering::Relaxed)
    }

    #[test]
    fn a_verified_jwt_is_checked_once_then_served_from_the_cache() {
        let auth = Authenticator::new(&hs_config()).unwrap();
        let alice = format!("Bearer {}", hs256(&claims()));
        let first = auth.authenticate(Some(&alice)).unwrap();
        for _ in 0..3 {
            assert_eq!(auth.authenticate(Some(&alice)), Ok(first.clone()));
        }
        assert_eq!(full_checks(&auth), 1);
        let bob = format!("Bearer {}", hs256(&with(claims(), "sub", json!("bob"))));
        assert_eq!(auth.authenticate(Some(&bob)).unwrap().subject, "bob");
        assert_eq!(full_checks(&auth), 2, "another token is checked on its own");

        // A refused token is checked again every time, never remembered.
        let forged = format!("{}x", hs256(&claims()));
        for _ in 0..2 {
            assert!(
                auth.authenticate(Some(&format!("Bearer {forged}")))
                    .is_err()
            );
        }
        assert_eq!(full_checks(&auth), 4);
    }

    #[test]
    fn a_jwt_expiring_past_what_the_clock_holds_is_answered_the_same_every_time() {
        let auth = Authenticator::new(&hs_config()).unwrap();
        let token = format!("Bearer {}", hs256(&with(claims(), "exp", json!(u64::MAX))));
        let first = auth.authenticate(Some(&token));
        assert_eq!(auth.authenticate(Some(&token)), first);
    }

    #[test]
    fn a_cached_jwt_is_refused_once_it_expires() {
        let auth = Authenticator::new(&with_jwt(JwtConfig {
            secret: Some(SECRET.into()),
            leeway_secs: 0,
            ..jwt_config()
        }))
        .unwrap();
        let exp = now() + 1;
        let token = format!("Bearer {}", hs256(&with(claims(), "exp", json!(exp))));
        assert!(auth.authenticate(Some(&token)).is_ok());
        assert!(auth.authenticate(Some(&token)).is_ok());
        assert_eq!(full_checks(&auth), 1);
        while now() <= exp {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert_eq!(auth.authenticate(Some(&token)), Err(AuthFailure::Expired));
        assert_eq!(
            full_checks(&auth),
            2,
            "an expired entry sends the token to the check"
        );
    }

    #[test]
    fn the_configs_debug_shows_that_a_secret_is_set_but_not_the_secret() {
        let config = hs_config();
        let secret = config.jwt.as_ref().and_then(|jwt| jwt.secret.clone());
        let secret = secret.expect("the HS256 test config has a secret");
        let debug = format!("{config:?}");
        assert!(!debug.contains(&secret), "{debug}");
        assert!(debug.contains("secret: Some(\"<redacted>\")"), "{debug}");
        assert!(debug.contains(ISSUER), "{debug}");
    }
}
