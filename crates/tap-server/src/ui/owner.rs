//! Who a browser is, until accounts exist: a random token in a cookie that
//! the page sets, standing for an owner of its own. The owner's name is a
//! hash of the token, so a job's owner (which UWS shows) never gives the
//! token away. Result links handed to another program (a SAMP hub, which
//! has no cookie) carry a key instead: an HMAC of the job's identifier.

use axum::http::{HeaderMap, HeaderValue, header};
use ring::{digest, hmac, rand};

/// The cookie's name.
pub(crate) const COOKIE: &str = "corvus_browser";
/// Its token's length in hexadecimal digits (128 random bits).
const TOKEN_DIGITS: usize = 32;

/// The browser token the request's cookie carries, if well formed.
pub(crate) fn browser_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|v| v.len() == TOKEN_DIGITS && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The owner a browser token stands for.
pub(crate) fn browser_owner(token: &str) -> String {
    let hash = digest::digest(&digest::SHA256, token.to_ascii_lowercase().as_bytes());
    format!("browser-{}", hex(&hash.as_ref()[..8]))
}

/// A new browser token.
pub(crate) fn new_token() -> Option<String> {
    let bytes: [u8; TOKEN_DIGITS / 2] = rand::generate(&rand::SystemRandom::new()).ok()?.expose();
    Some(hex(&bytes))
}

/// The `Set-Cookie` value that gives a browser `token` for a year; not
/// readable by scripts, not sent by other sites' requests, and, when the
/// service is public over https, never sent over plain http.
pub(crate) fn set_cookie(token: &str, https: bool) -> HeaderValue {
    let secure = if https { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={token}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The key of shared result links, random for each start of the service;
/// none (and so no shared links) if the system has no randomness to give,
/// rather than a key anyone could guess.
pub(crate) fn new_link_key() -> Option<hmac::Key> {
    hmac::Key::generate(hmac::HMAC_SHA256, &rand::SystemRandom::new()).ok()
}

/// The key that opens job `id`'s result to whoever has the link.
pub(crate) fn link_key(key: &hmac::Key, id: &str) -> String {
    hex(&hmac::sign(key, id.as_bytes()).as_ref()[..16])
}

/// True when `given` is job `id`'s link key (compared in constant time).
pub(crate) fn link_key_matches(key: &hmac::Key, id: &str, given: &str) -> bool {
    let expected = link_key(key, id);
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_read_from_among_other_cookies_and_checked() {
        let token = new_token().unwrap_or_default();
        assert_eq!(token.len(), TOKEN_DIGITS);
        let mut headers = HeaderMap::new();
        let cookie = format!("theme=dark; {COOKIE}={token}; x=1");
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static("")),
        );
        assert_eq!(browser_token(&headers), Some(token.as_str()));
        let mut forged = HeaderMap::new();
        forged.insert(
            header::COOKIE,
            HeaderValue::from_static("corvus_browser=../../etc/passwd"),
        );
        assert_eq!(browser_token(&forged), None);
    }

    #[test]
    fn owners_hide_their_tokens_and_differ() {
        let (a, b) = (
            new_token().unwrap_or_default(),
            new_token().unwrap_or_default(),
        );
        assert_ne!(a, b);
        let owner = browser_owner(&a);
        assert!(
            owner.starts_with("browser-") && !owner.contains(&a),
            "{owner}"
        );
        assert_ne!(owner, browser_owner(&b));
        assert_eq!(owner, browser_owner(&a.to_ascii_uppercase()));
    }

    #[test]
    fn link_keys_open_their_own_job_only() {
        let (Some(key), Some(other)) = (new_link_key(), new_link_key()) else {
            panic!("this system gives no random keys");
        };
        let k = link_key(&key, "job1");
        assert!(link_key_matches(&key, "job1", &k));
        assert!(!link_key_matches(&key, "job2", &k));
        assert!(!link_key_matches(&key, "job1", &k[..10]));
        assert!(!link_key_matches(&other, "job1", &k));
    }

    #[test]
    fn cookies_are_secure_when_the_service_is_public_over_https() {
        let plain = set_cookie("ab", false);
        assert!(!plain.to_str().unwrap_or_default().contains("Secure"));
        let secure = set_cookie("ab", true);
        assert!(
            secure
                .to_str()
                .unwrap_or_default()
                .ends_with("; SameSite=Lax; Secure")
        );
    }
}
