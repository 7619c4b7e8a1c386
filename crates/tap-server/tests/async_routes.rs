//! `/tap/async` in process over the fixture catalog, with the job system
//! on a temporary state file: creation, the phases, WAIT, every child
//! resource, owners, limits, ranges, and the statuses UWS 1.1 asks for.

#![allow(clippy::unwrap_used)] // test helpers: a panic is a failed test

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Answer, send};
use std::sync::Arc;
use tap_server::{AppState, Limits};

const BASE: &str = "http://corvus.test/tap";

struct Service {
    state: Arc<AppState>,
    _dir: tempfile::TempDir,
}

async fn service(configure: impl FnOnce(&mut uws_jobs::JobsConfig)) -> Service {
    let mut engine = test_support::fixture::engine();
    test_support::fixture::add_sky_table(&mut engine, "sky", "spiral", 100_000);
    engine.publish_tap_schema().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = Arc::new(AppState {
        owner_header: Some("x-remote-user".parse().unwrap()),
        ..AppState::new(engine, BASE.into(), Limits::default())
    });
    let store = uws_jobs::Store::open(&dir.path().join("state.sqlite")).unwrap();
    let mut config = uws_jobs::JobsConfig::new(dir.path().join("results"));
    configure(&mut config);
    tap_server::start_jobs(&state, store, config).await.unwrap();
    Service { state, _dir: dir }
}

impl Answer {
    fn location(&self) -> String {
        self.headers[header::LOCATION].to_str().unwrap().to_string()
    }
}

impl Service {
    async fn send(&self, request: Request<Body>) -> Answer {
        send(&self.state, request).await
    }

    async fn get(&self, uri: &str, user: Option<&str>) -> Answer {
        let mut r = Request::get(uri);
        if let Some(u) = user {
            r = r.header("x-remote-user", u);
        }
        self.send(r.body(Body::empty()).unwrap()).await
    }

    async fn post(&self, uri: &str, form: &[(&str, &str)], user: Option<&str>) -> Answer {
        let body: String = form
            .iter()
            .map(|(k, v)| format!("{k}={}", test_support::percent_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut r =
            Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(u) = user {
            r = r.header("x-remote-user", u);
        }
        self.send(r.body(Body::from(body)).unwrap()).await
    }

    /// Creates a job; its path (`/tap/async/ID`).
    async fn create(&self, form: &[(&str, &str)], user: Option<&str>) -> String {
        let a = self.post("/tap/async", form, user).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text());
        let location = a.location();
        assert!(
            location.starts_with(&format!("{BASE}/async/")),
            "{location}"
        );
        location
            .trim_start_matches("http://corvus.test")
            .to_string()
    }

    /// The job document once it is no longer in an active phase.
    async fn finished(&self, job: &str, user: Option<&str>) -> String {
        for _ in 0..100 {
            let xml = self.get(&format!("{job}?WAIT=5"), user).await.text();
            if ["COMPLETED", "ERROR", "ABORTED"]
                .iter()
                .any(|p| xml.contains(&format!("<uws:phase>{p}</uws:phase>")))
            {
                return xml;
            }
        }
        panic!("{job} never finished");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_runs_and_its_result_is_served_whole_and_by_ranges() {
    let s = service(|_| {}).await;
    let job = s
        .create(
            &[
                ("LANG", "ADQL"),
                ("QUERY", "SELECT TOP 3 id FROM sky.spiral ORDER BY id"),
                ("RESPONSEFORMAT", "csv"),
                ("RUNID", "night-1"),
            ],
            None,
        )
        .await;
    let id = job.rsplit('/').next().unwrap().to_string();
    let first = id.as_bytes()[0];
    assert!(first.is_ascii_digit() || first.is_ascii_uppercase(), "{id}");
    let pending = s.get(&job, None).await.text();
    assert!(
        pending.contains("<uws:phase>PENDING</uws:phase>"),
        "{pending}"
    );
    assert!(pending.contains("<uws:runId>night-1</uws:runId>"));
    assert!(pending.contains("<uws:ownerId xsi:nil=\"true\"/>"));
    assert!(pending.contains("<uws:executionDuration>60</uws:executionDuration>"));
    assert!(
        pending.contains("<uws:quote>"),
        "an estimate makes a quote: {pending}"
    );
    assert_eq!(s.get(&format!("{job}/phase"), None).await.text(), "PENDING");
    let run = s
        .post(&format!("{job}/phase"), &[("PHASE", "RUN")], None)
        .await;
    assert_eq!(
        (run.status, run.location()),
        (StatusCode::SEE_OTHER, format!("http://corvus.test{job}"))
    );
    let done = s.finished(&job, None).await;
    assert!(done.contains("<uws:phase>COMPLETED</uws:phase>"), "{done}");
    assert!(
        done.contains(&format!("xlink:href=\"{BASE}/async/{id}/results/result\"")),
        "{done}"
    );
    assert!(done.contains("mime-type=\"text/csv"), "{done}");
    assert!(done.contains("<result rows=\"3\" bytes=\""), "{done}");
    let result = s.get(&format!("{job}/results/result"), None).await;
    assert_eq!(result.status, StatusCode::OK);
    assert_eq!(result.text(), "id\r\n0\r\n1\r\n2\r\n");
    assert!(
        done.contains(&format!("size=\"{}\"", result.body.len())),
        "{done}"
    );
    // A resumed download: the bytes from 5 on.
    let range = s
        .send(
            Request::get(format!("{job}/results/result"))
                .header(header::RANGE, "bytes=5-")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(range.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(range.body, &result.body[5..]);
    // The list, the children, and the end of the job.
    let list = s.get("/tap/async", None).await.text();
    assert!(list.contains(&format!("<uws:jobref id=\"{id}\" xlink:href=\"{BASE}/async/{id}\"><uws:phase>COMPLETED</uws:phase>")), "{list}");
    assert!(
        s.get("/tap/async?PHASE=PENDING", None)
            .await
            .text()
            .matches("jobref")
            .count()
            == 0
    );
    assert!(s.get("/tap/async?LAST=1", None).await.text().contains(&id));
    assert_eq!(
        s.get("/tap/async?LAST=0", None).await.status,
        StatusCode::BAD_REQUEST
    );
    let params = s.get(&format!("{job}/parameters"), None).await.text();
    assert!(params.contains("<uws:parameter id=\"query\">SELECT TOP 3 id FROM sky.spiral ORDER BY id</uws:parameter>"), "{params}");
    assert_eq!(s.get(&format!("{job}/owner"), None).await.text(), "");
    let late = s
        .post(&format!("{job}/parameters"), &[("MAXREC", "1")], None)
        .await;
    assert_eq!(late.status, StatusCode::FORBIDDEN, "{}", late.text());
    assert!(late.text().contains("only while it is PENDING"));
    let again = s
        .post(&format!("{job}/phase"), &[("PHASE", "RUN")], None)
        .await;
    assert_eq!(again.status, StatusCode::FORBIDDEN);
    let deleted = s.post(&job, &[("ACTION", "DELETE")], None).await;
    assert_eq!(
        (deleted.status, deleted.location()),
        (StatusCode::SEE_OTHER, format!("{BASE}/async"))
    );
    assert_eq!(s.get(&job, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        s.get(&format!("{job}/results/result"), None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phase_run_at_creation_errors_and_abort() {
    let s = service(|_| {}).await;
    // PHASE=RUN in the creation POST starts the job (astroquery's TapPlus).
    let job = s
        .create(
            &[
                ("LANG", "ADQL"),
                ("QUERY", "SELECT nope FROM sky.spiral"),
                ("PHASE", "RUN"),
            ],
            None,
        )
        .await;
    let failed = s.finished(&job, None).await;
    assert!(failed.contains("<uws:phase>ERROR</uws:phase>"), "{failed}");
    assert!(
        failed.contains("<uws:errorSummary type=\"fatal\" hasDetail=\"true\">"),
        "{failed}"
    );
    let error = s.get(&format!("{job}/error"), None).await;
    assert_eq!(error.status, StatusCode::OK);
    assert!(
        error.text().contains("QUERY_STATUS") && error.text().contains("nope"),
        "{}",
        error.text()
    );
    // A job that compares 10^10 pairs is aborted within a second or two.
    let slow = s
        .create(
            &[
                ("LANG", "ADQL"),
                (
                    "QUERY",
                    "SELECT COUNT(*) FROM sky.spiral AS a, sky.spiral AS b WHERE a.ra + b.ra < -1",
                ),
                ("QUEUE", "long"),
                ("PHASE", "RUN"),
            ],
            None,
        )
        .await;
    let executing = s
        .get(&format!("{slow}?WAIT=10&PHASE=QUEUED"), None)
        .await
        .text();
    assert!(
        executing.contains("<uws:phase>EXECUTING</uws:phase>"),
        "{executing}"
    );
    assert!(
        executing.contains("<uws:jobInfo><queue>long</queue>"),
        "{executing}"
    );
    let t = std::time::Instant::now();
    let abort = s
        .post(&format!("{slow}/phase"), &[("PHASE", "ABORT")], None)
        .await;
    assert_eq!(abort.status, StatusCode::SEE_OTHER);
    let aborted = s.finished(&slow, None).await;
    assert!(
        aborted.contains("<uws:phase>ABORTED</uws:phase>"),
        "{aborted}"
    );
    assert!(
        t.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        t.elapsed()
    );
    // A TAP parameter that cannot work makes a job that ends in ERROR
    // saying why; a UWS control value or a queue that cannot be is 400.
    let bad = s
        .create(
            &[("LANG", "SQL"), ("QUERY", "SELECT 1"), ("PHASE", "RUN")],
            None,
        )
        .await;
    let failed = s.finished(&bad, None).await;
    assert!(failed.contains("LANG=SQL is not supported"), "{failed}");
    for (form, message) in [
        (
            vec![("LANG", "ADQL"), ("QUERY", "SELECT 1"), ("QUEUE", "medium")],
            "QUEUE=medium",
        ),
        (
            vec![("LANG", "ADQL"), ("QUERY", "SELECT 1"), ("PHASE", "ABORT")],
            "PHASE=ABORT",
        ),
        (
            vec![
                ("LANG", "ADQL"),
                ("QUERY", "SELECT 1"),
                ("DESTRUCTION", "soon"),
            ],
            "DESTRUCTION=soon",
        ),
    ] {
        let a = s.post("/tap/async", &form, None).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{form:?}");
        assert!(a.text().contains(message), "{}", a.text());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_are_apart_limits_are_named_and_values_clamped() {
    let s = service(|c| c.max_active_per_owner = 1).await;
    let ann = Some("ann");
    let job = s
        .create(&[("LANG", "ADQL"), ("QUERY", "SELECT 1")], ann)
        .await;
    assert_eq!(s.get(&job, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(s.get(&job, Some("bob")).await.status, StatusCode::NOT_FOUND);
    assert!(
        !s.get("/tap/async", Some("bob"))
            .await
            .text()
            .contains("jobref")
    );
    assert!(
        s.get(&job, ann)
            .await
            .text()
            .contains("<uws:ownerId>ann</uws:ownerId>")
    );
    assert_eq!(s.get(&format!("{job}/owner"), ann).await.text(), "ann");
    // Clamped to the queue's limit, as UWS 1.1 §2.2.3.4 allows.
    s.post(
        &format!("{job}/executionduration"),
        &[("EXECUTIONDURATION", "999999")],
        ann,
    )
    .await;
    assert_eq!(
        s.get(&format!("{job}/executionduration"), ann).await.text(),
        "60"
    );
    let d = s
        .post(
            &format!("{job}/destruction"),
            &[("DESTRUCTION", "2999-01-01T00:00:00Z")],
            ann,
        )
        .await;
    assert_eq!(d.status, StatusCode::SEE_OTHER);
    assert!(
        !s.get(&format!("{job}/destruction"), ann)
            .await
            .text()
            .starts_with("2999")
    );
    // One active job at most: the second is refused, saying which limit.
    let slow = s
        .create(
            &[
                ("LANG", "ADQL"),
                (
                    "QUERY",
                    "SELECT COUNT(*) FROM sky.spiral AS a, sky.spiral AS b WHERE a.ra + b.ra < -1",
                ),
                ("QUEUE", "long"),
                ("PHASE", "RUN"),
            ],
            ann,
        )
        .await;
    let refused = s
        .post(&format!("{job}/phase"), &[("PHASE", "RUN")], ann)
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused
            .text()
            .contains("already have 1 jobs queued or executing"),
        "{}",
        refused.text()
    );
    // Progress while it executes (reported a few times a second, so the
    // first look may come before the first report).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut running = s
        .get(&format!("{slow}?WAIT=10&PHASE=QUEUED"), ann)
        .await
        .text();
    while !running.contains("rowsEstimated=\"") && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        running = s.get(&slow, ann).await.text();
    }
    assert!(running.contains("rowsEstimated=\""), "{running}");
    let deleted = s
        .send(
            Request::delete(&slow)
                .header("x-remote-user", "ann")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert_eq!(s.get(&slow, ann).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_that_cannot_be_stored_ends_the_job_in_error() {
    let s = service(|_| {}).await;
    let job = s
        .create(
            &[
                ("LANG", "ADQL"),
                ("QUERY", "SELECT TOP 3 id FROM sky.spiral"),
            ],
            None,
        )
        .await;
    // The job's folder is replaced by a file: nothing can be written there
    // (file permissions would not stop the root user the tests may run as).
    let id = job.rsplit('/').next().unwrap();
    let folder = s._dir.path().join("results").join(id);
    std::fs::remove_dir_all(&folder).unwrap();
    std::fs::write(&folder, b"in the way").unwrap();
    s.post(&format!("{job}/phase"), &[("PHASE", "RUN")], None)
        .await;
    let failed = s.finished(&job, None).await;
    assert!(failed.contains("<uws:phase>ERROR</uws:phase>"), "{failed}");
    assert!(
        failed.contains("cannot store results")
            && !failed.contains(s._dir.path().to_str().unwrap()),
        "{failed}"
    );
    // The service goes on answering.
    assert_eq!(
        s.get("/tap/availability", None).await.status,
        StatusCode::OK
    );
    let next = s
        .create(
            &[
                ("LANG", "ADQL"),
                ("QUERY", "SELECT TOP 1 id FROM sky.spiral"),
                ("PHASE", "RUN"),
            ],
            None,
        )
        .await;
    assert!(
        s.finished(&next, None)
            .await
            .contains("<uws:phase>COMPLETED</uws:phase>")
    );
}
