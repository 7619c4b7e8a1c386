//! Every route of `app()`, driven in process without a socket (the axum
//! `oneshot` pattern), over the fixture catalog: statuses, content types,
//! documents, errors and encodings, so the HTTP behaviour does not rest on
//! the Python suite alone.

#![allow(clippy::unwrap_used)] // test helpers: a panic is a failed test

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Answer, send};
use std::io::Read;
use std::sync::Arc;
use tap_server::{AppState, Limits};

fn state() -> Arc<AppState> {
    let mut engine = test_support::fixture::engine();
    test_support::fixture::add_sky_table(&mut engine, "sky", "spiral", 100_000);
    engine.publish_tap_schema().unwrap();
    Arc::new(AppState::new(
        engine,
        "http://corvus.test/tap".into(),
        Limits::default(),
    ))
}

impl Answer {
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

async fn get(state: &Arc<AppState>, uri: &str) -> Answer {
    send(state, Request::get(uri).body(Body::empty()).unwrap()).await
}

/// A GET with `Accept-Encoding: encoding`.
async fn get_encoded(state: &Arc<AppState>, uri: &str, encoding: &str) -> Answer {
    let request = Request::get(uri)
        .header(header::ACCEPT_ENCODING, encoding)
        .body(Body::empty())
        .unwrap();
    send(state, request).await
}

fn sync(query: &str, extra: &str) -> String {
    let q = test_support::percent_encode(query);
    format!("/tap/sync?LANG=ADQL&QUERY={q}{extra}")
}

#[tokio::test]
async fn the_root_lists_the_endpoints() {
    let s = state();
    for path in ["/", "/tap"] {
        let a = get(&s, path).await;
        assert_eq!(a.status, StatusCode::OK);
        assert!(
            a.text().contains("http://corvus.test/tap/sync"),
            "{}",
            a.text()
        );
    }
}

#[tokio::test]
async fn vosi_documents_answer() {
    let s = state();
    let a = get(&s, "/tap/availability").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.text().contains("<vosi:available>true</vosi:available>"));
    let a = get(&s, "/tap/capabilities").await;
    assert!(a.text().contains("ivo://ivoa.net/std/TAP"), "{}", a.text());
    assert!(a.text().contains("<executionDuration>"));
    let a = get(&s, "/tap/tables").await;
    assert!(a.text().contains("<name>fix.stars</name>"));
    assert!(a.text().contains("<column>"));
    let a = get(&s, "/tap/tables?detail=min").await;
    assert!(a.text().contains("<name>fix.stars</name>") && !a.text().contains("<column>"));
    let a = get(&s, "/tap/tables/fix.stars").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.text().contains("<unit>deg</unit>"));
    let a = get(&s, "/tap/tables/no.such").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(a.text().contains("QUERY_STATUS") && a.text().contains("no table no.such"));
}

#[tokio::test]
async fn examples_registry_record_and_metrics_answer() {
    let s = state();
    let a = get(&s, "/tap/examples").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.text().contains("vocab="), "{}", a.text());
    let a = get(&s, "/tap/resource").await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.text().contains("vs:CatalogService"));
    let a = get(&s, "/metrics").await;
    assert!(
        a.text().contains("corvus_queries_running{lane=\"long\"} 0"),
        "{}",
        a.text()
    );
    assert!(
        a.text()
            .contains("corvus_queries_waiting{lane=\"quick\"} 0")
    );
    assert!(a.text().contains("corvus_query_memory_bytes 0"));
}

#[tokio::test]
async fn a_sync_query_answers_in_each_format() {
    let s = state();
    let a = get(&s, &sync("SELECT id, ra FROM fix.stars ORDER BY id", "")).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.header(header::CONTENT_TYPE), "application/x-votable+xml");
    assert!(
        a.text()
            .contains("<FIELD name=\"ra\" datatype=\"double\" unit=\"deg\""),
        "{}",
        a.text()
    );
    assert!(a.text().contains("name=\"QUERY_STATUS\" value=\"OK\""));
    let a = get(
        &s,
        &sync(
            "SELECT TOP 2 id FROM fix.stars ORDER BY id",
            "&RESPONSEFORMAT=csv",
        ),
    )
    .await;
    assert_eq!(a.header(header::CONTENT_TYPE), "text/csv");
    assert_eq!(a.text(), "id\r\n1\r\n2\r\n");
    let a = get(&s, &sync("SELECT id FROM fix.stars", "&MAXREC=1")).await;
    assert!(a.text().contains("value=\"OVERFLOW\""), "{}", a.text());
    let a = get(
        &s,
        &sync("SELECT id FROM fix.stars", "&RESPONSEFORMAT=parquet"),
    )
    .await;
    assert!(a.body.starts_with(b"PAR1"));
}

#[tokio::test]
async fn sync_errors_are_dali_documents_with_their_status() {
    let s = state();
    let a = get(&s, &sync("SELECT raa FROM fix.stars", "")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.text().contains("line 1, column 8"), "{}", a.text());
    assert!(a.text().contains("did you mean"), "{}", a.text());
    let a = get(&s, "/tap/sync?QUERY=SELECT+1").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.text().contains("LANG is missing"));
    let a = get(&s, &sync("SELECT id / 0 FROM fix.stars", "")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text());
    assert!(a.text().contains("QUERY_STATUS"));
    let a = get(&s, "/no/such/route").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(a.text().contains("nothing at /no/such/route"));
}

#[tokio::test]
async fn a_form_post_and_a_multipart_upload_are_queried() {
    let s = state();
    let form = Request::post("/tap/sync")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(
            "LANG=ADQL&RESPONSEFORMAT=csv&QUERY=SELECT+TOP+1+id+FROM+fix.stars+ORDER+BY+id",
        ))
        .unwrap();
    let a = send(&s, form).await;
    assert_eq!(a.text(), "id\r\n1\r\n");
    let upload = multipart(
        "corvusboundary",
        &[
            ("LANG", None, "ADQL"),
            ("RESPONSEFORMAT", None, "csv"),
            ("UPLOAD", None, "mine,param:t"),
            (
                "QUERY",
                None,
                "SELECT x * 2 AS y FROM TAP_UPLOAD.mine ORDER BY y",
            ),
            ("t", Some("t.csv"), "x\n1\n2\n"),
        ],
    );
    let a = send(&s, upload).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.text(), "y\r\n2\r\n4\r\n");
}

#[tokio::test]
async fn results_are_compressed_as_the_client_accepts_except_parquet() {
    let s = state();
    let uri = sync(
        "SELECT id, ra, dec FROM fix.stars ORDER BY id",
        "&RESPONSEFORMAT=binary2",
    );
    let plain = get(&s, &uri).await;
    let gzip = get_encoded(&s, &uri, "gzip, deflate").await;
    assert_eq!(gzip.header(header::CONTENT_ENCODING), "gzip");
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&gzip.body[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, plain.body);
    let zstd = get_encoded(&s, &uri, "gzip, zstd").await;
    assert_eq!(zstd.header(header::CONTENT_ENCODING), "zstd");
    assert_eq!(
        zstd::stream::decode_all(&zstd.body[..]).unwrap(),
        plain.body
    );
    let parquet = get_encoded(
        &s,
        &sync("SELECT id FROM fix.stars", "&RESPONSEFORMAT=parquet"),
        "gzip",
    )
    .await;
    assert_eq!(parquet.header(header::CONTENT_ENCODING), "");
    assert!(parquet.body.starts_with(b"PAR1"));
}

#[tokio::test]
async fn cone_search_answers_and_errs_in_its_own_dialect() {
    let s = state();
    let a = get(&s, "/scs/fix.stars?RA=101.2872&DEC=-16.7161&SR=0.1").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        a.header(header::CONTENT_TYPE),
        "text/xml; content=x-votable"
    );
    assert!(
        a.text().contains("ucd=\"meta.id;meta.main\""),
        "{}",
        a.text()
    );
    assert!(a.text().contains("<TD>Sirius</TD>"), "{}", a.text());
    let a = get(&s, "/scs/fix.stars?RA=400&DEC=0&SR=1").await;
    assert!(
        a.text().contains("name=\"Error\"") && a.text().contains("RA=400"),
        "{}",
        a.text()
    );
    let a = get(&s, "/scs/no.such?RA=1&DEC=1&SR=1").await;
    assert!(a.text().contains("no table no.such"));
    let a = get(&s, "/scs/fix.stars/capabilities").await;
    assert!(a.text().contains("ivo://ivoa.net/std/ConeSearch"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_service_answers_503_with_retry_after() {
    let lane = query_engine::LaneConfig {
        threads: 1,
        max_running: 1,
        max_waiting: 0,
    };
    let mut engine = query_engine::Engine::new(query_engine::EngineConfig {
        quick: lane.clone(),
        long: lane,
        quick_rows: 10,
        memory_limit: None,
        cluster: None,
        cluster_from_rows: 0,
        shared_data: None,
    })
    .unwrap();
    test_support::fixture::add_sky_table(&mut engine, "sky", "spiral", 100_000);
    let s = Arc::new(AppState::new(
        engine,
        "http://corvus.test/tap".into(),
        Limits::default(),
    ));
    let heavy = sync(
        "SELECT COUNT(*) FROM sky.spiral AS a JOIN sky.spiral AS b \
         ON 1 = INTERSECTS(CIRCLE(a.ra, a.dec, 0.001), CIRCLE(b.ra, b.dec, 0.001))",
        "",
    );
    let first = {
        let (s, heavy) = (Arc::clone(&s), heavy.clone());
        tokio::spawn(async move { get(&s, &heavy).await })
    };
    while s.engine.load().long_running == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let a = get(&s, &heavy).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.header(header::RETRY_AFTER), "10");
    assert!(a.text().contains("the service is busy"), "{}", a.text());
    // Availability still answers while the one slot is taken.
    let a = get(&s, "/tap/availability").await;
    assert!(a.text().contains("1 running"), "{}", a.text());
    first.abort();
    s.engine.shut_down();
}

fn multipart(boundary: &str, fields: &[(&str, Option<&str>, &str)]) -> Request<Body> {
    let mut body = String::new();
    for (name, file, value) in fields {
        let file = file.map_or(String::new(), |f| format!("; filename=\"{f}\""));
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"{file}\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    Request::post("/tap/sync")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn a_table_sent_as_a_plain_field_is_uploaded_as_curl_sends_it() {
    // `curl -F 't=<table.csv'` sends the file's content without a file name.
    let s = state();
    let a = send(
        &s,
        multipart(
            "b",
            &[
                ("LANG", None, "ADQL"),
                ("RESPONSEFORMAT", None, "csv"),
                ("UPLOAD", None, "mine,param:t"),
                ("QUERY", None, "SELECT COUNT(*) AS n FROM TAP_UPLOAD.mine"),
                ("t", None, "x\n1\n2\n3\n"),
            ],
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.text(), "n\r\n3\r\n");
}

#[tokio::test]
async fn a_request_over_the_upload_limit_is_413() {
    let engine = test_support::fixture::engine();
    let limits = Limits {
        max_upload_bytes: 100,
        ..Limits::default()
    };
    let s = Arc::new(AppState::new(
        engine,
        "http://corvus.test/tap".into(),
        limits,
    ));
    let big = "x\n".to_string() + &"1\n".repeat(1000);
    let a = send(
        &s,
        multipart(
            "b",
            &[
                ("LANG", None, "ADQL"),
                ("UPLOAD", None, "t,param:t"),
                ("QUERY", None, "SELECT * FROM TAP_UPLOAD.t"),
                ("t", Some("t.csv"), &big),
            ],
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", a.text());
    assert!(a.text().contains("limit of 100 bytes"), "{}", a.text());
}

#[tokio::test]
async fn a_value_no_format_can_carry_is_the_query_s_fault() {
    let s = state();
    let a = get(
        &s,
        &sync(
            "SELECT REGION('Union ICRS (Circle 10 10 1 Circle 20 20 1)') AS r FROM fix.stars",
            "&RESPONSEFORMAT=csv",
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text());
    assert!(a.text().contains("compound region"), "{}", a.text());
}

/// Positions of the coverage tests, in degrees.
const POINTS: &[(f64, f64)] = &[(10.0, 20.0), (200.5, -45.25), (359.99, 89.9), (123.4, 5.6)];

/// A service over a data directory with `t.stars` (POINTS, ingested so
/// with the hidden HEALPix index) and `t.plain` (no position).
async fn ingested_state() -> (tempfile::TempDir, Arc<AppState>) {
    let tmp = tempfile::tempdir().unwrap();
    let mut dir = catalog_store::DataDir::open(&tmp.path().join("data")).unwrap();
    let mut csv = String::from("id,ra,dec\n");
    for (i, (ra, dec)) in POINTS.iter().enumerate() {
        csv.push_str(&format!("{i},{ra},{dec}\n"));
    }
    let stars = tmp.path().join("stars.csv");
    std::fs::write(&stars, csv).unwrap();
    let plain = tmp.path().join("plain.csv");
    std::fs::write(&plain, "id,flux\n1,2.5\n").unwrap();
    for (file, table) in [(stars, "stars"), (plain, "plain")] {
        let req = ingest::Request {
            files: vec![file],
            schema: "t".into(),
            table: table.into(),
            descriptor: Default::default(),
            mode: ingest::Mode::Create,
            rows_read: None,
            skip_bad_rows: 0,
            strict: false,
        };
        ingest::ingest(&mut dir, &req).await.unwrap();
    }
    let engine = query_engine::Engine::open(
        dir.snapshot().unwrap(),
        test_support::fixture::small_config(),
    )
    .await
    .unwrap();
    let state = AppState::new(engine, "http://corvus.test/tap".into(), Limits::default());
    (tmp, Arc::new(state))
}

/// The cells of POINTS at `order`, as cdshealpix computes them.
fn cells(order: u8) -> Vec<u64> {
    let layer = cdshealpix::nested::get(order);
    let mut cells: Vec<u64> = POINTS
        .iter()
        .map(|(ra, dec)| layer.hash(ra.to_radians(), dec.to_radians()))
        .collect();
    cells.sort_unstable();
    cells.dedup();
    cells
}

#[tokio::test]
async fn coverage_is_a_moc_in_fits_json_or_ascii() {
    use moc::deser::fits::{MocIdxType, MocQtyType, from_fits_ivoa};
    use moc::moc::{CellMOCIntoIterator, CellMOCIterator, RangeMOCIterator};
    let (_tmp, s) = ingested_state().await;

    // FITS at the default order by default.
    let a = get(&s, "/coverage/t.stars").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.header(header::CONTENT_TYPE), "application/fits");
    assert!(a.body.starts_with(b"SIMPLE  ="));
    let order = query_engine::DEFAULT_ORDER;
    assert!(a.text().contains(&format!("MOCORD_S= {order} ")));
    assert!(a.text().contains("MOCVERS = '2.0'"));
    let moc = match from_fits_ivoa(std::io::Cursor::new(&a.body)).unwrap() {
        MocIdxType::U64(MocQtyType::Hpx(m)) => m.collect(),
        _ => panic!("not a 64-bit spatial MOC"),
    };
    assert_eq!(moc.depth_max(), order);
    let back: Vec<u64> = moc.flatten_to_fixed_depth_cells().collect();
    assert_eq!(back, cells(order));

    // JSON, names and values in any case; the table's name too.
    let a = get(&s, "/coverage/T.STARS?format=JSON&order=12").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.header(header::CONTENT_TYPE), "application/json");
    let json = moc::deser::json::from_json_aladin::<u64, moc::qty::Hpx<u64>>(&a.text()).unwrap();
    let moc = json.into_cell_moc_iter().ranges().into_range_moc();
    assert_eq!(moc.depth_max(), 12);
    let back: Vec<u64> = moc.flatten_to_fixed_depth_cells().collect();
    assert_eq!(back, cells(12));
    assert!(
        a.text().trim_start().starts_with("{\n  \"12\": ["),
        "{}",
        a.text()
    );

    // ASCII, by RESPONSEFORMAT.
    let a = get(&s, "/coverage/t.stars?RESPONSEFORMAT=ascii&ORDER=5").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert!(a.header(header::CONTENT_TYPE).starts_with("text/plain"));
    let expected: Vec<String> = cells(5).iter().map(u64::to_string).collect();
    assert_eq!(a.text().trim(), format!("5/{}", expected.join(" ")));

    // The root lists the coverage of each table with a position.
    let a = get(&s, "/").await;
    assert!(
        a.text().contains("http://corvus.test/coverage/t.stars\n"),
        "{}",
        a.text()
    );
    assert!(!a.text().contains("coverage/t.plain"), "{}", a.text());
}

#[tokio::test]
async fn coverage_errors_are_dali_documents_with_their_status() {
    let (_tmp, s) = ingested_state().await;
    for (uri, status, message) in [
        (
            "/coverage/no.such",
            StatusCode::NOT_FOUND,
            "no table no.such",
        ),
        ("/coverage/stars", StatusCode::NOT_FOUND, "no table stars"),
        (
            "/coverage/t.plain",
            StatusCode::BAD_REQUEST,
            "t.plain has no main position",
        ),
        (
            "/coverage/TAP_SCHEMA.tables",
            StatusCode::BAD_REQUEST,
            "has no main position",
        ),
        (
            "/coverage/t.stars?ORDER=30",
            StatusCode::BAD_REQUEST,
            "ORDER=30",
        ),
        (
            "/coverage/t.stars?ORDER=-1",
            StatusCode::BAD_REQUEST,
            "ORDER=-1",
        ),
        (
            "/coverage/t.stars?ORDER=ten",
            StatusCode::BAD_REQUEST,
            "ORDER=ten",
        ),
        (
            "/coverage/t.stars?FORMAT=votable",
            StatusCode::BAD_REQUEST,
            "FORMAT=votable is not a MOC format",
        ),
    ] {
        let a = get(&s, uri).await;
        assert_eq!(a.status, status, "{uri}: {}", a.text());
        assert!(a.text().contains("QUERY_STATUS"), "{uri}: {}", a.text());
        assert!(a.text().contains(message), "{uri}: {}", a.text());
    }
    // A table held in memory has a position but no HEALPix index.
    let a = get(&state(), "/coverage/fix.stars").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text());
    assert!(a.text().contains("no HEALPix index"), "{}", a.text());
}
