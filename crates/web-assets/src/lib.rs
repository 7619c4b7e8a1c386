//! The web interface's files, built from `web/` by Vite when this crate
//! builds (see `build.rs`) and embedded: the binary serves them without a
//! file beside it. `tap-server`'s `ui` module serves them over HTTP.
//!
//! **Boundary:** bytes and media types only; no HTTP.

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// One embedded file.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// Its bytes.
    pub bytes: &'static [u8],
    /// Its media type.
    pub mime: &'static str,
    /// True when its name carries a hash of its content (Vite's `ui/`
    /// folder), so a browser may keep it for good.
    pub immutable: bool,
}

/// The page itself.
pub const INDEX: &str = "index.html";

/// The file at `path` (relative to the bundle's root, e.g. `ui/index-3f2a.js`).
pub fn get(path: &str) -> Option<Asset> {
    let bytes = FILES
        .iter()
        .find(|(name, _)| *name == path)
        .map(|(_, bytes)| *bytes)?;
    Some(Asset {
        bytes,
        mime: mime_of(path),
        immutable: path.starts_with("ui/"),
    })
}

/// The media type of a file, from its extension.
fn mime_of(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_and_its_script_are_embedded() {
        let index = get(INDEX).expect("index.html is built");
        assert_eq!(index.mime, "text/html; charset=utf-8");
        assert!(!index.immutable);
        let page = std::str::from_utf8(index.bytes).expect("the page is text");
        // Vite rewrote the entry to a hashed file in ui/, which is embedded.
        let script = page
            .split("src=\"./")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the page loads a script");
        let asset = get(script).unwrap_or_else(|| panic!("{script} is embedded"));
        assert!(asset.immutable);
        assert_eq!(asset.mime, "text/javascript; charset=utf-8");
    }

    #[test]
    fn unknown_paths_are_not_found() {
        assert!(get("ui/nothing.js").is_none());
        assert!(get("../Cargo.toml").is_none());
    }
}
