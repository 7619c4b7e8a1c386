//! Fetching an uploaded table from the URL an UPLOAD names (TAP 1.1 §2.5.8,
//! DALI 1.1 §3.4.5; TAPRegExt's `upload-http` and `upload-https`), safe
//! against server-side request forgery: a caller must not be able to make
//! the service reach what only the service can reach.
//!
//! - Only public addresses are fetched from ([`non_public`] names every
//!   range refused). The rule applies to the addresses a name resolves to,
//!   and the connection goes to exactly those checked addresses (a
//!   resolver that hands hyper the checked list, so there is no second
//!   lookup for a DNS-rebinding name to answer differently).
//! - Every redirect is a new fetch, checked again, up to a limit.
//! - Hosts the operator lists in `allow_hosts` are trusted and fetched
//!   whatever they resolve to (internal table servers).
//! - The download is bounded in bytes, connection time and total time.
//!
//! Must never know: tables, their formats or queries; it only writes bytes
//! into a file.

use crate::error::ServiceError;
use axum::body::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioExecutor;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use url::{Host, Url};

/// How tables named by URL in an UPLOAD are fetched.
#[derive(Debug, Clone)]
pub struct UrlUploads {
    /// Fetch them at all. On by default: TAP 1.1 §2.5.8 and TAPRegExt
    /// expect a service that takes uploads to take them by URL too.
    pub enabled: bool,
    /// Hosts the operator trusts, fetched whatever addresses they resolve
    /// to (names or IP addresses, matched exactly, ignoring case). Every
    /// other host must resolve to public addresses.
    pub allow_hosts: Vec<String>,
    /// The longest a name may take to resolve, and a connection to open.
    pub connect_timeout: Duration,
    /// The longest a whole fetch may take, redirects included.
    pub timeout: Duration,
    /// The most redirects followed.
    pub max_redirects: u32,
}

impl Default for UrlUploads {
    fn default() -> Self {
        UrlUploads {
            enabled: true,
            allow_hosts: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(120),
            max_redirects: 5,
        }
    }
}

impl UrlUploads {
    /// Whether `host` (as a URL names it) is one the operator trusts. Each
    /// entry is read as a URL's host is (case folded, IDNA, IPv4 in any of
    /// its spellings), so that one host never passes under another spelling.
    fn trusts(&self, host: &Host<&str>) -> bool {
        let host = match host {
            Host::Domain(name) => Host::Domain(name.trim_end_matches('.').to_string()),
            Host::Ipv4(ip) => Host::Ipv4(*ip),
            Host::Ipv6(ip) => Host::Ipv6(*ip),
        };
        self.allow_hosts.iter().any(|allowed| {
            let allowed = allowed.trim().trim_end_matches('.');
            let bare = allowed.trim_start_matches('[').trim_end_matches(']');
            let parsed = match bare.parse::<Ipv6Addr>() {
                Ok(ip) => Ok(Host::Ipv6(ip)),
                Err(_) => Host::parse(allowed),
            };
            parsed.is_ok_and(|a| a == host)
        })
    }
}

/// Why a fetch did not bring the table.
#[derive(Debug)]
enum Failure {
    /// The rules forbid it: the sentence says which rule.
    Refused(String),
    /// The network or the other server failed.
    Failed(String),
    /// The table is over the byte limit.
    TooLarge,
}

/// Downloads `url` into `dest`, at most `max_bytes` (what is left of the
/// request's upload limit), following redirects,
/// as `policy` allows; returns the bytes written. `table` is the upload's
/// name, for the messages.
pub(crate) async fn fetch(
    table: &str,
    url: &str,
    dest: &Path,
    max_bytes: u64,
    policy: &UrlUploads,
) -> Result<u64, ServiceError> {
    let failure = match Url::parse(url) {
        Err(e) => Failure::Failed(format!("it is not a valid URL ({e})")),
        Ok(first) => {
            match tokio::time::timeout(policy.timeout, follow(first, dest, max_bytes, policy)).await
            {
                Ok(Ok(bytes)) => return Ok(bytes),
                Ok(Err(failure)) => failure,
                Err(_) => Failure::Failed(format!(
                    "it was not fetched within this service's limit of {} s",
                    policy.timeout.as_secs()
                )),
            }
        }
    };
    Err(match failure {
        Failure::Refused(why) => {
            ServiceError::BadRequest(format!("UPLOAD {table}: refused to fetch {url}: {why}"))
        }
        Failure::Failed(why) => {
            ServiceError::BadRequest(format!("UPLOAD {table}: cannot fetch {url}: {why}"))
        }
        Failure::TooLarge => ServiceError::TooLarge(format!(
            "UPLOAD {table}: {url} is larger than the {max_bytes} bytes left of this service's upload limit for one request"
        )),
    })
}

/// Fetches `url`, and each URL it redirects to, every one checked anew.
async fn follow(
    mut url: Url,
    dest: &Path,
    max_bytes: u64,
    policy: &UrlUploads,
) -> Result<u64, Failure> {
    let mut redirects = 0;
    loop {
        // After a redirect, a refusal says where it led.
        let via = |why: String| {
            if redirects == 0 {
                why
            } else {
                format!("it redirects to {url}, and {why}")
            }
        };
        let addresses = checked_addresses(&url, policy).await.map_err(|f| match f {
            Failure::Refused(why) => Failure::Refused(via(why)),
            other => other,
        })?;
        let response = get(&url, addresses, policy).await?;
        let status = response.status();
        // The redirects that name where to go (300 offers a choice, 304
        // answers a conditional request, 305 and 306 are retired).
        if matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
            let location = response
                .headers()
                .get(axum::http::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .ok_or_else(|| {
                    Failure::Failed(format!(
                        "{} answered {status} without a readable Location",
                        host_of(&url)
                    ))
                })?;
            let next = url.join(location).map_err(|e| {
                Failure::Failed(format!(
                    "it redirects to '{location}', which is not a URL ({e})"
                ))
            })?;
            if redirects == policy.max_redirects {
                return Err(Failure::Failed(format!(
                    "it redirects more than {} times (at the last, to {next})",
                    policy.max_redirects
                )));
            }
            redirects += 1;
            url = next;
            continue;
        }
        if !status.is_success() {
            return Err(Failure::Failed(format!(
                "{} answered {status}",
                host_of(&url)
            )));
        }
        return download(response, dest, max_bytes).await;
    }
}

/// The host of a URL, for messages.
fn host_of(url: &Url) -> String {
    url.host_str().unwrap_or_default().to_string()
}

/// The addresses `url` may be fetched from: its IP address, or those its
/// name resolves to, less any that is not public (all of them for a host
/// the operator trusts). Refused when none is left.
async fn checked_addresses(url: &Url, policy: &UrlUploads) -> Result<Vec<SocketAddr>, Failure> {
    let scheme = url.scheme();
    if scheme != "http" && scheme != "https" {
        return Err(Failure::Refused(format!(
            "{url} is neither http nor https; only http and https URLs are fetched"
        )));
    }
    let (Some(host), Some(port)) = (url.host(), url.port_or_known_default()) else {
        return Err(Failure::Failed("the URL names no host".into()));
    };
    let trusted = policy.trusts(&host);
    let refused = |shown: &str, ip: IpAddr, rule: String| {
        let what = if shown == ip.to_string() {
            format!("{ip} is {rule}")
        } else {
            format!("{shown} resolves to {ip}, {rule}")
        };
        Failure::Refused(format!("{what}; only public addresses are fetched"))
    };
    let ip = match host {
        Host::Ipv4(ip) => IpAddr::V4(ip),
        Host::Ipv6(ip) => IpAddr::V6(ip),
        Host::Domain(name) => {
            // getaddrinfo, on a blocking thread. What it answers is what is
            // checked and what the connection goes to.
            let resolved: Vec<SocketAddr> = tokio::time::timeout(
                policy.connect_timeout,
                tokio::net::lookup_host((name, port)),
            )
            .await
            .map_err(|_| {
                Failure::Failed(format!(
                    "{name} did not resolve within {} s",
                    policy.connect_timeout.as_secs()
                ))
            })?
            .map_err(|e| Failure::Failed(format!("cannot resolve {name}: {e}")))?
            .collect();
            if trusted {
                return Ok(resolved);
            }
            let mut first_refusal = None;
            let public: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|a| match non_public(a.ip()) {
                    None => true,
                    Some(rule) => {
                        first_refusal.get_or_insert((a.ip(), rule));
                        false
                    }
                })
                .collect();
            return match (public.is_empty(), first_refusal) {
                (false, _) => Ok(public),
                (true, Some((ip, rule))) => Err(refused(name, ip, rule)),
                (true, None) => Err(Failure::Failed(format!("{name} resolves to no address"))),
            };
        }
    };
    match non_public(ip) {
        Some(rule) if !trusted => Err(refused(&ip.to_string(), ip, rule)),
        _ => Ok(vec![SocketAddr::new(ip, port)]),
    }
}

/// A resolver that answers every name with the addresses already checked,
/// so that hyper connects to nothing else.
#[derive(Clone)]
struct Pinned(Vec<SocketAddr>);

impl tower_service::Service<Name> for Pinned {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Name) -> Self::Future {
        std::future::ready(Ok(self.0.clone().into_iter()))
    }
}

/// The TLS settings for https URLs: ring, the Mozilla roots, TLS 1.2 and
/// 1.3; built once.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, Failure> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            use hyper_rustls::ConfigBuilderExt;
            rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map(|b| Arc::new(b.with_webpki_roots().with_no_client_auth()))
            .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|e| Failure::Failed(format!("this service cannot set up TLS: {e}")))
}

/// One GET of `url`, connecting only to `addresses`.
async fn get(
    url: &Url,
    addresses: Vec<SocketAddr>,
    policy: &UrlUploads,
) -> Result<axum::http::Response<hyper::body::Incoming>, Failure> {
    let mut http = HttpConnector::new_with_resolver(Pinned(addresses));
    // The https connector wraps this one and hands it https URLs too.
    http.enforce_http(false);
    http.set_connect_timeout(Some(policy.connect_timeout));
    let connector = hyper_rustls::HttpsConnector::from((http, tls_config()?));
    let client = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build::<_, Empty<Bytes>>(connector);
    let uri: axum::http::Uri = url
        .as_str()
        .parse()
        .map_err(|e| Failure::Failed(format!("it is not a URL this service can request ({e})")))?;
    let request = axum::http::Request::get(uri)
        .header(
            axum::http::header::USER_AGENT,
            concat!("Corvus/", env!("CARGO_PKG_VERSION"), " (TAP upload)"),
        )
        .body(Empty::new())
        .map_err(|e| Failure::Failed(e.to_string()))?;
    client
        .request(request)
        .await
        .map_err(|e| Failure::Failed(format!("no answer from {}: {}", host_of(url), causes(&e))))
}

/// An error and its causes, innermost last, without repeats; hyper's own
/// outer message ("client error (Connect)") says less than its causes.
fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = e.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = cause.source();
    }
    if parts.is_empty() {
        parts.push(e.to_string());
    }
    parts.join(": ")
}

/// Writes the body of `response` into `dest`, refusing past `max_bytes`.
async fn download(
    response: axum::http::Response<hyper::body::Incoming>,
    dest: &Path,
    max_bytes: u64,
) -> Result<u64, Failure> {
    let declared = response
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_bytes) {
        return Err(Failure::TooLarge);
    }
    use tokio::io::AsyncWriteExt;
    let stored = |e: std::io::Error| Failure::Failed(format!("cannot store it: {e}"));
    let mut file = tokio::fs::File::create(dest).await.map_err(stored)?;
    let mut body = response.into_body();
    let mut total: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|e| Failure::Failed(format!("the download broke off: {}", causes(&e))))?;
        if let Some(chunk) = frame.data_ref() {
            total += chunk.len() as u64;
            if total > max_bytes {
                return Err(Failure::TooLarge);
            }
            file.write_all(chunk).await.map_err(stored)?;
        }
    }
    file.flush().await.map_err(stored)?;
    Ok(total)
}

/// Why `ip` is not public, as the rest of a sentence "ADDRESS is ...", or
/// `None` for a public address. The ranges are IANA's special-purpose
/// registries (RFC 6890 and its updates), IPv6 outside global unicast
/// (2000::/3), and IPv6 forms that carry an IPv4 address (mapped,
/// compatible, NAT64, 6to4), which are judged by that address.
pub(crate) fn non_public(ip: IpAddr) -> Option<String> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4).map(str::to_string),
        IpAddr::V6(v6) => non_public_v6(v6),
    }
}

/// IPv4 ranges that are not public, most specific first.
const V4_RANGES: &[([u8; 4], u8, &str)] = &[
    ([0, 0, 0, 0], 32, "the unspecified address"),
    ([0, 0, 0, 0], 8, "a \"this network\" address (0.0.0.0/8)"),
    ([10, 0, 0, 0], 8, "a private address (RFC 1918)"),
    (
        [100, 64, 0, 0],
        10,
        "a carrier-grade NAT address (100.64.0.0/10)",
    ),
    ([127, 0, 0, 0], 8, "a loopback address"),
    (
        [169, 254, 169, 254],
        32,
        "the cloud metadata address (link-local)",
    ),
    ([169, 254, 0, 0], 16, "a link-local address"),
    ([172, 16, 0, 0], 12, "a private address (RFC 1918)"),
    (
        [192, 0, 0, 0],
        24,
        "an IETF protocol address (192.0.0.0/24)",
    ),
    ([192, 0, 2, 0], 24, "a documentation address (RFC 5737)"),
    ([192, 168, 0, 0], 16, "a private address (RFC 1918)"),
    (
        [198, 18, 0, 0],
        15,
        "a benchmarking address (198.18.0.0/15)",
    ),
    ([198, 51, 100, 0], 24, "a documentation address (RFC 5737)"),
    ([203, 0, 113, 0], 24, "a documentation address (RFC 5737)"),
    ([224, 0, 0, 0], 4, "a multicast address"),
    ([255, 255, 255, 255], 32, "the broadcast address"),
    ([240, 0, 0, 0], 4, "a reserved address (240.0.0.0/4)"),
];

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let bits = u32::from(ip);
    V4_RANGES.iter().find_map(|(net, len, rule)| {
        let mask = u32::MAX.checked_shl(32 - u32::from(*len)).unwrap_or(0);
        (bits & mask == u32::from_be_bytes(*net)).then_some(*rule)
    })
}

/// IPv6 ranges that are not public, most specific first; checked after the
/// forms that carry an IPv4 address.
const V6_RANGES: &[(u128, u8, &str)] = &[
    (0, 128, "the unspecified address"),
    (1, 128, "a loopback address"),
    (
        0x0064_ff9b_0001 << 80,
        48,
        "a local-use NAT64 address (64:ff9b:1::/48)",
    ),
    (0x0100 << 112, 64, "a discard-only address (100::/64)"),
    (
        0x2001_0db8 << 96,
        32,
        "a documentation address (2001:db8::/32)",
    ),
    (
        0x2001 << 112,
        23,
        "an IETF special-purpose address (2001::/23)",
    ),
    (0x3fff << 112, 20, "a documentation address (3fff::/20)"),
    (
        0xfc00 << 112,
        7,
        "a private address (unique local, fc00::/7)",
    ),
    (0xfe80 << 112, 10, "a link-local address"),
    (
        0xfec0 << 112,
        10,
        "a site-local address (deprecated, fec0::/10)",
    ),
    (0xff00 << 112, 8, "a multicast address"),
];

fn in_v6(bits: u128, net: u128, len: u8) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    bits & mask == net
}

fn non_public_v6(ip: Ipv6Addr) -> Option<String> {
    let bits = u128::from(ip);
    // Forms that carry an IPv4 address reach that address (mapped ones
    // through this host's own IPv4 stack), so they are judged by it.
    let embedded = |v4: Ipv4Addr, form: &str| {
        non_public_v4(v4).map(|rule| format!("the {form} form of {v4}, {rule}"))
    };
    let low32 = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    if in_v6(bits, 0xffff << 32, 96) {
        return embedded(low32, "IPv4-mapped");
    }
    if bits > 1 && in_v6(bits, 0, 96) {
        return Some(embedded(low32, "IPv4-compatible").unwrap_or_else(|| {
            "a deprecated IPv4-compatible address (::/96), which no host should use".to_string()
        }));
    }
    if in_v6(bits, 0x0064_ff9b << 96, 96) {
        return embedded(low32, "NAT64");
    }
    if in_v6(bits, 0x2002 << 112, 16) {
        return embedded(Ipv4Addr::from((bits >> 80) as u32), "6to4");
    }
    if let Some((_, _, rule)) = V6_RANGES
        .iter()
        .find(|(net, len, _)| in_v6(bits, *net, *len))
    {
        return Some((*rule).to_string());
    }
    (!in_v6(bits, 0x2000 << 112, 3))
        .then(|| "not a global unicast address (outside 2000::/3)".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    fn rule(ip: &str) -> Option<String> {
        non_public(ip.parse().expect("an address"))
    }

    /// The first and last address of every IPv4 range refused, and the rule
    /// each is refused by.
    const V4_REFUSED: &[(&str, &str)] = &[
        ("0.0.0.0", "the unspecified address"),
        ("0.255.255.255", "\"this network\""),
        ("10.0.0.0", "private"),
        ("10.255.255.255", "private"),
        ("100.64.0.0", "carrier-grade NAT"),
        ("100.127.255.255", "carrier-grade NAT"),
        ("127.0.0.1", "loopback"),
        ("127.255.255.255", "loopback"),
        ("169.254.169.254", "cloud metadata"),
        ("169.254.0.0", "link-local"),
        ("169.254.255.255", "link-local"),
        ("172.16.0.0", "private"),
        ("172.31.255.255", "private"),
        ("192.0.0.0", "IETF protocol"),
        ("192.0.0.255", "IETF protocol"),
        ("192.0.2.0", "documentation"),
        ("192.0.2.255", "documentation"),
        ("192.168.0.0", "private"),
        ("192.168.255.255", "private"),
        ("198.18.0.0", "benchmarking"),
        ("198.19.255.255", "benchmarking"),
        ("198.51.100.7", "documentation"),
        ("203.0.113.255", "documentation"),
        ("224.0.0.0", "multicast"),
        ("239.255.255.255", "multicast"),
        ("240.0.0.0", "reserved"),
        ("255.255.255.254", "reserved"),
        ("255.255.255.255", "broadcast"),
    ];

    #[test]
    fn every_non_public_ipv4_range_is_refused_by_its_rule() {
        for (ip, want) in V4_REFUSED {
            let got = rule(ip).unwrap_or_else(|| panic!("{ip} passed"));
            assert!(got.contains(want), "{ip}: {got}");
        }
    }

    #[test]
    fn public_ipv4_addresses_pass_including_the_neighbours_of_each_range() {
        for ip in [
            "1.0.0.0",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "169.253.255.255",
            "169.255.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.0",
            "192.0.3.0",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "198.51.99.255",
            "203.0.112.255",
            "203.0.114.0",
            "223.255.255.255",
        ] {
            assert_eq!(rule(ip), None, "{ip}");
        }
    }

    #[test]
    fn every_non_public_ipv6_range_is_refused_by_its_rule() {
        for (ip, want) in [
            ("::", "the unspecified address"),
            ("::1", "loopback"),
            ("64:ff9b:1::1", "local-use NAT64"),
            ("100::1", "discard-only"),
            ("2001:db8::1", "documentation"),
            ("2001::1", "IETF special-purpose"),
            ("2001:1ff:ffff::1", "IETF special-purpose"),
            ("3fff:fff::1", "documentation"),
            ("fc00::1", "unique local"),
            ("fd00:ec2::254", "unique local"),
            ("fdff:ffff::1", "unique local"),
            ("fe80::1", "link-local"),
            ("febf:ffff::1", "link-local"),
            ("fec0::1", "site-local"),
            ("ff02::1", "multicast"),
            ("ffff::1", "multicast"),
            ("4000::1", "outside 2000::/3"),
            ("1fff::1", "outside 2000::/3"),
            ("::2", "IPv4-compatible"),
        ] {
            let got = rule(ip).unwrap_or_else(|| panic!("{ip} passed"));
            assert!(got.contains(want), "{ip}: {got}");
        }
    }

    #[test]
    fn public_ipv6_addresses_pass() {
        for ip in [
            "2606:4700:4700::1111",
            "2a00:1450:4001::1",
            "2001:200::1",
            "2001:db7:ffff::1",
            "2001:db9::1",
            "3ffe::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert_eq!(rule(ip), None, "{ip}");
        }
    }

    #[test]
    fn ipv6_forms_of_a_refused_ipv4_address_are_refused_by_its_rule() {
        for (v4, want) in V4_REFUSED {
            let b = v4.parse::<Ipv4Addr>().expect("an address").octets();
            let (hi, lo) = (
                u16::from_be_bytes([b[0], b[1]]),
                u16::from_be_bytes([b[2], b[3]]),
            );
            let mut forms = vec![
                (format!("::ffff:{v4}"), "IPv4-mapped"),
                (format!("64:ff9b::{v4}"), "NAT64"),
                (format!("2002:{hi:x}:{lo:x}::1"), "6to4"),
            ];
            // ::0.0.0.0 and ::0.0.0.1 are :: and ::1.
            if u32::from_be_bytes(b) > 1 {
                forms.push((format!("::{v4}"), "IPv4-compatible"));
            }
            for (v6, form) in forms {
                let got = rule(&v6).unwrap_or_else(|| panic!("{v6} passed"));
                assert!(
                    got.contains(form) && got.contains(v4) && got.contains(want),
                    "{v6}: {got}"
                );
            }
        }
    }

    /// A loopback HTTP server for `connections` connections, answering
    /// each with what `answer` makes of the request path; returns its port
    /// and a handle that yields the paths it was asked for.
    fn serve(
        connections: usize,
        answer: impl Fn(&str, u16) -> String + Send + 'static,
    ) -> (u16, std::thread::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let port = listener.local_addr().expect("its address").port();
        let handle = std::thread::spawn(move || {
            let mut paths = Vec::new();
            for _ in 0..connections {
                let Ok((mut stream, _)) = listener.accept() else {
                    break;
                };
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                // Up to the end of the headers, or one read of anything
                // that is not HTTP (a TLS handshake).
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                    if !request[0].is_ascii_uppercase() {
                        break;
                    }
                }
                let text = String::from_utf8_lossy(&request);
                let path = text.split(' ').nth(1).unwrap_or_default().to_string();
                let _ = stream.write_all(answer(&path, port).as_bytes());
                paths.push(path);
            }
            paths
        });
        (port, handle)
    }

    fn ok(body: &str) -> String {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    fn redirect(to: &str) -> String {
        format!(
            "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
    }

    fn trusting(hosts: &[&str]) -> UrlUploads {
        UrlUploads {
            allow_hosts: hosts.iter().map(|h| h.to_string()).collect(),
            timeout: Duration::from_secs(30),
            ..UrlUploads::default()
        }
    }

    /// A listener no fetch may reach: after the fetch, nothing is waiting
    /// to be accepted (a connection would be queued even if not accepted).
    fn untouchable() -> (TcpListener, u16) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        listener.set_nonblocking(true).expect("non-blocking");
        let port = listener.local_addr().expect("its address").port();
        (listener, port)
    }

    fn assert_untouched(listener: &TcpListener) {
        match listener.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            other => panic!("the listener was reached: {other:?}"),
        }
    }

    async fn try_fetch(url: &str, policy: &UrlUploads) -> (Result<u64, ServiceError>, String) {
        let dir = tempfile::tempdir().expect("a temp folder");
        let dest = dir.path().join("t");
        let result = fetch("t", url, &dest, 1000, policy).await;
        let body = std::fs::read_to_string(&dest).unwrap_or_default();
        (result, body)
    }

    fn message(result: Result<u64, ServiceError>) -> String {
        match result {
            Ok(n) => panic!("fetched {n} bytes"),
            Err(e) => e.to_string(),
        }
    }

    #[tokio::test]
    async fn loopback_by_address_or_by_name_is_refused_without_connecting() {
        let (listener, port) = untouchable();
        let policy = UrlUploads::default();
        for (url, want) in [
            (
                format!("http://127.0.0.1:{port}/t.csv"),
                format!(
                    "UPLOAD t: refused to fetch http://127.0.0.1:{port}/t.csv: 127.0.0.1 is a loopback address; only public addresses are fetched"
                ),
            ),
            (
                format!("http://localhost:{port}/t.csv"),
                "localhost resolves to".to_string(),
            ),
            (
                format!("http://[::ffff:127.0.0.1]:{port}/t.csv"),
                "the IPv4-mapped form of 127.0.0.1, a loopback address".to_string(),
            ),
            // The WHATWG URL parser reads 2130706433 and 0x7f.1 as 127.0.0.1.
            (
                format!("http://2130706433:{port}/t.csv"),
                "127.0.0.1 is a loopback address".to_string(),
            ),
            (
                format!("http://0x7f.1:{port}/t.csv"),
                "127.0.0.1 is a loopback address".to_string(),
            ),
            (
                format!("https://127.0.0.1:{port}/t.csv"),
                "127.0.0.1 is a loopback address".to_string(),
            ),
        ] {
            let (result, _) = try_fetch(&url, &policy).await;
            let got = message(result);
            assert!(got.contains(&want), "{url}: {got}");
            assert!(got.contains("only public addresses are fetched"), "{got}");
        }
        assert_untouched(&listener);
    }

    #[tokio::test]
    async fn a_trusted_host_is_fetched() {
        let (port, server) = serve(1, |_, _| ok("a,b\n1,2\n"));
        let (result, body) = try_fetch(
            &format!("http://127.0.0.1:{port}/t.csv"),
            &trusting(&["127.0.0.1"]),
        )
        .await;
        assert_eq!(result.expect("fetched"), 8);
        assert_eq!(body, "a,b\n1,2\n");
        assert_eq!(server.join().expect("the server"), ["/t.csv"]);
    }

    #[tokio::test]
    async fn a_redirect_from_a_trusted_host_is_checked_again() {
        let (listener, target) = untouchable();
        let to = format!("http://localhost:{target}/t.csv");
        let location = to.clone();
        let (port, server) = serve(1, move |_, _| redirect(&location));
        let (result, _) = try_fetch(
            &format!("http://127.0.0.1:{port}/r"),
            &trusting(&["127.0.0.1"]),
        )
        .await;
        let got = message(result);
        assert!(
            got.contains(&format!(
                "refused to fetch http://127.0.0.1:{port}/r: it redirects to {to}, and localhost resolves to"
            )),
            "{got}"
        );
        assert_eq!(server.join().expect("the server"), ["/r"]);
        assert_untouched(&listener);
    }

    #[tokio::test]
    async fn redirects_are_followed_up_to_the_limit() {
        // Two relative redirects, then the table.
        let (port, server) = serve(3, |path, _| match path {
            "/a" => redirect("/b"),
            "/b" => redirect("c"),
            _ => ok("x\n1\n"),
        });
        let (result, body) = try_fetch(
            &format!("http://127.0.0.1:{port}/a"),
            &trusting(&["127.0.0.1"]),
        )
        .await;
        assert_eq!((result.expect("fetched"), body.as_str()), (4, "x\n1\n"));
        assert_eq!(server.join().expect("the server"), ["/a", "/b", "/c"]);

        let policy = UrlUploads {
            max_redirects: 2,
            ..trusting(&["127.0.0.1"])
        };
        let (port, server) = serve(3, |_, port| {
            redirect(&format!("http://127.0.0.1:{port}/again"))
        });
        let got = message(
            try_fetch(&format!("http://127.0.0.1:{port}/a"), &policy)
                .await
                .0,
        );
        assert!(got.contains("it redirects more than 2 times"), "{got}");
        assert_eq!(server.join().expect("the server").len(), 3);
    }

    #[tokio::test]
    async fn a_redirect_to_another_scheme_is_refused() {
        let (port, server) = serve(1, |_, _| redirect("file:///etc/passwd"));
        let got = message(
            try_fetch(
                &format!("http://127.0.0.1:{port}/a"),
                &trusting(&["127.0.0.1"]),
            )
            .await
            .0,
        );
        assert!(
            got.contains("it redirects to file:///etc/passwd, and file:///etc/passwd is neither http nor https"),
            "{got}"
        );
        server.join().expect("the server");
    }

    #[tokio::test]
    async fn the_byte_limit_holds_with_or_without_a_declared_length() {
        let big = "x".repeat(1001);
        let declared = ok(&big);
        let (port, server) = serve(1, move |_, _| declared.clone());
        let (result, _) = try_fetch(
            &format!("http://127.0.0.1:{port}/big"),
            &trusting(&["127.0.0.1"]),
        )
        .await;
        let Err(ServiceError::TooLarge(m)) = result else {
            panic!("not refused as too large: {result:?}");
        };
        assert!(
            m.contains("larger than the 1000 bytes left of this service's upload limit"),
            "{m}"
        );
        server.join().expect("the server");

        let undeclared = format!("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{big}");
        let (port, server) = serve(1, move |_, _| undeclared.clone());
        let (result, _) = try_fetch(
            &format!("http://127.0.0.1:{port}/big"),
            &trusting(&["127.0.0.1"]),
        )
        .await;
        assert!(
            matches!(result, Err(ServiceError::TooLarge(_))),
            "{result:?}"
        );
        server.join().expect("the server");
    }

    #[tokio::test]
    async fn an_error_status_and_a_closed_port_are_reported() {
        let (port, server) = serve(1, |_, _| {
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into()
        });
        let got = message(
            try_fetch(
                &format!("http://127.0.0.1:{port}/x"),
                &trusting(&["127.0.0.1"]),
            )
            .await
            .0,
        );
        assert!(
            got.contains(&format!(
                "cannot fetch http://127.0.0.1:{port}/x: 127.0.0.1 answered 404 Not Found"
            )),
            "{got}"
        );
        server.join().expect("the server");

        // A port nobody listens on: bound, then released.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a port")
            .port();
        let got = message(
            try_fetch(
                &format!("http://127.0.0.1:{port}/x"),
                &trusting(&["127.0.0.1"]),
            )
            .await
            .0,
        );
        assert!(got.contains("no answer from 127.0.0.1"), "{got}");
    }

    #[tokio::test]
    async fn https_urls_are_fetched_over_tls() {
        // A plain HTTP server asked for TLS: the handshake fails, so the
        // request went out as TLS and nothing was read as a table.
        let (port, server) = serve(1, |_, _| ok("a\n1\n"));
        let (result, body) = try_fetch(
            &format!("https://127.0.0.1:{port}/t"),
            &trusting(&["127.0.0.1"]),
        )
        .await;
        let got = message(result);
        assert!(
            got.contains(&format!("cannot fetch https://127.0.0.1:{port}/t")),
            "{got}"
        );
        assert_eq!(body, "");
        server.join().expect("the server");
    }

    #[test]
    fn trust_matches_names_and_addresses_exactly() {
        let policy = trusting(&["Tables.Internal", "10.1.2.3", "[fd00::1]", "Bücher.example"]);
        assert!(policy.trusts(&Host::Domain("xn--bcher-kva.example")));
        assert!(policy.trusts(&Host::Domain("tables.internal")));
        assert!(policy.trusts(&Host::Domain("tables.internal.")));
        assert!(!policy.trusts(&Host::Domain("evil.tables.internal")));
        assert!(!policy.trusts(&Host::Domain("tables.internal.evil.org")));
        assert!(policy.trusts(&Host::Ipv4(Ipv4Addr::new(10, 1, 2, 3))));
        assert!(!policy.trusts(&Host::Ipv4(Ipv4Addr::new(10, 1, 2, 4))));
        assert!(policy.trusts(&Host::Ipv6("fd00:0::1".parse().expect("an address"))));
    }
}
