//! The bundled demo catalog: Hipparcos, the New Reduction (117,955 stars),
//! compiled into the binary with its descriptor so that a fresh install can
//! publish it anywhere (`corvus query --demo`, and `corvus serve --demo`).

use crate::descriptor::Descriptor;
use crate::error::{Error, Result};
use crate::request::{Mode, Request};
use crate::{Report, ingest};
use catalog_store::DataDir;

/// The original fixed-width file, gzip-compressed.
const HIPPARCOS: &[u8] = include_bytes!("../../../data/demo/hip2.dat.gz");
/// Its descriptor.
const DESCRIPTOR: &str = include_str!("../../../data/demo/hipparcos.toml");

/// Publishes the demo catalog as `hip.main` in `dir` (replacing it if there).
pub async fn ingest_demo(dir: &mut DataDir) -> Result<Report> {
    let descriptor: Descriptor = toml::from_str(DESCRIPTOR)
        .map_err(|e| Error::Request(format!("the bundled demo descriptor is broken: {e}")))?;
    let staging = dir.staging_folder()?;
    let file = staging.path().join("hip2.dat.gz");
    std::fs::write(&file, HIPPARCOS).map_err(|e| Error::Input {
        file: file.display().to_string(),
        message: format!("cannot write the demo catalog: {e}"),
    })?;
    let req = Request {
        files: vec![file],
        schema: "hip".into(),
        table: "main".into(),
        descriptor,
        mode: Mode::Replace,
        rows_read: None,
        skip_bad_rows: 0,
        strict: false,
    };
    let outcome = ingest(dir, &req).await;
    drop(staging);
    outcome
}
