//! Builds the web interface (`web/`, TypeScript bundled by Vite) into
//! OUT_DIR and writes the table that embeds its files, so that one binary
//! serves everything. npm installs the front end's packages only when
//! `web/node_modules` is missing or older than `package-lock.json`, and
//! prefers its cache, so a build without network after the first works.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let web = manifest.join("../../web");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("web");
    for input in [
        "src",
        "index.html",
        "package.json",
        "package-lock.json",
        "vite.config.ts",
        "tsconfig.json",
    ] {
        println!("cargo:rerun-if-changed={}", web.join(input).display());
    }
    println!("cargo:rerun-if-env-changed=CORVUS_NPM");
    let npm = std::env::var("CORVUS_NPM").unwrap_or_else(|_| "npm".into());

    // Without npm the service still builds and runs (TAP needs no page):
    // the page then says how to get the interface, and this script runs
    // again on every build until npm is there.
    if Command::new(&npm).arg("--version").output().is_err() {
        println!(
            "cargo:warning=npm was not found, so the web interface is not built (the TAP service is); install Node.js 20 and npm (Debian: apt-get install nodejs npm) and build again"
        );
        println!(
            "cargo:rerun-if-changed={}",
            out.join("npm-missing").display()
        );
        std::fs::create_dir_all(&out).expect("OUT_DIR is writable");
        std::fs::write(out.join("index.html"), NO_NPM_PAGE).expect("OUT_DIR is writable");
        write_table(&out);
        return;
    }

    if needs_install(&web) {
        run(
            Command::new(&npm)
                .args(["install", "--no-audit", "--no-fund", "--prefer-offline"])
                .current_dir(&web),
            &npm,
        );
    }
    run(
        Command::new(&npm)
            .args(["run", "--silent", "build"])
            .env("CORVUS_WEB_OUT", &out)
            .current_dir(&web),
        &npm,
    );
    write_table(&out);
}

/// The page served when the interface could not be built.
const NO_NPM_PAGE: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Corvus</title></head><body><h1>Corvus</h1><p>This binary was built without Node.js and npm, so it has no web interface. Install Node.js 20 and npm (Debian: <code>apt-get install nodejs npm</code>) and build again. The TAP service works: <a href=\"tap\">tap</a>.</p></body></html>\n";

/// True when `node_modules` is missing or older than the lock file.
fn needs_install(web: &Path) -> bool {
    let modified = |p: PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (
        modified(web.join("node_modules/.package-lock.json")),
        modified(web.join("package-lock.json")),
    ) {
        (Some(installed), Some(locked)) => installed < locked,
        _ => true,
    }
}

fn run(command: &mut Command, npm: &str) {
    let status = command.status().unwrap_or_else(|e| {
        panic!(
            "cannot run {npm} ({e}): the web interface is built with Node.js 20 and npm; install them (Debian: apt-get install nodejs npm) and build again"
        )
    });
    assert!(
        status.success(),
        "building the web interface failed ({command:?} exited with {status}); its output is above"
    );
}

/// `assets.rs` in OUT_DIR: every built file as (path, bytes).
fn write_table(out: &Path) {
    let mut files = Vec::new();
    collect(out, out, &mut files);
    files.sort();
    let mut table = String::from(
        "/// Every built file: its path from the bundle's root, and its bytes.\npub static FILES: &[(&str, &[u8])] = &[\n",
    );
    for (name, path) in &files {
        table.push_str(&format!("    ({name:?}, include_bytes!({path:?})),\n"));
    }
    table.push_str("];\n");
    let target = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("assets.rs");
    std::fs::write(target, table).expect("OUT_DIR is writable");
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    let entries = std::fs::read_dir(dir).expect("the bundle was just built");
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, files);
        } else if let Ok(name) = path.strip_prefix(root) {
            files.push((
                name.to_string_lossy().replace('\\', "/"),
                path.to_string_lossy().into_owned(),
            ));
        }
    }
}
