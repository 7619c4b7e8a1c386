//! The web interface's routes in process over the fixture catalog, with
//! the job system on a temporary state file: the page and its scripts, the
//! browser identity its cookie gives, and the JSON API
//! (`docs/web-api.md`): service, tables, validate, the browser's jobs, and
//! their stored results read back in pages and downloads.

#![allow(clippy::unwrap_used)] // test helpers: a panic is a failed test

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Answer, send};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tap_server::{AppState, Limits};

const HOST: &str = "http://corvus.test";
const BASE: &str = "http://corvus.test/tap";

/// Two browsers' tokens (32 hexadecimal digits, as the page's cookie has).
const ANN: &str = "0123456789abcdef0123456789abcdef";
const BOB: &str = "fedcba9876543210fedcba9876543210";

/// The stars with a parallax, in the order of their identifiers; the
/// result most tests read back. Its rows (id, name, plx, vmag, ncomp):
/// 1 Sirius 379.21 -1.46 2, 2 Vega 130.23 0.03 1, 3 Polaris 7.54 1.98 3,
/// 4 Barnard's Star 548.31 9.54 1, 5 Alpha Cen A 742.12 -0.01 2,
/// 6 Betelgeuse 6.55 0.42 1, BIG O'Neil 1 1.0 12.5 1.
const STARS: &str =
    "SELECT id, name, plx, vmag, ncomp FROM fix.stars WHERE plx IS NOT NULL ORDER BY id";
const BIG: i64 = 9_007_199_254_740_993;
/// A job that compares 10^10 pairs: it executes until it is aborted.
const SLOW: &str = "SELECT COUNT(*) FROM sky.spiral AS a, sky.spiral AS b WHERE a.ra + b.ra < -1";

/// Who sends a request.
#[derive(Clone, Copy)]
enum Who {
    /// No cookie, no user: the anonymous owner.
    Nobody,
    /// A browser, by its `corvus_browser` cookie's token.
    Browser(&'static str),
    /// A user named by the authenticating proxy's header.
    User(&'static str),
}

struct Service {
    state: Arc<AppState>,
    _dir: tempfile::TempDir,
}

/// The fixture (and a sky table big enough for a slow job), with the
/// asynchronous jobs on a temporary folder unless `jobs` is false.
async fn service_with(jobs: bool) -> Service {
    let mut engine = test_support::fixture::engine();
    test_support::fixture::add_sky_table(&mut engine, "sky", "spiral", 100_000);
    engine.publish_tap_schema().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = Arc::new(AppState {
        owner_header: Some("x-remote-user".parse().unwrap()),
        ..AppState::new(engine, BASE.into(), Limits::default())
    });
    if jobs {
        let store = uws_jobs::Store::open(&dir.path().join("state.sqlite")).unwrap();
        let config = uws_jobs::JobsConfig::new(dir.path().join("results"));
        tap_server::start_jobs(&state, store, config).await.unwrap();
    }
    Service { state, _dir: dir }
}

async fn service() -> Service {
    service_with(true).await
}

impl Answer {
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(&name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
    }

    /// The body as JSON, which the answer must say it is.
    fn json(&self) -> Value {
        assert_eq!(
            self.header(header::CONTENT_TYPE),
            "application/json",
            "{}",
            self.text()
        );
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// A JSON API refusal: `status` and `{"error": message}`; the message.
    fn json_error(&self, status: StatusCode) -> String {
        assert_eq!(self.status, status, "{}", self.text());
        let body = self.json();
        let object = body.as_object().unwrap();
        assert_eq!(object.len(), 1, "only the error: {body}");
        object["error"].as_str().unwrap().to_string()
    }
}

impl Service {
    async fn send(&self, request: Request<Body>) -> Answer {
        send(&self.state, request).await
    }

    fn request(method: &str, uri: &str, who: Who) -> axum::http::request::Builder {
        let r = Request::builder().method(method).uri(uri);
        match who {
            Who::Nobody => r,
            Who::Browser(token) => r.header(header::COOKIE, format!("corvus_browser={token}")),
            Who::User(user) => r.header("x-remote-user", user),
        }
    }

    async fn get(&self, uri: &str, who: Who) -> Answer {
        self.send(Self::request("GET", uri, who).body(Body::empty()).unwrap())
            .await
    }

    async fn post(&self, uri: &str, form: &[(&str, &str)], who: Who) -> Answer {
        let body: String = form
            .iter()
            .map(|(k, v)| format!("{k}={}", test_support::percent_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let r = Self::request("POST", uri, who)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        self.send(r.body(Body::from(body)).unwrap()).await
    }

    /// Starts a job as the page does (POST /tap/async with PHASE=RUN);
    /// its identifier.
    async fn start(&self, form: &[(&str, &str)], who: Who) -> String {
        let mut form = form.to_vec();
        form.extend([("LANG", "ADQL"), ("PHASE", "RUN")]);
        let a = self.post("/tap/async", &form, who).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.text());
        let location = a.header(header::LOCATION);
        let id = location
            .strip_prefix(&format!("{BASE}/async/"))
            .unwrap_or_else(|| panic!("{location}"));
        id.to_string()
    }

    /// Job `id`'s phase (GET /tap/async/ID/phase) once `done` says it is
    /// reached, within a minute.
    async fn phase_when(&self, id: &str, who: Who, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let a = self.get(&format!("/tap/async/{id}/phase"), who).await;
            assert_eq!(a.status, StatusCode::OK, "{}", a.text());
            let phase = a.text();
            if done(&phase) {
                return phase;
            }
            assert!(Instant::now() < deadline, "job {id} is still {phase}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Job `id`'s final phase.
    async fn finished(&self, id: &str, who: Who) -> String {
        self.phase_when(id, who, |p| ["COMPLETED", "ERROR", "ABORTED"].contains(&p))
            .await
    }

    /// A completed job of `query` stored as Parquet, as the page's jobs are.
    async fn parquet_job(&self, query: &str, run_id: Option<&str>, who: Who) -> String {
        let mut form = vec![("QUERY", query), ("RESPONSEFORMAT", "parquet")];
        form.extend(run_id.map(|r| ("RUNID", r)));
        let id = self.start(&form, who).await;
        assert_eq!(self.finished(&id, who).await, "COMPLETED");
        id
    }

    /// A page of job `id`'s result (`query` is the rest of the URL's query).
    async fn rows(&self, id: &str, query: &str, who: Who) -> Answer {
        self.get(&format!("/api/jobs/{id}/rows?{query}"), who).await
    }

    /// The browser's (or user's) job list, which must be there.
    async fn jobs(&self, who: Who) -> Value {
        let a = self.get("/api/jobs", who).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text());
        a.json()
    }
}

/// The owner a browser token stands for: "browser-" and the first 8 bytes
/// of the token's SHA-256, in hexadecimal.
fn owner_of(token: &str) -> String {
    let hash = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let hex: String = hash.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("browser-{hex}")
}

/// The values of a page's column `index`, as integers.
fn integers(page: &Value, index: usize) -> Vec<i64> {
    page["result"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row[index].as_i64().unwrap())
        .collect()
}

/// The names of a page's columns.
fn names(page: &Value) -> Vec<String> {
    page["result"]["metadata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

/// A browser asking for HTML gets the page, never cached, and an identity
/// if it has none: a cookie scripts cannot read, which then works as an
/// owner; it keeps the one it has; any other client gets the plain-text
/// list of endpoints.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_gives_browsers_an_identity_and_others_the_endpoint_list() {
    let s = service().await;
    let html = |cookie: Option<&str>| {
        let mut r = Request::get("/").header(
            header::ACCEPT,
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        );
        if let Some(c) = cookie {
            r = r.header(header::COOKIE, c);
        }
        r.body(Body::empty()).unwrap()
    };
    let page = s.send(html(None)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.header(header::CONTENT_TYPE),
        "text/html; charset=utf-8"
    );
    assert_eq!(page.header(header::CACHE_CONTROL), "no-cache");
    assert!(page.text().contains("<script"), "{}", page.text());
    let cookie = page.header(header::SET_COOKIE);
    let token = cookie
        .strip_prefix("corvus_browser=")
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("{cookie}"))
        .to_string();
    assert!(
        token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit()),
        "{cookie}"
    );
    for attribute in ["Path=/", "HttpOnly", "SameSite=Lax"] {
        assert!(
            cookie.split("; ").any(|a| a == attribute),
            "{attribute} in {cookie}"
        );
    }
    // The new identity is an owner of its own.
    let list = s
        .send(
            Request::get("/api/jobs")
                .header(header::COOKIE, format!("corvus_browser={token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    assert_eq!(
        list.json(),
        json!({ "owner": owner_of(&token), "jobs": [] })
    );
    // A browser that has one keeps it, found among its other cookies.
    let again = s
        .send(html(Some(&format!("theme=dark; corvus_browser={ANN}"))))
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.text().contains("<script"));
    assert!(
        !again.headers.contains_key(header::SET_COOKIE),
        "{:?}",
        again.headers
    );
    // A malformed token is no identity: it is replaced.
    let forged = s.send(html(Some("corvus_browser=../../etc"))).await;
    assert!(
        forged
            .header(header::SET_COOKIE)
            .starts_with("corvus_browser=")
    );
    // curl, scripts: the endpoints, and no cookie.
    for accept in [None, Some("*/*"), Some("application/json")] {
        let mut r = Request::get("/");
        if let Some(a) = accept {
            r = r.header(header::ACCEPT, a);
        }
        let text = s.send(r.body(Body::empty()).unwrap()).await;
        assert_eq!(text.status, StatusCode::OK);
        assert_eq!(
            text.header(header::CONTENT_TYPE),
            "text/plain; charset=utf-8"
        );
        assert!(
            text.text().starts_with("Corvus TAP service\n")
                && text
                    .text()
                    .contains(&format!("Web interface:       {HOST}/ (in a browser)"))
                && text
                    .text()
                    .contains(&format!("TAP endpoint:        {BASE}\n")),
            "{}",
            text.text()
        );
        assert!(!text.headers.contains_key(header::SET_COOKIE));
    }
}

/// The scripts and styles the page names are served from /ui/, as
/// JavaScript and CSS, to be kept for good (their names carry a hash); a
/// file the bundle does not have is 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_files_are_served_for_good_and_unknown_ones_are_not_found() {
    let s = service().await;
    let page = s
        .send(
            Request::get("/")
                .header(header::ACCEPT, "text/html")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .text();
    // Every `"./ui/..."` the page names.
    let named: Vec<&str> = page
        .split("\"./ui/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    let script = named
        .iter()
        .find(|n| n.ends_with(".js"))
        .unwrap_or_else(|| panic!("the page names no ./ui/ script: {page}"));
    let js = s.get(&format!("/ui/{script}"), Who::Nobody).await;
    assert_eq!(js.status, StatusCode::OK, "{script}");
    assert_eq!(
        js.header(header::CONTENT_TYPE),
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        js.header(header::CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    assert!(!js.body.is_empty());
    for name in named.iter().filter(|n| n.ends_with(".css")) {
        let css = s.get(&format!("/ui/{name}"), Who::Nobody).await;
        assert_eq!(css.status, StatusCode::OK, "{name}");
        assert_eq!(css.header(header::CONTENT_TYPE), "text/css; charset=utf-8");
        assert_eq!(
            css.header(header::CACHE_CONTROL),
            "public, max-age=31536000, immutable"
        );
    }
    for missing in ["/ui/x.js", "/ui/../index.html", "/ui/"] {
        let a = s.get(missing, Who::Nobody).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{missing}: {}", a.text());
    }
    let a = s.get("/ui/x.js", Who::Nobody).await;
    assert_eq!(
        a.text(),
        "the web interface has no file ui/x.js; reload the page"
    );
}

/// /api/service: the service's names, its URL, its queues, its MAXREC
/// limits and every output format with its file extension.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_document_names_queues_limits_and_formats() {
    let s = service().await;
    let a = s.get("/api/service", Who::Nobody).await;
    assert_eq!(a.status, StatusCode::OK);
    let v = a.json();
    assert_eq!(v["title"], "Corvus TAP service");
    assert_eq!(v["shortName"], "corvus");
    assert_eq!(
        v["description"],
        "Astronomical catalogs queryable in ADQL through IVOA TAP."
    );
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["tapUrl"], BASE);
    assert_eq!(v["asyncJobs"], true);
    assert_eq!(
        v["queues"],
        json!([
            { "name": "short", "workers": 4, "maxSeconds": 60 },
            { "name": "long", "workers": 1, "maxSeconds": 86400 },
        ])
    );
    assert_eq!(v["maxrec"], json!({ "default": 20000, "hard": 16000000 }));
    let formats = v["formats"].as_array().unwrap();
    for expected in [
        json!({ "mime": "application/x-votable+xml", "name": "votable", "extension": "vot" }),
        json!({ "mime": "application/x-votable+xml;serialization=BINARY2", "name": "votable/b2", "extension": "vot" }),
        json!({ "mime": "text/csv", "name": "csv", "extension": "csv" }),
        json!({ "mime": "application/vnd.apache.parquet", "name": "parquet", "extension": "parquet" }),
        json!({ "mime": "application/fits", "name": "fits", "extension": "fits" }),
        json!({ "mime": "text/tab-separated-values", "name": "tsv", "extension": "tsv" }),
        json!({ "mime": "application/json", "name": "json", "extension": "json" }),
    ] {
        assert!(formats.contains(&expected), "{expected} in {formats:?}");
    }
    assert_eq!(formats.len(), 7, "{formats:?}");
}

/// Without asynchronous jobs the service document says so and the job
/// list is a 404 in JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_async_jobs_there_are_no_queues_and_no_job_list() {
    let s = service_with(false).await;
    let v = s.get("/api/service", Who::Nobody).await.json();
    assert_eq!((&v["asyncJobs"], &v["queues"]), (&json!(false), &json!([])));
    let message = s
        .get("/api/jobs", Who::Browser(ANN))
        .await
        .json_error(StatusCode::NOT_FOUND);
    assert_eq!(
        message,
        "this service runs no asynchronous jobs; use /tap/sync"
    );
}

/// /api/tables: the published schemas alphabetically, TAP_SCHEMA last,
/// tables alphabetically, each column with its type and metadata.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tables_list_every_schema_with_column_metadata_tap_schema_last() {
    let s = service().await;
    let a = s.get("/api/tables", Who::Nobody).await;
    assert_eq!(a.status, StatusCode::OK);
    let v = a.json();
    let schemas = v["schemas"].as_array().unwrap();
    let schema_names: Vec<&str> = schemas
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(schema_names, ["fix", "other", "sky", "TAP_SCHEMA"]);
    let fix = schemas[0]["tables"].as_array().unwrap();
    let table_names: Vec<&str> = fix.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(table_names, ["fields", "measures", "obs", "stars"]);
    let stars = &fix[3];
    assert_eq!(stars["qualified"], "fix.stars");
    assert_eq!(stars["position"], json!({ "ra": "ra", "dec": "dec" }));
    let columns = stars["columns"].as_array().unwrap();
    assert_eq!(columns.len(), 10);
    let plx = columns.iter().find(|c| c["name"] == "plx").unwrap();
    assert_eq!(
        plx,
        &json!({
            "name": "plx",
            "datatype": "float",
            "arraysize": null,
            "unit": "mas",
            "ucd": "pos.parallax.trig",
            "utype": null,
            "description": "Parallax",
            "principal": true,
        })
    );
    let name = columns.iter().find(|c| c["name"] == "name").unwrap();
    assert_eq!(
        (&name["datatype"], &name["arraysize"]),
        (&json!("char"), &json!("*"))
    );
    // The sky table: a description, a position, columns without units.
    let spiral = &schemas[2]["tables"][0];
    assert_eq!(spiral["qualified"], "sky.spiral");
    assert_eq!(
        spiral["description"],
        "Positions spread evenly over the sky"
    );
    assert_eq!(spiral["columns"][1]["unit"], Value::Null);
    // TAP_SCHEMA's own tables are there too.
    let tap: Vec<&str> = schemas[3]["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        tap.contains(&"columns") && tap.contains(&"tables"),
        "{tap:?}"
    );
}

/// /api/validate checks a query without running it: the result's columns
/// when it is good; when it is not, still 200, with ok:false, the message,
/// and the 1-based line and column of the offending text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_answers_the_columns_or_where_the_query_is_wrong() {
    let s = service().await;
    let validate = |query: &'static str| {
        let s = &s;
        async move {
            let a = s
                .post("/api/validate", &[("QUERY", query)], Who::Nobody)
                .await;
            assert_eq!(a.status, StatusCode::OK, "{}", a.text());
            a.json()
        }
    };
    let good = validate("SELECT id, ra AS alpha FROM fix.stars").await;
    assert_eq!(good["ok"], true, "{good}");
    assert_eq!(good["warnings"], json!([]));
    let columns = good["columns"].as_array().unwrap();
    assert_eq!(columns.len(), 2);
    assert_eq!(
        (&columns[0]["name"], &columns[0]["datatype"]),
        (&json!("id"), &json!("long"))
    );
    assert_eq!(columns[1]["name"], "alpha");
    assert_eq!(columns[1]["unit"], "deg");
    assert_eq!(columns[1]["ucd"], "pos.eq.ra;meta.main");

    // An unknown column on line 2: where "nope" starts.
    let unknown = "SELECT id, name\nFROM fix.stars WHERE nope > 1";
    let v = validate(unknown).await;
    assert_eq!(v["ok"], false, "{v}");
    let message = v["message"].as_str().unwrap();
    assert!(message.contains("nope"), "{message}");
    let line2 = unknown.lines().nth(1).unwrap();
    assert_eq!(line2.find("nope"), Some(21));
    assert_eq!((&v["line"], &v["column"]), (&json!(2), &json!(22)), "{v}");
    assert!(message.contains("line 2, column 22"), "{message}");

    // A syntax error on line 3: the second "=".
    let syntax = "SELECT id\nFROM fix.stars\nWHERE id = = 3";
    let v = validate(syntax).await;
    assert_eq!(v["ok"], false, "{v}");
    assert!(!v["message"].as_str().unwrap().is_empty());
    let line3 = syntax.lines().nth(2).unwrap();
    assert_eq!(line3.rfind('='), Some(11));
    assert_eq!((&v["line"], &v["column"]), (&json!(3), &json!(12)), "{v}");

    // What a run would forgive is a warning, with its position too.
    let v = validate("SELECT id FROM fix.stars\nLIMIT 2").await;
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(
        v["warnings"],
        json!([{
            "message": "LIMIT is not ADQL; read as TOP 2. Write SELECT TOP 2 ... instead",
            "line": 2,
            "column": 1,
        }])
    );

    // The parameter's name is case-insensitive; without it, a 400.
    let lower = s
        .post(
            "/api/validate",
            &[("query", "SELECT 1 AS one FROM fix.stars")],
            Who::Nobody,
        )
        .await
        .json();
    assert_eq!(lower["ok"], true, "{lower}");
    let missing = s
        .post("/api/validate", &[("LANG", "ADQL")], Who::Nobody)
        .await
        .json_error(StatusCode::BAD_REQUEST);
    assert_eq!(missing, "QUERY is missing: send QUERY=SELECT ...");
}

/// /api/jobs lists a browser's jobs, those it created through POST
/// /tap/async with its cookie, newest first and whole; another browser
/// sees none of them, a request without identity has no list, and `last`
/// must be a number from 1 to 1000.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_lists_its_own_jobs_newest_first() {
    let s = service().await;
    let (ann, bob) = (Who::Browser(ANN), Who::Browser(BOB));
    let first = s.parquet_job(STARS, Some("stars"), ann).await;
    let second = s
        .parquet_job("SELECT TOP 1 id FROM fix.stars", None, ann)
        .await;
    let list = s.jobs(ann).await;
    assert_eq!(list["owner"], owner_of(ANN));
    let jobs = list["jobs"].as_array().unwrap();
    let ids: Vec<&str> = jobs.iter().map(|j| j["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [second.as_str(), first.as_str()]);
    let job = &jobs[1];
    let result = s
        .get(&format!("/tap/async/{first}/results/result"), ann)
        .await;
    assert_eq!(result.status, StatusCode::OK);
    assert_eq!(job["phase"], "COMPLETED");
    assert_eq!(job["runId"], "stars");
    assert_eq!(job["queue"], "short");
    assert_eq!(job["query"], STARS);
    assert_eq!(job["format"], "parquet");
    assert_eq!(job["maxrec"], Value::Null);
    assert_eq!(job["rows"], 7);
    assert_eq!(job["size"], result.body.len());
    assert_eq!(job["mimeType"], "application/vnd.apache.parquet");
    assert_eq!(job["overflow"], false);
    assert_eq!(job["error"], Value::Null);
    assert_eq!(job["progress"], Value::Null);
    assert_eq!(job["url"], format!("{BASE}/async/{first}"));
    for time in ["created", "started", "ended", "destruction"] {
        assert!(
            job[time].as_str().is_some_and(|t| t.ends_with('Z')),
            "{time}: {job}"
        );
    }
    let shared = job["sharedVotableUrl"].as_str().unwrap();
    assert!(
        shared.starts_with(&format!(
            "{HOST}/api/jobs/{first}/download?FORMAT=votable&key="
        )),
        "{shared}"
    );
    assert_eq!(jobs[0]["runId"], Value::Null);
    assert_eq!(jobs[0]["rows"], 1);
    // UWS says the same owner.
    let owner = s.get(&format!("/tap/async/{first}/owner"), ann).await;
    assert_eq!(owner.text(), owner_of(ANN));

    // Another browser: a list of its own, empty; the jobs are not its.
    let other = s.jobs(bob).await;
    assert_eq!(other, json!({ "owner": owner_of(BOB), "jobs": [] }));
    assert_eq!(
        s.get(&format!("/tap/async/{first}"), bob).await.status,
        StatusCode::NOT_FOUND
    );
    // A user the proxy names has a list too.
    let user = s.jobs(Who::User("ann")).await;
    assert_eq!(user, json!({ "owner": "ann", "jobs": [] }));

    // `last`: the newest N.
    let last = s.get("/api/jobs?last=1", ann).await.json();
    assert_eq!(last["jobs"].as_array().unwrap().len(), 1);
    assert_eq!(last["jobs"][0]["id"], second.as_str());
    for bad in ["0", "abc", "1001", "-1"] {
        let message = s
            .get(&format!("/api/jobs?last={bad}"), ann)
            .await
            .json_error(StatusCode::BAD_REQUEST);
        assert_eq!(
            message,
            format!("last={bad} is not a whole number from 1 to 1000")
        );
    }
    // No identity, or a malformed one: no list.
    for who in [Who::Nobody, Who::Browser("not-a-token")] {
        let message = s
            .get("/api/jobs", who)
            .await
            .json_error(StatusCode::FORBIDDEN);
        assert!(message.contains("no identity"), "{message}");
    }
}

/// /api/jobs/ID/rows reads a completed Parquet result in pages: the total,
/// the offset, and the page in the TAP JSON format; sorted by any column
/// either way (ties in the file's order), narrowed to some columns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parquet_result_is_read_in_pages_sorted_and_narrowed() {
    let s = service().await;
    let ann = Who::Browser(ANN);
    let id = s.parquet_job(STARS, None, ann).await;

    let all = s.rows(&id, "", ann).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text());
    let all = all.json();
    assert_eq!((&all["total"], &all["offset"]), (&json!(7), &json!(0)));
    assert_eq!(names(&all), ["id", "name", "plx", "vmag", "ncomp"]);
    let plx = &all["result"]["metadata"][2];
    assert_eq!(
        (&plx["datatype"], &plx["unit"], &plx["ucd"]),
        (&json!("float"), &json!("mas"), &json!("pos.parallax.trig")),
        "{plx}"
    );
    assert_eq!(all["result"]["status"], "OK");
    assert_eq!(integers(&all, 0), [1, 2, 3, 4, 5, 6, BIG]);
    let row = all["result"]["data"][3].as_array().unwrap();
    assert_eq!(row[0..=1], [json!(4), json!("Barnard's Star")], "{row:?}");
    assert_eq!(
        row[2].as_f64().unwrap() as f32,
        548.31_f32,
        "a REAL: {row:?}"
    );
    assert_eq!(row[3..], [json!(9.54), json!(1)], "{row:?}");

    // Paging in the file's order.
    let page = s.rows(&id, "offset=2&limit=3", ann).await.json();
    assert_eq!((&page["total"], &page["offset"]), (&json!(7), &json!(2)));
    assert_eq!(integers(&page, 0), [3, 4, 5]);
    let end = s.rows(&id, "offset=6&limit=3", ann).await.json();
    assert_eq!(integers(&end, 0), [BIG]);
    let past = s.rows(&id, "offset=100", ann).await.json();
    assert_eq!(past["result"]["data"], json!([]));

    // Sorted: by V magnitude, brightest last; then a page of it.
    let desc = s.rows(&id, "sort=vmag&order=desc", ann).await.json();
    assert_eq!(integers(&desc, 0), [BIG, 4, 3, 6, 2, 5, 1]);
    let vmag: Vec<f64> = desc["result"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[3].as_f64().unwrap())
        .collect();
    assert_eq!(vmag, [12.5, 9.54, 1.98, 0.42, 0.03, -0.01, -1.46]);
    let middle = s
        .rows(&id, "sort=vmag&order=DESC&offset=1&limit=3", ann)
        .await
        .json();
    assert_eq!(integers(&middle, 0), [4, 3, 6]);
    // Ties (ncomp 1 and 2) keep the file's order, both ways, so pages
    // neither repeat nor skip rows.
    let asc = s.rows(&id, "sort=ncomp", ann).await.json();
    assert_eq!(integers(&asc, 0), [2, 4, 6, BIG, 1, 5, 3]);
    let desc = s.rows(&id, "sort=ncomp&order=desc", ann).await.json();
    assert_eq!(integers(&desc, 0), [3, 1, 5, 2, 4, 6, BIG]);
    let mut paged = Vec::new();
    for offset in [0, 2, 4, 6] {
        let query = format!("sort=ncomp&offset={offset}&limit=2");
        paged.extend(integers(&s.rows(&id, &query, ann).await.json(), 0));
    }
    assert_eq!(paged, [2, 4, 6, BIG, 1, 5, 3]);

    // Some columns only, in the order asked.
    let narrow = s.rows(&id, "columns=name,vmag&limit=2", ann).await.json();
    assert_eq!(names(&narrow), ["name", "vmag"]);
    assert_eq!(
        narrow["result"]["data"],
        json!([["Sirius", -1.46], ["Vega", 0.03]])
    );

    // Parameters that cannot be: a 400 naming them.
    for (query, says) in [
        (
            "sort=nope",
            "the result has no column nope; it has id, name, plx, vmag, ncomp",
        ),
        ("columns=id,nope", "the result has no column nope"),
        ("limit=0", "limit=0 is not a whole number from 1 to 100000"),
        (
            "limit=100001",
            "limit=100001 is not a whole number from 1 to 100000",
        ),
        ("offset=-1", "offset=-1 is not a whole number"),
        (
            "sort=id&order=up",
            "order=up is not a sort order; use asc or desc",
        ),
    ] {
        let message = s
            .rows(&id, query, ann)
            .await
            .json_error(StatusCode::BAD_REQUEST);
        assert!(message.contains(says), "{query}: {message}");
    }
}

/// Pages are refused for a job the requester does not own (404, as if it
/// did not exist), for one without a result yet or ever (403, naming its
/// phase), and for a result not stored as Parquet (400).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_refused_for_others_unfinished_failed_and_votable_jobs() {
    let s = service().await;
    let ann = Who::Browser(ANN);
    let done = s.parquet_job(STARS, None, ann).await;
    for who in [Who::Browser(BOB), Who::Nobody, Who::User("ann")] {
        let message = s
            .rows(&done, "", who)
            .await
            .json_error(StatusCode::NOT_FOUND);
        assert!(message.contains(&done), "{message}");
    }
    let message = s
        .rows("NOSUCHJOB", "", ann)
        .await
        .json_error(StatusCode::NOT_FOUND);
    assert!(message.contains("NOSUCHJOB"), "{message}");

    // A job in ERROR has no result.
    let failed = s
        .start(
            &[
                ("QUERY", "SELECT nope FROM fix.stars"),
                ("RESPONSEFORMAT", "parquet"),
            ],
            ann,
        )
        .await;
    assert_eq!(s.finished(&failed, ann).await, "ERROR");
    let message = s
        .rows(&failed, "", ann)
        .await
        .json_error(StatusCode::FORBIDDEN);
    assert_eq!(
        message,
        format!("job {failed}: it is ERROR and has no result")
    );
    let listed = s.jobs(ann).await;
    let entry = listed["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == failed.as_str())
        .unwrap();
    assert!(entry["error"].as_str().unwrap().contains("nope"), "{entry}");
    assert_eq!(
        (&entry["rows"], &entry["sharedVotableUrl"]),
        (&Value::Null, &Value::Null)
    );

    // A job still executing: no result yet, progress in the list.
    let slow = s
        .start(
            &[
                ("QUERY", SLOW),
                ("QUEUE", "long"),
                ("RESPONSEFORMAT", "parquet"),
            ],
            ann,
        )
        .await;
    s.phase_when(&slow, ann, |p| p == "EXECUTING").await;
    let message = s
        .rows(&slow, "", ann)
        .await
        .json_error(StatusCode::FORBIDDEN);
    assert!(message.contains("it is EXECUTING"), "{message}");
    let download = s
        .get(&format!("/api/jobs/{slow}/download?FORMAT=csv"), ann)
        .await;
    assert_eq!(
        download.status,
        StatusCode::FORBIDDEN,
        "{}",
        download.text()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list = s.jobs(ann).await;
        let entry = list["jobs"][0].clone();
        assert_eq!(entry["id"], slow.as_str());
        if entry["phase"] == "EXECUTING" && entry["progress"]["rowsEstimated"].is_u64() {
            assert!(entry["progress"]["rowsRead"].is_u64(), "{entry}");
            break;
        }
        assert!(Instant::now() < deadline, "no progress: {entry}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let abort = s
        .post(
            &format!("/tap/async/{slow}/phase"),
            &[("PHASE", "ABORT")],
            ann,
        )
        .await;
    assert_eq!(abort.status, StatusCode::SEE_OTHER, "{}", abort.text());
    assert_eq!(s.finished(&slow, ann).await, "ABORTED");

    // A result stored as VOTable: the viewer reads Parquet only.
    let votable = s
        .start(&[("QUERY", STARS), ("RESPONSEFORMAT", "votable")], ann)
        .await;
    assert_eq!(s.finished(&votable, ann).await, "COMPLETED");
    let message = s
        .rows(&votable, "", ann)
        .await
        .json_error(StatusCode::BAD_REQUEST);
    assert!(
        message.contains("RESPONSEFORMAT=parquet")
            && message.contains(&format!("{BASE}/async/{votable}/results/result")),
        "{message}"
    );
}

/// /api/jobs/ID/download converts the whole result to the format asked,
/// as an attachment named after the job's RUNID (or its identifier); the
/// shared link's key opens it to a client without any cookie, and only
/// that job's key does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_convert_the_result_and_shared_links_need_only_their_key() {
    let s = service().await;
    let ann = Who::Browser(ANN);
    let named = s.parquet_job(STARS, Some("bright stars/1"), ann).await;
    let plain = s
        .parquet_job("SELECT TOP 2 id FROM fix.stars ORDER BY id", None, ann)
        .await;

    let csv = s
        .get(&format!("/api/jobs/{named}/download?FORMAT=csv"), ann)
        .await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.text());
    assert!(csv.header(header::CONTENT_TYPE).starts_with("text/csv"));
    assert_eq!(
        csv.header(header::CONTENT_DISPOSITION),
        "attachment; filename=\"corvus-bright_stars_1.csv\""
    );
    let text = csv.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 8, "a header and 7 rows: {text}");
    assert_eq!(lines[0], "id,name,plx,vmag,ncomp");
    assert_eq!(lines[1], "1,Sirius,379.21,-1.46,2");

    // Any TAP format, by short name or MIME type; without RUNID the file
    // is named after the job.
    let tsv = s
        .get(
            &format!("/api/jobs/{plain}/download?format=text/tab-separated-values"),
            ann,
        )
        .await;
    assert_eq!(tsv.status, StatusCode::OK, "{}", tsv.text());
    assert_eq!(tsv.text().lines().collect::<Vec<_>>(), ["id", "1", "2"]);
    assert_eq!(
        tsv.header(header::CONTENT_DISPOSITION),
        format!("attachment; filename=\"corvus-{plain}.tsv\"")
    );
    let bad = s
        .get(&format!("/api/jobs/{named}/download?FORMAT=nonsense"), ann)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.text().contains("FORMAT=nonsense is not supported"),
        "{}",
        bad.text()
    );
    // Only the owner, without a key.
    for who in [Who::Nobody, Who::Browser(BOB)] {
        let a = s
            .get(&format!("/api/jobs/{named}/download?FORMAT=csv"), who)
            .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND);
    }

    // The shared link, from the list, with no cookie at all: the whole
    // result as VOTable, naming the job's query.
    let list = s.jobs(ann).await;
    let shared_of = |id: &str| {
        list["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["id"] == id)
            .and_then(|j| j["sharedVotableUrl"].as_str())
            .unwrap()
            .strip_prefix(HOST)
            .unwrap()
            .to_string()
    };
    let shared = shared_of(&named);
    let vot = s.get(&shared, Who::Nobody).await;
    assert_eq!(vot.status, StatusCode::OK, "{}", vot.text());
    assert!(
        vot.header(header::CONTENT_TYPE)
            .starts_with("application/x-votable+xml")
    );
    assert_eq!(
        vot.header(header::CONTENT_DISPOSITION),
        "attachment; filename=\"corvus-bright_stars_1.vot\""
    );
    let xml = vot.text();
    assert!(xml.contains("<VOTABLE"), "{xml}");
    assert_eq!(xml.matches("<TR>").count(), 7, "{xml}");
    assert!(xml.contains(STARS), "the query: {xml}");
    // Another browser's cookie does not get in the way.
    assert_eq!(
        s.get(&shared, Who::Browser(BOB)).await.status,
        StatusCode::OK
    );

    // A wrong key, or another job's key, opens nothing.
    let key = shared.rsplit("key=").next().unwrap();
    let other_key = shared_of(&plain);
    let other_key = other_key.rsplit("key=").next().unwrap();
    assert_ne!(key, other_key);
    for (id, k) in [
        (named.as_str(), "0123456789abcdef0123456789abcdef"),
        (named.as_str(), &key[..10]),
        (named.as_str(), other_key),
        (plain.as_str(), key),
    ] {
        let a = s
            .get(
                &format!("/api/jobs/{id}/download?FORMAT=votable&key={k}"),
                ann,
            )
            .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{id} {k}");
        assert!(a.text().contains("is not its key"), "{}", a.text());
    }
}
