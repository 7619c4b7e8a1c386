//! Uploads on a cluster: with a shared data directory, a session's
//! uploaded table is written there as Parquet for the workers to read, a
//! query joining it with a catalog table gives one process's answer, and
//! the folder goes only when the session and its last query are gone.

#![allow(clippy::unwrap_used)] // a panic is a failed test

use catalog_model::AllowAll;
use query_engine::{Engine, QueryOptions, UploadedTable};
use std::path::Path;
use std::time::{Duration, Instant};
use test_support::fixture;

const JOIN: &str = "SELECT COUNT(*) AS n, SUM(s.id) AS total, MAX(u.name) AS last \
                    FROM TAP_UPLOAD.mine AS u JOIN fix.stars AS s ON u.id = s.id";

/// The fixture's stars, uploaded as TAP_UPLOAD.mine.
fn upload() -> Vec<UploadedTable> {
    let stars = fixture::tables()
        .into_iter()
        .find(|t| t.info.name == "stars")
        .unwrap();
    let mut info = stars.info;
    info.schema = "TAP_UPLOAD".into();
    info.name = "mine".into();
    vec![(info, stars.schema, stars.parts)]
}

async fn answer(engine: &Engine) -> String {
    let translation = engine.translate(JOIN, &AllowAll).unwrap();
    let (_, batches) = engine
        .collect(&translation, QueryOptions::default())
        .await
        .unwrap();
    datafusion::arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string()
}

/// The files in the staging folders of the data directory at `root`
/// (not the folders' lock files beside them).
fn staged_files(root: &Path) -> Vec<String> {
    let staging = root.join("tables").join(".staging");
    let mut files = Vec::new();
    let entries = std::fs::read_dir(&staging).into_iter().flatten().flatten();
    for folder in entries.filter(|e| e.path().is_dir()) {
        for entry in walk(&folder.path()) {
            files.push(entry.strip_prefix(&staging).unwrap().display().to_string());
        }
    }
    files
}

fn walk(path: &Path) -> Vec<std::path::PathBuf> {
    if path.is_dir() {
        std::fs::read_dir(path)
            .unwrap()
            .flatten()
            .flat_map(|e| walk(&e.path()))
            .collect()
    } else {
        vec![path.to_path_buf()]
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_staged_in_the_shared_data_directory_and_removed_after() {
    let cluster = cluster::start_local(2, 1).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let engine = fixture::engine_on_cluster(&cluster.scheduler, dir.path()).await;
    let session = engine.with_uploads(upload()).await.unwrap();

    let files = staged_files(dir.path());
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].ends_with("upload-0/part-0.parquet"), "{files:?}");
    let plan = session
        .explain(&session.translate(JOIN, &AllowAll).unwrap())
        .await
        .unwrap();
    assert!(plan.contains("DistributedQueryExec"), "{plan}");

    let one_process = fixture::engine().with_tables(upload()).unwrap();
    assert_eq!(answer(&session).await, answer(&one_process).await);

    // The session goes while a query that reads the upload still runs.
    let translation = session.translate(JOIN, &AllowAll).unwrap();
    let mut stream = session
        .execute(&translation, QueryOptions::default())
        .await
        .unwrap();
    drop(session);
    assert_eq!(
        staged_files(dir.path()).len(),
        1,
        "removed under a running query"
    );
    let mut rows = 0;
    while let Some(batch) = stream.next().await {
        rows += batch.unwrap().num_rows();
    }
    assert_eq!(rows, 1);
    drop(stream);
    // The query's producer lets go of the folder as it ends, on its own
    // thread; the folder goes first, then its lock file.
    let staging = dir.path().join("tables").join(".staging");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left: Vec<_> = std::fs::read_dir(&staging)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        if left.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "left in .staging: {left:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
